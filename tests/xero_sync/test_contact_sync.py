"""Contacts from Xero into the CRM, against the sandbox's demo organisation (31 contacts, among
them planted collisions with the CRM's demo contacts: see xero_sandbox.seed.DEMO_COLLISIONS)."""

import json

import pytest

from contacts.models import ChangeSource, Contact, ContactChange
from demo.data import DEMO_CONTACTS
from xero_sync.client.errors import Transient
from xero_sync.contacts import imports, pull
from xero_sync.models import ImportStatus, PossibleDuplicate, XeroContact
from xero_sync.webhooks.dispatch import delivery_process
from xero_sync.webhooks.store import delivery_store

from ..factories import contact_make
from .conftest import KIWI, connect, run_import


@pytest.fixture
def demo_contacts(account):
    return {
        f"{first} {last}": contact_make(
            account,
            first_name=first,
            last_name=last,
            company_name=company,
            email=email,
            phone=phone,
        )
        for first, last, company, email, phone in DEMO_CONTACTS
    }


@pytest.fixture
def connected(xero, account, admin_user, demo_contacts):
    return connect(xero, account, admin_user)


def poll(connection):
    connection.refresh_from_db()  # as the poll task does: a fresh high-water mark
    return pull.contacts_poll(connection)


def linked(contact: Contact) -> str:
    return XeroContact.objects.get(contact=contact).xero_contact_id


def xero_contact(xero, name):
    return next(c for c in xero.contacts(xero.tenant_id(KIWI)) if c["Name"] == name)


@pytest.mark.django_db
def test_preview_counts_what_the_import_then_does_and_writes_nothing(connected, account, xero):
    before = Contact.objects.filter(account=account).count()
    preview = run_import(connected, preview=True)
    assert preview.status == ImportStatus.PREVIEWED
    assert preview.percent == 100  # a finished count, not "Ready to import 99%"
    assert Contact.objects.filter(account=account).count() == before
    assert not XeroContact.objects.exists()
    # By email: Aroha (other case), Daniel (email and phone), Wu Design Studio (Chloe's email).
    # By phone: Ben, Eva. "Chloe Wu" shares Chloe's phone, but her email match came first.
    assert (preview.updated_by_email, preview.updated_by_phone) == (3, 2)
    assert preview.skipped == 2  # the two archived Xero contacts
    done = run_import(connected)
    counts = ("created", "updated_by_email", "updated_by_phone", "skipped", "updated_linked")
    assert [getattr(done, c) for c in counts] == [getattr(preview, c) for c in counts]
    assert done.status == ImportStatus.DONE and done.percent == 100
    assert Contact.objects.filter(account=account).count() == before + done.created


@pytest.mark.django_db
def test_email_matches_ignore_case_and_phones_match_across_formats(connected, demo_contacts, xero):
    run_import(connected)
    aroha = demo_contacts["Aroha Ngata"]
    aroha.refresh_from_db()
    assert linked(aroha) == xero_contact(xero, "Aroha Ngata")["ContactID"]
    assert aroha.email == "aroha.ngata@example.co.nz"  # the same address: not a change
    assert aroha.phone_e164 == "+64229876543"  # the match is updated with Xero's details
    # "021 555 0102" in the CRM is +64 21 555 0102 in Xero (country, area, number split).
    assert linked(demo_contacts["Ben Carter"]) == xero_contact(xero, "Benjamin Carter")["ContactID"]
    assert linked(demo_contacts["Eva Müller"]) == xero_contact(xero, "Eva Müller")["ContactID"]


@pytest.mark.django_db
def test_an_email_match_beats_a_phone_match_for_the_same_crm_contact(
    connected, demo_contacts, xero, account
):
    run_import(connected)
    chloe = demo_contacts["Chloe Wu"]
    chloe.refresh_from_db()
    # Chloe's email is on "Wu Design Studio"; "Chloe Wu" in Xero only shares her phone.
    assert linked(chloe) == xero_contact(xero, "Wu Design Studio")["ContactID"]
    assert (chloe.first_name, chloe.last_name) == ("Chloe", "Wu")  # not split from the company
    assert chloe.company_name == "Wu Design Studio"


