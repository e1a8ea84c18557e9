"""No silent links by name: a CRM contact invoiced for the first time whose name Xero already
gives another contact is linked to it only when its email or phone agree; otherwise it is a
possible duplicate for an admin, and the invoice waits (not failed, nobody emailed an error)
with a plain message and a link, until the admin says "same contact" (linked, the invoice goes
on) or "different" (the contact here needs a name of its own; once renamed, it goes on)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contacts.models import Contact
from contacts.services import contact_update
from invoices.models import InvoiceEvent
from xero_sync.contacts.name_links import name_match_judge
from xero_sync.models import (
    DuplicateResolution,
    InvoiceSync,
    InvoiceSyncState,
    PossibleDuplicate,
    XeroContact,
)

from ..factories import client_for, contact_make
from ..support.invoices import issue_many
from .conftest import run_import


def clash_in_xero(xero, connection, **fields) -> str:
    """Xero's own "Clash Co": typed there, never imported."""
    xero.create_contact(connection.tenant_id, Name="Clash Co", quiet=True, **fields)
    [theirs] = [c for c in xero.contacts(connection.tenant_id) if c["Name"] == "Clash Co"]
    return theirs["ContactID"]


def clash_here(account) -> Contact:
    return contact_make(
        account, first_name="", last_name="", company_name="Clash Co",
        email="billing@clash-crm.example",
    )  # fmt: skip


def settled(worker, invoice) -> InvoiceSync:
    return worker.wait_for(
        lambda: (
            InvoiceSync.objects.filter(invoice=invoice)
            .exclude(state=InvoiceSyncState.PENDING)
            .first()
        ),
        timeout=30,
    )


def xero_invoice_of(xero, connection, invoice) -> dict:
    """The invoice in Xero ({} when it is not there)."""
    return next(
        (i for i in xero.invoices(connection.tenant_id) if i["InvoiceNumber"] == invoice.number),
        {},
    )


def decide(admin_user, account, contact, decision: str):
    held = PossibleDuplicate.objects.get(contact=contact, matched_by="name", resolved_at=None)
    return client_for(admin_user).post(
        reverse("xero_sync:duplicate_resolve", args=[account.slug, held.pk]),
        {"decision": decision, "back": "duplicates"},
    )


@pytest.mark.django_db(transaction=True)
def test_a_name_alone_links_nothing_the_invoice_waits_until_the_admin_says_same(
    ready, account, xero, admin_user, staff_user, celery_worker
):
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    mails_before = len(celery_worker.sent_mail())
    [invoice] = issue_many(account, gst, clash, 1)

    sync = settled(celery_worker, invoice)

    assert (sync.state, sync.error_cause) == (InvoiceSyncState.HELD, "contact_unconfirmed")
    assert "Xero already has a contact named “Clash Co”" in sync.error
    assert "accounts@clash-xero.example in Xero, billing@clash-crm.example here" in sync.error
    assert sync.fix_url == reverse("contacts:duplicates", args=[account.slug])
    assert not XeroContact.objects.filter(contact=clash).exists()
    assert xero_invoice_of(xero, connection, invoice) == {}  # billed to nobody yet
    assert InvoiceEvent.objects.filter(invoice=invoice, what=sync.error[:300]).count() == 1
    assert len(celery_worker.sent_mail()) == mails_before  # waiting, not an error to email
    # The invoice page says it, with the way to decide (staff are told to ask an admin).
    page = client_for(admin_user).get(reverse("invoices:detail", args=[account.slug, invoice.pk]))
    assert "Waiting for a decision" in page.content.decode()
    assert "Decide on Possible duplicates" in page.content.decode()
    staff_page = client_for(staff_user).get(
        reverse("invoices:detail", args=[account.slug, invoice.pk])
    )
    assert "Only an admin" in staff_page.content.decode()
    review = client_for(admin_user).get(reverse("contacts:duplicates", args=[account.slug]))
    assert "Same contact: link them and send the invoice" in review.content.decode()
    assert "accounts@clash-xero.example" in review.content.decode()

    response = decide(admin_user, account, clash, "same")

    assert response.status_code == 302
    assert XeroContact.objects.get(contact=clash).xero_contact_id == theirs
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED,
        timeout=30,
    )
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == theirs
    held = PossibleDuplicate.objects.get(contact=clash, matched_by="name")
    assert held.resolution == DuplicateResolution.LINKED_INSTEAD
    assert len(celery_worker.sent_mail()) == mails_before


