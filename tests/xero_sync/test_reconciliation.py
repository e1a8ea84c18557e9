"""The reconciliation: with webhooks off, drift made on purpose on each side (a payment added and
one deleted in Xero, a total edited and an invoice voided there, a contact renamed in Xero and
one renamed in the CRM that never reached Xero) is found, classified, repaired by the rule that
applies (the CRM's rename sent again through the contacts' outbox), and the next run reports 0
differences. Reads are paged lists, incremental after the first run; queries stay bounded; a
difference that survives two runs is emailed once."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contact_update
from invoices.models import InvoiceStatus
from invoices.services import credit_note_create, payment_record
from xero_sync.client.limits import TenantLimiter
from xero_sync.invoices.models import CreditNoteSync
from xero_sync.models import (
    ContactSync,
    Direction,
    InvoiceSync,
    ReconciliationDifference,
    ReconciliationRun,
    Repair,
    RunStatus,
    XeroContact,
)
from xero_sync.reconcile.run import reconciliation_start

from ..factories import client_for, contact_make
from ..support.invoices import in_xero, issue
from .conftest import run_import


def drift(contact, **fields) -> None:
    """A CRM field changed with no edit recorded and nothing queued (say, a data fix): the two
    sides disagree with no pending work."""
    Contact.objects.filter(pk=contact.pk).update(updated_at=timezone.now(), **fields)


def reconcile(connection, tasks_inline, **kwargs) -> ReconciliationRun:
    with tasks_inline():
        run = reconciliation_start(connection=connection, **kwargs)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return run


def first_link_agreed(connection, tasks_inline) -> XeroContact:
    """After a first run (the two sides agree): the first linked contact, to make drift with."""
    reconcile(connection, tasks_inline)
    return XeroContact.objects.select_related("contact").earliest("pk")


def found(run) -> dict[tuple[str, int, str], ReconciliationDifference]:
    return {(d.kind, d.object_id, d.field): d for d in run.found.all()}


def api_reads(xero) -> list[dict]:
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] == "GET"]


@pytest.fixture
def linked(ready, account, xero, admin_user, tasks_inline):
    """Contacts imported from Xero and four invoices issued and sent, one with a payment."""
    connection, gst = ready
    run_import(connection, admin_user)
    with tasks_inline():
        invoices = [
            issue(account, gst, contact_make(account, first_name="Ana", last_name=f"Lee {n}"))
            for n in range(4)
        ]
        payment_record(
            invoice=invoices[1], amount=Decimal("30.00"), date=invoices[1].issue_date, reference=""
        )
    assert all(InvoiceSync.objects.get(invoice=i).state == "synced" for i in invoices)
    return connection, invoices


@pytest.mark.django_db
def test_drift_of_each_kind_is_found_repaired_and_the_next_run_reports_none(
    linked, account, xero, tasks_inline, mailoutbox
):
    connection, (paid_in_xero, unpaid_in_xero, edited, voided) = linked
    tenant = connection.tenant_id
    first = reconcile(connection, tasks_inline)
    assert first.full and first.differences == 0, list(first.found.values())
    assert first.invoices_read == 4 and first.contacts_read == XeroContact.objects.count()

    # Drift on purpose, with no webhook telling of it.
    xero.pay_invoice(
        tenant, in_xero(xero, connection, paid_in_xero)["InvoiceID"], amount="40.00", quiet=True
    )
    (xero_payment,) = in_xero(xero, connection, unpaid_in_xero)["Payments"]
    xero.delete_payment(tenant, xero_payment["PaymentID"], quiet=True)
    lines = in_xero(xero, connection, edited)["LineItems"]
    lines[0] = {**lines[0], "UnitAmount": 150}
    xero.edit_invoice(
        tenant, in_xero(xero, connection, edited)["InvoiceID"], quiet=True, LineItems=lines
    )
    xero.void_invoice(tenant, in_xero(xero, connection, voided)["InvoiceID"], quiet=True)
    renamed_in_xero, renamed_in_crm = XeroContact.objects.select_related("contact").order_by("pk")[
        :2
    ]
    given, family = renamed_in_xero.contact.first_name, renamed_in_xero.contact.last_name
    assert given and family  # a person, renamed in Xero as people are
    xero.edit_contact(
        tenant,
        renamed_in_xero.xero_contact_id,
        quiet=True,
        FirstName=f"{given}nui",
        Name=f"{given}nui {family}",
    )
    contact_update(
        contact=renamed_in_crm.contact,
        company_name="Renamed In The CRM Ltd",
        first_name="",
        last_name="",
    )
    # Its push is lost: the outbox row is gone, as for an edit made before the outbox existed.
    ContactSync.objects.filter(contact=renamed_in_crm.contact).delete()

    xero.clear_requests()
    second = reconcile(connection, tasks_inline)
    assert not second.full and second.since is not None
    seen = found(second)
    kinds = {key: (d.direction, d.repair) for key, d in seen.items()}
    assert kinds[("invoice", paid_in_xero.pk, "payments")] == (Direction.XERO_AHEAD, Repair.PULLED)
    assert kinds[("invoice", unpaid_in_xero.pk, "payments")] == (
        Direction.XERO_AHEAD,
        Repair.PULLED,
    )
    assert kinds[("invoice", edited.pk, "total")] == (Direction.DRIFT, Repair.PUSHED)
    assert kinds[("invoice", voided.pk, "status")] == (Direction.XERO_AHEAD, Repair.PULLED)
    contact_key = ("contact", renamed_in_xero.contact_id, "name")
    assert kinds[contact_key] == (Direction.XERO_AHEAD, Repair.PULLED)
    assert kinds[("contact", renamed_in_crm.contact_id, "name")] == (
        Direction.CRM_AHEAD,
        Repair.PUSHED,
    )
    total = seen[("invoice", edited.pk, "total")]
    assert (total.crm_value, total.xero_value) != (total.xero_value, total.crm_value)
    assert total.crm_value == f"{edited.total:.2f}"
    assert seen[contact_key].xero_value == f"{given}nui {family}"
    # Economical: paged lists since the last run, one page each here, plus by-id reads.
    reads = api_reads(xero)
    listed = [r for r in reads if r["path"] in ("/api.xro/2.0/Invoices", "/api.xro/2.0/Contacts")]
    assert listed and all(
        "if-modified-since" in r["headers"] for r in listed if "IDs" not in r["query"]
    )
    assert second.xero_calls <= 6

    # Repaired by the rules that apply.
    for invoice in (paid_in_xero, unpaid_in_xero, edited, voided):
        invoice.refresh_from_db()
    assert paid_in_xero.amount_paid == Decimal("40.00")
    assert unpaid_in_xero.amount_paid == Decimal(0) and not unpaid_in_xero.payments.exists()
    assert voided.status == InvoiceStatus.VOID
    assert Decimal(str(in_xero(xero, connection, edited)["Total"])) == edited.total
    renamed_in_xero.contact.refresh_from_db()
    assert renamed_in_xero.contact.first_name == f"{given}nui"
    # ... and the rename reached Xero through the contacts' outbox, not a write of its own.
    in_xero_now = {c["ContactID"]: c for c in xero.contacts(tenant)}
    assert in_xero_now[renamed_in_crm.xero_contact_id]["Name"] == "Renamed In The CRM Ltd"
    assert ContactSync.objects.get(contact=renamed_in_crm.contact).state == "synced"
    posts = [r for r in xero.requests(path="/api.xro/2.0/Contacts") if r["method"] == "POST"]
    assert len(posts) == 1
    assert posts[0]["headers"]["idempotency-key"].startswith("crm-contacts-save-")

    third = reconcile(connection, tasks_inline)
    assert third.differences == 0, [str(d) + d.why for d in third.found.all()]
    assert mailoutbox == []  # nothing survived two runs


def held_credit_notes(xero, connection) -> dict[str, dict]:
    return {c["CreditNoteNumber"]: c for c in xero.credit_notes(connection.tenant_id)}


@pytest.mark.django_db
def test_credit_notes_drift_is_found_repaired_through_the_outbox_or_left_for_a_person(
    linked, account, xero, admin_user, tasks_inline
):
    connection, invoices = linked
    tenant = connection.tenant_id
    with tasks_inline():  # sent to Xero by their invoices' outbox rows
        removed = credit_note_create(
            invoice=invoices[1], reason="Goodwill", amount=Decimal("10.00"), refund=Decimal("3.00")
        )
        forgotten = credit_note_create(invoice=invoices[2], reason="Late", amount=Decimal("5.00"))
    # One whose push was lost: issued in the CRM, its invoice's row marked done, never sent.
    lost = credit_note_create(invoice=invoices[3], reason="Lost", amount=Decimal("4.00"))
    InvoiceSync.objects.filter(invoice=invoices[3]).update(state="synced")
    assert not CreditNoteSync.objects.filter(credit_note=lost).exists()
    held = held_credit_notes(xero, connection)
    assert set(held) == {removed.number, forgotten.number}

    # The lost one is not "waiting": nothing is queued for it. The other two agree.
    first = reconcile(connection, tasks_inline)
    assert first.credit_notes_read == 3
    assert {k: (d.direction, d.repair) for k, d in found(first).items()} == {
        ("credit", lost.pk, "sent"): (Direction.CRM_AHEAD, Repair.PUSHED)
    }
    assert found(first)[("credit", lost.pk, "sent")].why == (
        "The CRM is the book of record for what it issued: not yet in Xero, sent again"
    )
    held = held_credit_notes(xero, connection)
    assert set(held) == {removed.number, forgotten.number, lost.number}
    [allocation] = held[lost.number]["Allocations"]
    assert Decimal(str(allocation["Amount"])) == Decimal("4.00")

    # Drift on purpose, quietly: an allocation removed in Xero, and a twin that forgot it was
    # sent (its CreditNoteID and its allocation), as after an answer lost and a retry forgotten.
    [allocation] = held[removed.number]["Allocations"]
    xero.remove_allocation(
        tenant, held[removed.number]["CreditNoteID"], allocation["AllocationID"], quiet=True
    )
    CreditNoteSync.objects.filter(credit_note=forgotten).update(
        xero_credit_note_id="", allocated=False
    )
    xero.clear_requests()
    second = reconcile(connection, tasks_inline)
    assert not second.full
    seen = found(second)
    assert {k: (d.direction, d.repair) for k, d in seen.items()} == {
        ("credit", removed.pk, "allocated"): (Direction.XERO_AHEAD, Repair.PERSON),
        # Xero did not change it since the last run: not read, queued again by its twin.
        ("credit", forgotten.pk, "sent"): (Direction.CRM_AHEAD, Repair.PUSHED),
    }
    gap = seen[("credit", removed.pk, "allocated")]
    assert (gap.crm_value, gap.xero_value) == ("7.00", "0.00")
    assert "removed in Xero" in gap.why and "a person" in gap.why
    assert gap.label == f"{removed.number} ({invoices[1].number})"
    # Read as a paged list since the last run, counted in the run's calls.
    [listed] = [
        r
        for r in api_reads(xero)
        if r["path"] == "/api.xro/2.0/CreditNotes" and "ACCRECCREDIT" in r["query"].get("where", "")
    ]
    assert "if-modified-since" in listed["headers"] and listed["query"]["page"] == "1"
    assert listed["query"]["pageSize"] == "1000"
    # Its invoice's outbox row asked Xero first: the twin knows again what Xero holds, and
    # nothing was sent twice (no credit note, no allocation).
    twin = CreditNoteSync.objects.get(credit_note=forgotten)
    assert twin.allocated and twin.xero_credit_note_id == held[forgotten.number]["CreditNoteID"]
    assert len(xero.credit_notes(tenant)) == 3
    writes = [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] != "GET"]
    assert writes == []
    assert InvoiceSync.objects.get(invoice=invoices[2]).state == "synced"

    third = reconcile(connection, tasks_inline)
    assert {k: d.repair for k, d in found(third).items()} == {
        ("credit", removed.pk, "allocated"): Repair.PERSON
    }
    assert (third.differences, third.repaired, third.left) == (1, 0, 1)
    assert third.credit_notes_linked == 3
    page = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "CRM and Xero differ" in page.content.decode()
    assert f", 3 credit notes and {third.contacts_linked} contacts" in page.content.decode()
    assert "the CRM cannot set it again" in page.content.decode()


@pytest.mark.django_db
def test_a_difference_no_rule_decides_is_listed_and_told_once_when_it_survives(
    linked, account, xero, tasks_inline, mailoutbox
):
    connection, _ = linked
    link = first_link_agreed(connection, tasks_inline)
    drift(link.contact, phone="+64 21 555 0199", phone_e164="+64215550199")
    first = reconcile(connection, tasks_inline)
    (difference,) = first.found.all()
    assert (difference.field, difference.repair) == ("phone", Repair.PERSON)
    assert difference.direction == Direction.DRIFT
    assert mailoutbox == []
    second = reconcile(connection, tasks_inline)
    assert second.differences == 1
    assert len(mailoutbox) == 1 and "still disagree" in mailoutbox[0].subject
    assert "phone" in mailoutbox[0].body
    third = reconcile(connection, tasks_inline)
    assert third.differences == 1 and len(mailoutbox) == 1  # told once


@pytest.mark.django_db
def test_work_still_queued_is_waiting_not_a_difference(linked, account, xero, tasks_inline):
    connection, invoices = linked
    reconcile(connection, tasks_inline)
    xero.pay_invoice(
        connection.tenant_id, in_xero(xero, connection, invoices[0])["InvoiceID"], quiet=True
    )
    InvoiceSync.objects.filter(invoice=invoices[0]).update(state="pending")
    # A contact edit whose push is still under way (its outbox row pending, or waiting for a
    # reconnect) is waiting too: the reconciliation neither lists nor queues it again.
    pending, waiting = XeroContact.objects.select_related("contact").order_by("pk")[:2]
    contact_update(contact=pending.contact, email="pending@new.example")
    contact_update(contact=waiting.contact, email="waiting@new.example")
    ContactSync.objects.filter(contact=waiting.contact).update(state="waiting")
    run = reconcile(connection, tasks_inline)
    assert run.differences == 0 and run.waiting == 3
    assert not [r for r in xero.requests(path="/api.xro/2.0/Contacts") if r["method"] == "POST"]


@pytest.mark.django_db
@pytest.mark.parametrize("outbox_row", ["none", "synced"])
def test_a_contact_changed_in_the_crm_is_queued_in_the_outbox_with_or_without_its_row(
    linked, account, xero, tasks_inline, outbox_row
):
    connection, _ = linked
    link = first_link_agreed(connection, tasks_inline)
    contact_update(contact=link.contact, email="moved@new.example", phone="+64 21 555 0142")
    rows = ContactSync.objects.filter(contact=link.contact)
    if outbox_row == "none":
        rows.delete()  # the push lost with its row
    else:
        rows.update(state="synced", dirty={})  # the push said done, yet Xero never had it
    run = reconcile(connection, tasks_inline)
    kinds = {(d.field, d.direction, d.repair) for d in run.found.all()}
    assert kinds == {
        ("email", Direction.CRM_AHEAD, Repair.PUSHED),
        ("phone", Direction.CRM_AHEAD, Repair.PUSHED),
    }
    sync = ContactSync.objects.get(contact=link.contact)
    assert sync.state == "synced" and sync.dirty == {}
    theirs = {c["ContactID"]: c for c in xero.contacts(connection.tenant_id)}[link.xero_contact_id]
    assert theirs["EmailAddress"] == "moved@new.example"
    assert reconcile(connection, tasks_inline).differences == 0


@pytest.mark.django_db
def test_a_failed_push_is_shown_with_its_failure_and_not_queued_again(
    linked, account, xero, tasks_inline
):
    connection, _ = linked
    link = first_link_agreed(connection, tasks_inline)
    contact_update(contact=link.contact, email="refused@new.example")
    refused = "Xero refused the change: Email address must be valid."
    ContactSync.objects.filter(contact=link.contact).update(state="failed", error=refused)
    for _ in range(2):
        run = reconcile(connection, tasks_inline)
        (difference,) = run.found.all()
        assert (difference.field, difference.repair) == ("email", Repair.PERSON)
        assert difference.why == "Not sent to Xero: " + refused
        assert ContactSync.objects.get(contact=link.contact).state == "failed"
    assert not [r for r in xero.requests(path="/api.xro/2.0/Contacts") if r["method"] == "POST"]


@pytest.mark.django_db
def test_a_contact_changed_in_the_crm_is_left_for_a_person_where_nothing_is_sent(
    linked, account, xero, tasks_inline
):
    connection, _ = linked
    reconcile(connection, tasks_inline)
    connection.contact_push_mode = "none"
    connection.save(update_fields=["contact_push_mode"])
    link = XeroContact.objects.select_related("contact").earliest("pk")
    contact_update(contact=link.contact, email="kept@new.example")
    (difference,) = reconcile(connection, tasks_inline).found.all()
    assert difference.repair == Repair.PERSON and "does not send" in difference.why
    assert not ContactSync.objects.filter(contact=link.contact).exists()


@pytest.mark.django_db
def test_a_full_run_reads_paged_lists_with_bounded_queries(
    linked, account, xero, tasks_inline, django_assert_max_num_queries
):
    connection, _ = linked
    with django_assert_max_num_queries(60):
        run = reconcile(connection, tasks_inline)
    # a page each of invoices, credit notes and contacts
    assert run.full and run.xero_calls == 3


@pytest.mark.django_db
def test_the_integrations_page_says_the_books_agree_and_check_now_starts_a_run(
    linked, account, admin_user, xero, tasks_inline
):
    connection, _ = linked
    client = client_for(admin_user)
    page = client.get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "not been compared" in page.content.decode()
    with tasks_inline():
        response = client.post(reverse("xero_sync:reconcile", args=[account.slug]))
    assert response.status_code == 302
    run = ReconciliationRun.objects.get()
    text = client.get(reverse("xero_sync:integrations", args=[account.slug])).content.decode()
    assert (
        f"CRM and Xero agree: checked just now, {run.invoices_linked} invoices and "
        f"{run.contacts_linked:,} contacts, 0 differences" in text
    )


@pytest.mark.django_db
def test_ops_health_shows_each_accounts_last_run_and_its_differences(
    linked, account, xero, tasks_inline
):
    from django.contrib.auth import get_user_model

    connection, _ = linked
    link = first_link_agreed(connection, tasks_inline)
    drift(link.contact, phone="+64 21 555 0199", phone_e164="+64215550199")
    reconcile(connection, tasks_inline)
    ops = get_user_model().objects.create_superuser(username="ops", password="pw")
    page = client_for(ops).get("/ops/health/")
    row = page.content.decode().split(f'id="account-{account.slug}"')[1].split("</tr>")[0]
    assert '<td class="reconciled">just now</td>' in row
    assert '<td class="num drift">1 (1)</td>' in row
    assert (
        'class="attention"' in page.content.decode().split(f'id="account-{account.slug}"')[1][:30]
    )


def test_the_sentence_counts_as_people_say_it():
    from datetime import timedelta

    from django.utils import timezone

    from xero_sync.reconcile.selectors import agreement_sentence

    now = timezone.now()
    run = ReconciliationRun(
        invoices_linked=10_234, contacts_linked=3_120, finished_at=now - timedelta(hours=2)
    )
    assert agreement_sentence(run, now) == (
        "CRM and Xero agree: checked 2 hours ago, 10,234 invoices and 3,120 contacts, 0 differences"
    )
    run.credit_notes_linked = 12
    assert agreement_sentence(run, now) == (
        "CRM and Xero agree: checked 2 hours ago, 10,234 invoices, 12 credit notes and "
        "3,120 contacts, 0 differences"
    )
    run.invoices_linked, run.credit_notes_linked, run.differences = 1, 0, 1
    assert agreement_sentence(run, now).startswith(
        "CRM and Xero differ: checked 2 hours ago, 1 invoice and"
    )
    assert agreement_sentence(run, now).endswith(", 1 difference")


@pytest.mark.django_db
def test_a_run_stopped_by_xeros_limit_resumes_at_its_checkpoint(linked, xero):
    from xero_sync.client.errors import RateLimited
    from xero_sync.models import RunPhase
    from xero_sync.reconcile.run import reconciliation_run

    connection, _ = linked
    run = reconciliation_start(connection=connection)  # its task is not run here
    xero.fault("status", method="GET", path="/api.xro/2.0/Contacts", status=429)
    with pytest.raises(RateLimited):
        reconciliation_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.phase, run.next_page) == (RunStatus.RUNNING, RunPhase.CONTACTS, 1)
    assert run.invoices_read == 4
    TenantLimiter(connection.tenant_id).reset()  # Xero's wait is over
    xero.clear_requests()
    reconciliation_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.invoices_read == 4  # not read twice
    assert [r["path"] for r in api_reads(xero)] == ["/api.xro/2.0/Contacts"]


@pytest.mark.django_db
def test_beat_starts_a_run_a_day_and_queues_a_lost_one_again(linked, xero, tasks_inline):
    from datetime import timedelta

    from django.utils import timezone

    from xero_sync.reconcile.run import reconciliations_due

    connection, _ = linked
    with tasks_inline():
        assert reconciliations_due() == 1
    assert reconciliations_due() == 0  # one a day
    (done,) = ReconciliationRun.objects.all()
    assert done.status == RunStatus.DONE
    ReconciliationRun.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    lost = reconciliation_start(connection=connection)  # its message never reaches a worker
    assert lost.status == RunStatus.QUEUED and not lost.full
    assert reconciliations_due() == 0  # under way: not started twice, not yet stalled
    ReconciliationRun.objects.filter(pk=lost.pk).update(
        progressed_at=timezone.now() - timedelta(minutes=11)
    )
    with tasks_inline():
        assert reconciliations_due() == 1
    lost.refresh_from_db()
    assert lost.status == RunStatus.DONE


@pytest.mark.django_db
def test_a_run_that_cannot_finish_says_why_on_the_integrations_page(
    linked, account, admin_user, xero, tasks_inline
):
    connection, _ = linked
    connection.status = "needs_reconnect"
    connection.save(update_fields=["status"])
    with tasks_inline():
        run = reconciliation_start(connection=connection)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    text = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "could not finish: Xero is not connected" in text.content.decode()
