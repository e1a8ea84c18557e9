"""CRM -> Xero for linked contacts: edits go through the contacts' outbox (one POST /Contacts per
batch, summarizeErrors=false, an idempotency key), never echo back, and a rename Xero would
refuse is refused in the form first, naming the other contact."""

import pytest
from django.urls import reverse

from contacts.models import Contact, ContactChange
from contacts.services import contact_update
from demo.data import DEMO_CONTACTS
from xero_sync.contacts import pull, push
from xero_sync.contacts.outbox import connections_due
from xero_sync.context import changes_from_xero
from xero_sync.models import (
    ConflictRule,
    ContactConflict,
    ContactPushMode,
    ContactSync,
    ContactSyncState,
    DuplicateResolution,
    PossibleDuplicate,
    XeroConnection,
    XeroContact,
)

from ..factories import client_for, contact_make
from ..support.contacts import demo_contacts_make
from .conftest import KIWI, connect, run_import

SAVES = {"method": "POST", "path": "/api.xro/2.0/Contacts"}


@pytest.fixture
def linked(xero, account, admin_user):
    """The demo contacts, imported from (and so linked to) the sandbox's demo organisation."""
    demo_contacts_make(account)
    connection = connect(xero, account, admin_user)
    run_import(connection)
    connection.refresh_from_db()
    return connection


def twin(xero, contact: Contact) -> dict:
    xero_id = XeroContact.objects.get(contact=contact).xero_contact_id
    return next(c for c in xero.contacts(xero.tenant_id(KIWI)) if c["ContactID"] == xero_id)


def crm(account, first: str) -> Contact:
    """The demo contact first made with this first name (the import may have renamed it)."""
    n = [c[0] for c in DEMO_CONTACTS].index(first)
    contact = Contact.objects.filter(account=account).order_by("pk")[n]
    assert XeroContact.objects.filter(contact=contact).exists()
    return contact


@pytest.mark.django_db
def test_an_edit_to_a_linked_contact_reaches_xero_once_and_nothing_comes_back(
    linked, account, xero, admin_user
):
    ben = crm(account, "Ben")
    since = max((r["id"] for r in xero.requests()), default=0)
    contact_update(
        contact=ben, by=admin_user, email="ben@new-address.example", phone="021 555 0199"
    )
    sync = ContactSync.objects.get(contact=ben)
    assert sync.state == ContactSyncState.PENDING and set(sync.dirty) == {"email", "phone"}

    result = push.contacts_push(linked.pk)

    assert (result.synced, result.failed) == (1, 0)
    theirs = twin(xero, ben)
    assert theirs["EmailAddress"] == "ben@new-address.example"
    assert "021 555 0199" in {p["PhoneNumber"] for p in theirs["Phones"]}
    posts = xero.requests(**SAVES, since_id=since)
    assert len(posts) == 1
    assert posts[0]["headers"].get("idempotency-key", "").startswith("crm-contacts-save-")
    sync.refresh_from_db()
    assert (sync.state, sync.dirty) == (ContactSyncState.SYNCED, {})
    # Xero's webhook and the poll bring the change back: it is ours, so nothing changes and
    # nothing is queued again.
    changes_before = ContactChange.objects.filter(contact=ben).count()
    linked.refresh_from_db()
    pull.contacts_poll(linked)
    assert ContactChange.objects.filter(contact=ben).count() == changes_before
    assert ContactSync.objects.get(contact=ben).version == sync.version
    assert connections_due() == []


@pytest.mark.django_db
def test_a_change_from_xero_is_never_queued_back(linked, account):
    eva = crm(account, "Eva")
    with changes_from_xero():
        contact_update(contact=eva, email="eva@from-xero.example")
    assert not ContactSync.objects.filter(contact=eva).exists()


@pytest.mark.django_db
def test_unlinked_contacts_are_not_sent_while_only_invoiced_ones_go(linked, account):
    fresh = contact_make(account, first_name="Nobody", last_name="Invoiced")
    contact_update(contact=fresh, email="n@example.com")
    assert not ContactSync.objects.filter(contact=fresh).exists()


@pytest.mark.django_db
def test_every_customer_sends_a_new_customer_to_xero(linked, account, xero):
    linked.contact_push_mode = ContactPushMode.CUSTOMERS
    linked.save()
    from contacts.services import contact_create

    made = contact_create(account=account, first_name="Hemi", last_name="Walker", email="h@w.nz")
    push.contacts_push(linked.pk)
    assert twin(xero, made)["EmailAddress"] == "h@w.nz"


@pytest.mark.django_db
def test_none_sends_nothing(linked, account):
    linked.contact_push_mode = ContactPushMode.NONE
    linked.save()
    contact_update(contact=crm(account, "Ben"), email="ben@nowhere.example")
    assert not ContactSync.objects.exists()