@pytest.mark.django_db(transaction=True)
def test_different_contacts_ask_for_a_name_of_its_own_and_the_renamed_contact_goes_on(
    ready, account, xero, admin_user, celery_worker
):
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    [invoice] = issue_many(account, gst, clash, 1)
    settled(celery_worker, invoice)

    decide(admin_user, account, clash, "different")

    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.HELD
    assert "Give this contact a name of its own" in sync.error
    assert sync.fix_url == reverse("contacts:edit", args=[account.slug, clash.pk])
    page = client_for(admin_user).get(reverse("invoices:detail", args=[account.slug, invoice.pk]))
    assert "Rename the contact" in page.content.decode()
    review = client_for(admin_user).get(reverse("contacts:duplicates", args=[account.slug]))
    assert "Same contact: link them" not in review.content.decode()  # decided

    contact_update(contact=clash, company_name="Clash Co (Auckland)")

    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED,
        timeout=30,
    )
    ours = XeroContact.objects.get(contact=clash).xero_contact_id
    assert ours != theirs
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == ours
    by_id = {c["ContactID"]: c for c in xero.contacts(connection.tenant_id)}
    assert by_id[ours]["Name"] == "Clash Co (Auckland)"
    assert by_id[theirs]["EmailAddress"] == "accounts@clash-xero.example"  # left alone


@pytest.mark.django_db(transaction=True)
def test_a_name_whose_email_agrees_is_linked_without_asking(ready, account, xero, celery_worker):
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="Billing@Clash-CRM.example")
    clash = clash_here(account)
    [invoice] = issue_many(account, gst, clash, 1)
    assert settled(celery_worker, invoice).state == InvoiceSyncState.SYNCED
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == theirs
    assert not PossibleDuplicate.objects.filter(contact=clash).exists()


@pytest.mark.django_db(transaction=True)
def test_a_contact_the_crm_created_itself_is_known_by_its_number_not_its_name(
    ready, account, xero, celery_worker
):
    """An earlier request created it and its answer was lost (and the idempotency key is new,
    the batch being another): Xero's contact carries our ContactNumber, so it is linked though
    nothing else could tell it from a stranger of that name."""
    connection, gst = ready
    lost = contact_make(account, first_name="", last_name="", company_name="Lost Answer Ltd")
    xero.create_contact(
        connection.tenant_id, Name="Lost Answer Ltd", ContactNumber=f"crm-contact-{lost.pk}"
    )
    stranger = contact_make(account, first_name="", last_name="", company_name="Stranger Ltd")
    xero.create_contact(connection.tenant_id, Name="Stranger Ltd", ContactNumber="C000123")
    [mine] = issue_many(account, gst, lost, 1)
    [theirs] = issue_many(account, gst, stranger, 1)
    assert settled(celery_worker, mine).state == InvoiceSyncState.SYNCED
    assert settled(celery_worker, theirs).state == InvoiceSyncState.HELD
    assert "it has no email or phone to compare" in InvoiceSync.objects.get(invoice=theirs).error