@pytest.mark.django_db
def test_a_second_xero_contact_matching_a_linked_contact_is_held_not_created(
    connected, demo_contacts, xero, account
):
    """The same person twice: the Xero person "Chloe Wu" has the phone of CRM Chloe, who is
    already the twin of "Wu Design Studio" (by email). Not a silent second Chloe: listed."""
    run = run_import(connected)
    chloe = demo_contacts["Chloe Wu"]
    person = xero_contact(xero, "Chloe Wu")
    assert not XeroContact.objects.filter(xero_contact_id=person["ContactID"]).exists()
    assert Contact.objects.filter(account=account, sort_name="chloe wu").count() == 1
    held = PossibleDuplicate.objects.get(xero_contact_id=person["ContactID"])
    assert (held.contact, held.matched_by, held.resolved_at) == (chloe, "phone", None)
    assert run.possible_duplicates == 1
    # A re-run (or the poll) sees the same pair again: still one contact, one listing.
    run_import(connected)
    assert Contact.objects.filter(account=account, sort_name="chloe wu").count() == 1
    assert PossibleDuplicate.objects.filter(resolved_at=None).count() == 1


@pytest.mark.django_db
def test_a_contact_with_only_a_name_is_a_company_with_no_made_up_person(connected, xero, account):
    tenant = xero.tenant_id(KIWI)
    cafe = xero.create_contact(tenant, Name="Te Awamutu Coffee Co. (2)", EmailAddress="a@x.example")
    run_import(connected)
    contact = XeroContact.objects.get(xero_contact_id=cafe["ContactID"]).contact
    assert (contact.first_name, contact.last_name) == ("", "")
    assert (contact.company_name, contact.display_name) == ("Te Awamutu Coffee Co. (2)",) * 2
    names = list(Contact.objects.filter(account=account).values_list("sort_name", flat=True))
    assert names == sorted(names)  # the list files it under T, by the name people see
    assert contact.sort_name == "te awamutu coffee co. (2)"


@pytest.mark.django_db
def test_a_rerun_changes_nothing(connected, account):
    run_import(connected)
    contacts = list(Contact.objects.filter(account=account).values())
    changes = ContactChange.objects.count()
    again = run_import(connected)
    assert again.created == again.updated_by_email == again.updated_by_phone == 0
    assert again.updated_linked == 0
    assert list(Contact.objects.filter(account=account).values()) == contacts
    assert ContactChange.objects.count() == changes


@pytest.mark.django_db
def test_an_empty_xero_field_never_blanks_the_crm_and_changes_are_recorded(
    connected, demo_contacts, xero
):
    run_import(connected)
    daniel = demo_contacts["Daniel Smith"]
    xero_id = linked(daniel)
    xero.edit_contact(xero.tenant_id(KIWI), xero_id, EmailAddress="", LastName="Smith-Jones")
    poll(connected)
    daniel.refresh_from_db()
    assert daniel.email == "dan.smith@example.org"
    assert daniel.last_name == "Smith-Jones"
    change = ContactChange.objects.filter(contact=daniel, field="last_name").get()
    assert (change.old_value, change.new_value, change.source) == (
        "Smith",
        "Smith-Jones",
        ChangeSource.XERO,
    )


@pytest.mark.django_db
def test_the_poll_asks_only_for_what_changed_since_the_last_sync(connected, xero, demo_contacts):
    run_import(connected)
    connected.refresh_from_db()
    xero.clear_requests()
    xero.edit_contact(xero.tenant_id(KIWI), linked(demo_contacts["Eva Müller"]), LastName="Mueller")
    result = poll(connected)
    request = xero.requests(path="/api.xro/2.0/Contacts")[0]
    assert "if-modified-since" in request["headers"]
    assert result.counts["updated_linked"] == 1
    assert sum(result.counts.values()) < 5  # not the whole organisation again


@pytest.mark.django_db
def test_archived_in_xero_archives_in_the_crm(connected, xero, demo_contacts):
    run_import(connected)
    aroha = demo_contacts["Aroha Ngata"]
    xero.edit_contact(xero.tenant_id(KIWI), linked(aroha), ContactStatus="ARCHIVED")
    poll(connected)
    aroha.refresh_from_db()
    assert aroha.is_archived
    assert Contact.objects.filter(pk=aroha.pk).exists()