@pytest.mark.django_db
def test_a_rename_to_a_name_xero_gives_another_contact_is_refused_in_the_form(
    linked, account, admin_user, xero
):
    ben, daniel = crm(account, "Ben"), crm(account, "Daniel")
    taken = twin(xero, daniel)["Name"]
    since = max((r["id"] for r in xero.requests()), default=0)
    response = client_for(admin_user).post(
        reverse("contacts:edit", args=[account.slug, ben.pk]),
        {
            "first_name": "Ben",
            "last_name": "Carter",
            "company_name": taken,
            "email": ben.email,
            "phone": ben.phone,
            "is_customer": "on",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Xero already has a contact named “{taken}”" in page
    assert daniel.display_name in page  # names the other contact
    ben.refresh_from_db()
    assert ben.company_name == ""
    assert not ContactSync.objects.filter(contact=ben).exists()
    assert xero.requests(**SAVES, since_id=since) == []


@pytest.mark.django_db
def test_xero_refusing_a_change_is_said_in_plain_words_and_retry_sends_it_again(
    linked, account, xero
):
    aroha = crm(account, "Aroha")
    # Archived in Xero meanwhile (quietly: no webhook yet), so Xero refuses an edit of it.
    xero.edit_contact(
        xero.tenant_id(KIWI), twin(xero, aroha)["ContactID"], ContactStatus="ARCHIVED", quiet=True
    )
    contact_update(contact=aroha, email="aroha@new.example")
    push.contacts_push(linked.pk)
    sync = ContactSync.objects.get(contact=aroha)
    assert sync.state == ContactSyncState.FAILED
    assert sync.error_cause == "archived_in_xero"
    assert "Restore the contact in Xero" in sync.error
    xero.edit_contact(
        xero.tenant_id(KIWI), twin(xero, aroha)["ContactID"], ContactStatus="ACTIVE", quiet=True
    )
    from xero_sync.contacts.outbox import contact_sync_retry

    contact_sync_retry(sync)
    push.contacts_push(linked.pk)
    sync.refresh_from_db()
    assert sync.state == ContactSyncState.SYNCED
    assert twin(xero, aroha)["EmailAddress"] == "aroha@new.example"


@pytest.mark.django_db
def test_a_lost_answer_is_read_back_not_written_twice(linked, account, xero):
    fetu = crm(account, "Daniel")
    contact_update(contact=fetu, email="fetu@lost.example")
    xero.fault("lost_response", method="POST", path="/api.xro/2.0/Contacts*")
    since = max((r["id"] for r in xero.requests()), default=0)
    push.contacts_push(linked.pk)
    sync = ContactSync.objects.get(contact=fetu)
    assert sync.outcome_unknown and sync.state == ContactSyncState.PENDING
    ContactSync.objects.filter(pk=sync.pk).update(next_attempt_at=None)
    push.contacts_push(linked.pk)
    sync.refresh_from_db()
    assert sync.state == ContactSyncState.SYNCED and not sync.outcome_unknown
    assert len(xero.requests(**SAVES, since_id=since)) == 1  # read back, not written again
    assert twin(xero, fetu)["EmailAddress"] == "fetu@lost.example"


def xero_edit(xero, contact: Contact, **fields) -> None:
    xero.edit_contact(xero.tenant_id(KIWI), twin(xero, contact)["ContactID"], **fields)


def poll(connection) -> None:
    connection.refresh_from_db()
    pull.contacts_poll(connection)


def conflict_history(contact: Contact) -> list[str]:
    return list(
        ContactChange.objects.filter(contact=contact, field="conflict").values_list(
            "new_value", flat=True
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule", "xero_last", "kept"),
    [
        (ConflictRule.LATEST, True, "xero"),
        (ConflictRule.LATEST, False, "crm"),
        (ConflictRule.XERO, False, "xero"),
        (ConflictRule.CRM, True, "crm"),
    ],
)
def test_a_field_changed_in_both_places_is_decided_by_the_rule_and_written_to_history(
    linked, account, xero, rule, xero_last, kept
):
    linked.contact_conflict_rule = rule
    linked.save()
    ben = crm(account, "Ben")
    if xero_last:
        contact_update(contact=ben, email="ben@crm.example")
        xero_edit(xero, ben, EmailAddress="ben@xero.example")
    else:
        xero_edit(xero, ben, EmailAddress="ben@xero.example")
        contact_update(contact=ben, email="ben@crm.example")
    poll(linked)  # Xero's change arrives before the CRM's is pushed
    push.contacts_push(linked.pk)

    winner = {"crm": "ben@crm.example", "xero": "ben@xero.example"}[kept]
    ben.refresh_from_db()
    assert ben.email == winner
    assert twin(xero, ben)["EmailAddress"] == winner
    [said] = conflict_history(ben)
    assert "here “ben@crm.example”, in Xero “ben@xero.example”" in said
    assert ("Kept Xero's" if kept == "xero" else "Kept this CRM's") in said
    assert ConflictRule(rule).label.lower() in said
    conflict = ContactConflict.objects.get(contact=ben)
    assert (conflict.field, conflict.winner, conflict.rule) == ("email", kept, rule)


@pytest.mark.django_db
def test_a_field_changed_only_here_is_not_overwritten_by_xeros_older_value(linked, account, xero):
    ben = crm(account, "Ben")
    contact_update(contact=ben, email="ben@crm-only.example")
    xero_edit(xero, ben, FirstName="Benji")  # another field changed in Xero
    poll(linked)
    ben.refresh_from_db()
    assert (ben.first_name, ben.email) == ("Benji", "ben@crm-only.example")
    assert conflict_history(ben) == []
    push.contacts_push(linked.pk)
    assert twin(xero, ben)["EmailAddress"] == "ben@crm-only.example"


@pytest.mark.django_db
def test_chloe_wu_ends_as_one_contact_with_both_xero_links_resolved_by_the_admin(
    linked, account, admin_user, xero
):
    """The demo's case: CRM Chloe Wu was linked by email to the company Wu Design Studio, and
    Xero's person Chloe Wu (her phone) is held; on Possible duplicates the admin links her to
    the person instead, and Wu Design Studio is left alone by later syncs."""
    chloe = crm(account, "Chloe")
    held = PossibleDuplicate.objects.get(contact=chloe, resolved_at=None)
    assert held.xero_name == "Chloe Wu"
    company_id = XeroContact.objects.get(contact=chloe).xero_contact_id
    client = client_for(admin_user)
    review = client.get(reverse("contacts:duplicates", args=[account.slug]))
    page = review.content.decode()
    assert "Two Xero contacts for one contact here" in page
    assert "Link to Chloe Wu instead" in page and "Keep the link to Wu Design Studio" in page

    response = client.post(
        reverse("xero_sync:duplicate_resolve", args=[account.slug, held.pk]),
        {"decision": "link_instead", "back": "duplicates"},
    )

    assert response["Location"] == reverse("contacts:duplicates", args=[account.slug])
    assert XeroContact.objects.get(contact=chloe).xero_contact_id == held.xero_contact_id
    held.refresh_from_db()
    assert held.resolution == DuplicateResolution.LINKED_INSTEAD
    kept_apart = PossibleDuplicate.objects.get(xero_contact_id=company_id)
    assert kept_apart.resolution == DuplicateResolution.KEPT_ONE
    assert Contact.objects.filter(account=account, last_name="Wu").count() == 1
    # Later syncs leave the company alone: no new contact, nothing held again.
    xero.edit_contact(xero.tenant_id(KIWI), company_id, EmailAddress="studio@wu-design.example")
    poll(linked)
    assert Contact.objects.filter(account=account, last_name="Wu").count() == 1
    assert not PossibleDuplicate.objects.filter(resolved_at=None, contact=chloe).exists()
    assert Contact.objects.get(pk=chloe.pk).email == "chloe@wu-design.example"
    page = client.get(reverse("contacts:duplicates", args=[account.slug])).content.decode()
    assert "No Xero contact is waiting for a decision." in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule", "kept"),
    [(ConflictRule.LATEST, "crm"), (ConflictRule.XERO, "xero"), (ConflictRule.CRM, "crm")],
)
def test_the_push_reads_xero_first_so_a_change_not_yet_arrived_is_decided_not_overwritten(
    linked, account, xero, rule, kept
):
    XeroConnection.objects.filter(pk=linked.pk).update(contact_conflict_rule=rule)
    eva = crm(account, "Eva")
    xero.edit_contact(
        xero.tenant_id(KIWI),
        twin(xero, eva)["ContactID"],
        EmailAddress="eva@xero.example",
        quiet=True,  # no webhook: Xero's change has not arrived when the CRM's is pushed
    )
    contact_update(contact=eva, email="eva@crm.example")
    push.contacts_push(linked.pk)
    winner = {"crm": "eva@crm.example", "xero": "eva@xero.example"}[kept]
    eva.refresh_from_db()
    assert (eva.email, twin(xero, eva)["EmailAddress"]) == (winner, winner)
    [said] = conflict_history(eva)
    assert "here “eva@crm.example”, in Xero “eva@xero.example”" in said
    assert ContactSync.objects.get(contact=eva).state == ContactSyncState.SYNCED


@pytest.mark.django_db
def test_the_import_preview_counts_possible_duplicates_before_anything_is_written(
    xero, account, admin_user
):
    demo_contacts_make(account)
    connection = connect(xero, account, admin_user)
    preview = run_import(connection, preview=True)
    assert preview.possible_duplicates == 1  # Xero's Chloe Wu, beside Wu Design Studio
    assert not PossibleDuplicate.objects.exists() and not XeroContact.objects.exists()