@pytest.mark.django_db(transaction=True)
def test_held_invoices_are_counted_on_sync_activity_and_ops_health_with_the_way_to_decide(
    ready, account, xero, admin_user, celery_worker
):
    connection, gst = ready
    clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    invoices = issue_many(account, gst, clash, 2)
    for invoice in invoices:
        assert settled(celery_worker, invoice).state == InvoiceSyncState.HELD
    review = reverse("contacts:duplicates", args=[account.slug])

    activity = client_for(admin_user).get(reverse("xero_sync:activity", args=[account.slug]))

    assert activity.context["outbox"].held == 2
    [waiting] = [p for p in activity.context["problems"] if p.what.startswith("Waiting")]
    assert (waiting.count, waiting.unit, waiting.link_name) == (2, "invoice", "contacts:duplicates")
    page = activity.content.decode()
    assert '2 invoices</strong> · <span class="problem-what">Waiting for a decision' in page
    assert f'<a href="{review}">Decide on Possible duplicates</a>' in page
    assert "2 waiting for a decision" in page and f'<a href="{review}">decide on' in page
    assert 'id="no-problems"' not in page  # waiting invoices are something to do

    superuser = get_user_model().objects.create_superuser(username="ops", password="pw")
    health = client_for(superuser).get("/ops/health/")

    [row] = [r for r in health.context["rows"] if r.account == account]
    assert row.invoices_held == 2 and row.needs_attention
    assert f'<td class="num invoices-held"><a href="{review}">2</a></td>' in (
        health.content.decode()
    )

    decide(admin_user, account, clash, "same")
    for invoice in invoices:
        celery_worker.wait_for(
            lambda invoice=invoice: (
                InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED
            ),
            timeout=30,
        )
    after = client_for(admin_user).get(reverse("xero_sync:activity", args=[account.slug]))
    assert after.context["outbox"].held == 0
    assert not [p for p in after.context["problems"] if p.what.startswith("Waiting")]
    health = client_for(superuser).get("/ops/health/")
    assert [r.invoices_held for r in health.context["rows"] if r.account == account] == [0]


@pytest.mark.django_db(transaction=True)
def test_xero_s_contact_linked_by_a_later_import_releases_the_held_invoice_by_itself(
    ready, account, xero, admin_user, celery_worker
):
    """Someone corrects the email in Xero: the next import finds the contact here by it and
    links them; the waiting invoice goes to that contact with nobody pressing Retry."""
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    [invoice] = issue_many(account, gst, clash, 1)
    assert settled(celery_worker, invoice).state == InvoiceSyncState.HELD

    xero.edit_contact(connection.tenant_id, theirs, EmailAddress="billing@clash-crm.example")
    run_import(connection, admin_user)

    assert XeroContact.objects.get(contact=clash).xero_contact_id == theirs
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED,
        timeout=30,
    )
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == theirs
    # The question answered by the link is no longer listed.
    assert not PossibleDuplicate.objects.filter(contact=clash, resolved_at=None).exists()
    assert len([c for c in xero.contacts(connection.tenant_id) if c["Name"] == "Clash Co"]) == 1


@pytest.mark.django_db(transaction=True)
def test_same_contact_after_an_import_brought_xero_s_contact_here_merges_the_two(
    ready, account, xero, admin_user, celery_worker
):
    """The import made Xero's "Clash Co" a contact here before the admin decided: "Same
    contact" merges that one into the contact asked about, which takes its link, and the
    invoice goes to Xero's contact."""
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    mails_before = len(celery_worker.sent_mail())
    [invoice] = issue_many(account, gst, clash, 1)
    assert settled(celery_worker, invoice).state == InvoiceSyncState.HELD
    run_import(connection, admin_user)
    imported = XeroContact.objects.get(xero_contact_id=theirs).contact
    assert imported.pk != clash.pk and imported.email == "accounts@clash-xero.example"

    response = decide(admin_user, account, clash, "same")

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=imported.pk).exists()  # merged
    assert XeroContact.objects.get(contact=clash).xero_contact_id == theirs
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED,
        timeout=30,
    )
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == theirs
    held = PossibleDuplicate.objects.get(contact=clash, matched_by="name")
    assert held.resolution == DuplicateResolution.LINKED_INSTEAD
    assert len([c for c in xero.contacts(connection.tenant_id) if c["Name"] == "Clash Co"]) == 1
    assert len(celery_worker.sent_mail()) == mails_before
    # Decided: a second click changes nothing.
    again = client_for(admin_user).post(
        reverse("xero_sync:duplicate_resolve", args=[account.slug, held.pk]),
        {"decision": "same", "back": "duplicates"},
    )
    assert again.status_code == 302
    assert XeroContact.objects.get(contact=clash).xero_contact_id == theirs