@pytest.mark.django_db
def test_a_merge_in_xero_moves_the_link_instead_of_duplicating(connected, xero, account):
    run_import(connected)
    tenant = xero.tenant_id(KIWI)
    old = xero_contact(xero, "Hunter Stewart")
    ours = XeroContact.objects.get(xero_contact_id=old["ContactID"]).contact
    # In Xero, Hunter is merged into a new contact holding his details.
    survivor = xero.create_contact(
        tenant, Name="Hunter J Stewart", FirstName="Hunter", LastName="J Stewart"
    )
    xero.edit_contact(
        tenant, old["ContactID"], ContactStatus="ARCHIVED", MergedToContactID=survivor["ContactID"]
    )
    before = Contact.objects.filter(account=account).count()
    poll(connected)
    assert Contact.objects.filter(account=account).count() == before
    assert linked(ours) == survivor["ContactID"]
    ours.refresh_from_db()
    assert ours.last_name == "J Stewart" and not ours.is_archived


@pytest.mark.django_db
def test_only_the_chosen_contact_groups_are_imported(connected, xero, account):
    tenant = xero.tenant_id(KIWI)
    org = xero.state(tenant, "contact_groups")
    vip = next(g for g in org["ContactGroups"] if g["Name"] == "VIP customers")
    members = set(vip["Contacts"])
    run_import(connected, groups=[vip["ContactGroupID"]])
    imported = set(XeroContact.objects.values_list("xero_contact_id", flat=True))
    assert imported == members


@pytest.mark.django_db
def test_suppliers_can_be_left_out(connected, xero):
    run_import(connected, suppliers=False)
    suppliers = {
        c["ContactID"]
        for c in xero.contacts(xero.tenant_id(KIWI))
        if c.get("IsSupplier") and not c.get("IsCustomer")
    }
    assert suppliers and not suppliers & set(
        XeroContact.objects.values_list("xero_contact_id", flat=True)
    )


@pytest.mark.django_db
def test_a_contact_webhook_updates_the_crm_contact(connected, xero, demo_contacts):
    run_import(connected)
    ben = demo_contacts["Ben Carter"]
    xero.edit_contact(xero.tenant_id(KIWI), linked(ben), EmailAddress="ben@new.example")
    events = [e for e in xero.webhook_events() if e["resourceId"] == linked(ben)]
    body = json.dumps(
        {"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}
    ).encode()
    delivery_process(delivery_store(body).pk)
    ben.refresh_from_db()
    assert ben.email == "ben@new.example"


@pytest.mark.django_db
def test_an_import_interrupted_mid_way_resumes_without_duplicates(xero, account, admin_user):
    tenant = xero.seed([{"name": "Big Ltd", "n_contacts": 2500, "seed": 7}])[0]["tenantId"]
    connection = connect(xero, account, admin_user, org="Big Ltd")
    run = imports.import_start(
        connection=connection,
        preview=False,
        group_ids=[],
        customers=True,
        suppliers=True,
        others=True,
        user=admin_user,
    )
    # Page 1 goes through; page 2 loses its connection, like a worker dying mid-import.
    xero.fault("drop", method="GET", path="/api.xro/2.0/Contacts", after=1)
    with pytest.raises(Transient):
        imports.import_run(run.pk)
    run.refresh_from_db()
    assert run.next_page == 2 and run.status == ImportStatus.RUNNING
    assert XeroContact.objects.filter(connection=connection).count() > 900  # page 1 is in

    imports.import_run(run.pk)  # the retry resumes at page 2
    run.refresh_from_db()
    active = sum(
        1
        for c in xero.contacts(tenant)
        if c["ContactStatus"] == "ACTIVE" and not c.get("MergedToContactID")
    )
    assert run.status == ImportStatus.DONE
    assert XeroContact.objects.filter(connection=connection).count() == active
    assert Contact.objects.filter(account=account).count() == active
    pages = [r for r in xero.requests(path="/api.xro/2.0/Contacts") if r["status"] == 200]
    assert len(pages) == 3  # ceil(2,500 / 1,000): no page applied twice


@pytest.mark.django_db
def test_the_import_page_ignores_a_run_that_cannot_be_an_id(connected, account, admin_user):
    """?run=abc was a 500 (the lookup raised instead of missing)."""
    from django.urls import reverse

    from ..factories import client_for

    client = client_for(admin_user)
    url = reverse("xero_sync:contacts", args=[account.slug])
    for run in ("abc", "\x00", "9" * 100_000, "9223372036854775808"):
        response = client.get(url, {"run": run})
        assert response.status_code == 200
        assert response.context["run"] is None