@pytest.mark.django_db(transaction=True)
def test_held_then_renamed_without_a_decision_goes_on_under_its_new_name(
    ready, account, xero, celery_worker
):
    connection, gst = ready
    theirs = clash_in_xero(xero, connection, EmailAddress="accounts@clash-xero.example")
    clash = clash_here(account)
    [invoice] = issue_many(account, gst, clash, 1)
    assert settled(celery_worker, invoice).state == InvoiceSyncState.HELD
    assert PossibleDuplicate.objects.filter(contact=clash, resolved_at=None).exists()

    contact_update(contact=clash, company_name="Clash Co (Wellington)")

    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED,
        timeout=30,
    )
    ours = XeroContact.objects.get(contact=clash).xero_contact_id
    assert ours != theirs
    assert not XeroContact.objects.filter(xero_contact_id=theirs).exists()  # no link to it
    assert xero_invoice_of(xero, connection, invoice)["Contact"]["ContactID"] == ours
    by_id = {c["ContactID"]: c for c in xero.contacts(connection.tenant_id)}
    assert by_id[ours]["Name"] == "Clash Co (Wellington)"
    assert by_id[ours]["EmailAddress"] == "billing@clash-crm.example"
    assert (by_id[theirs]["Name"], by_id[theirs]["EmailAddress"]) == (
        "Clash Co",
        "accounts@clash-xero.example",
    )  # the stranger left alone
    # The question is answered by the rename: no longer listed, nothing left to decide.
    assert not PossibleDuplicate.objects.filter(contact=clash, resolved_at=None).exists()


def contact(email: str = "", phone_e164: str = "") -> Contact:
    return Contact(company_name="Clash Co", email=email, phone_e164=phone_e164)


def xero_contact(email: str = "", phone: str = "") -> dict:
    phones = [{"PhoneType": "DEFAULT", "PhoneNumber": phone}] if phone else []
    return {"Name": "Clash Co", "EmailAddress": email, "Phones": phones}


@pytest.mark.parametrize(
    ("ours", "theirs", "link", "why"),
    [
        (contact("a@x.example"), xero_contact("A@X.example"), True, ""),
        # The same email links, whatever the phones say (Xero has many phone slots).
        (contact("a@x.example", "+6421555001"), xero_contact("a@x.example", "+64 9 555 0999"),
         True, ""),
        (contact("", "+6495550123"), xero_contact("", "+64 9 555 0123"), True, ""),
        (contact("a@x.example", "+6495550123"), xero_contact("", "+64 9 555 0123"), True, ""),
        # The issue's case.
        (contact("billing@clash-crm.example"), xero_contact("accounts@clash-xero.example"),
         False, "its email differs"),
        # A phone agreeing does not outweigh an email that differs.
        (contact("a@x.example", "+6495550123"), xero_contact("b@x.example", "+64 9 555 0123"),
         False, "its email differs"),
        (contact("", "+6495550123"), xero_contact("", "+64 9 555 0999"),
         False, "its phone differs"),
        # Nothing but the name to go on, on either side: asked, never guessed.
        (contact("a@x.example"), xero_contact(), False, "it has no email or phone"),
        (contact(), xero_contact("a@x.example"), False, "this contact has no email or phone"),
        (contact(), xero_contact(), False, "it has no email or phone"),
    ],
)  # fmt: skip
def test_what_links_a_name_and_what_asks(ours, theirs, link, why):
    judged = name_match_judge(ours, theirs, region="NZ")
    assert judged.link is link
    assert why in judged.why and (why or not judged.why)
