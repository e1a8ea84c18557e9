"""Past sales invoices and credit notes at connection: a preview (how many, their total, which
contacts they need), then a resumable run at Xero's largest page size, found again by the sweep
when its message is lost; a re-run changes nothing and nothing is sent to Xero."""

import datetime
import math
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.models import CreditNote, EventSource, Invoice
from platform_crm.models import Role
from xero_sync.client.errors import XeroError
from xero_sync.invoices import past
from xero_sync.models import ImportStatus, InvoiceSync, PastInvoiceImport
from xero_sync.taxes import services as tax_services

from ..factories import account_create, client_for, tax_rate_make, user_create
from .conftest import connect

ORG = "Past Books Ltd"
LONG_AGO = datetime.date(2000, 1, 1)


@pytest.fixture
def books(xero, account, admin_user):
    """An organisation with two years of sales, connected, GST mapped; no contacts in the CRM."""
    xero.seed([{"name": ORG, "n_contacts": 25, "n_invoices": 60, "n_credit_notes": 16, "seed": 7}])
    connection = connect(xero, account, admin_user, org=ORG)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    return connection


def sales(xero, connection, since=LONG_AGO):
    return [
        i
        for i in xero.invoices(connection.tenant_id)
        if i["Type"] == "ACCREC" and Invoice_date(i) >= since
    ]


def sales_credit_notes(xero, connection):
    """Xero's sales credit notes by what the import does with them: (to bring in: approved and
    set against an invoice; to hold: approved and set against none; to skip: the others)."""
    notes = [n for n in xero.credit_notes(connection.tenant_id) if n["Type"] == "ACCRECCREDIT"]
    approved = [n for n in notes if n["Status"] in ("AUTHORISED", "PAID")]
    return (
        [n for n in approved if n["Allocations"]],
        [n for n in approved if not n["Allocations"]],
        [n for n in notes if n["Status"] not in ("AUTHORISED", "PAID")],
    )


def Invoice_date(raw) -> datetime.date:  # noqa: N802
    from xero_sync.inbound import normalise

    day = normalise.day(raw["Date"])
    assert day is not None
    return day


def writes(xero):
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] in ("PUT", "POST")]


def run(connection, *, preview, since=LONG_AGO, user=None):
    started = past.past_import_start(connection=connection, since=since, preview=preview, user=user)
    return past.past_import_run(started.pk)


@pytest.mark.django_db
def test_the_preview_counts_totals_and_names_the_contacts_needed_and_changes_nothing(
    books, account, xero, monkeypatch
):
    expected = [i for i in sales(xero, books) if i["Status"] != "DELETED"]
    xero.clear_requests()
    preview = run(books, preview=True)
    assert preview.status == ImportStatus.PREVIEWED and preview.percent == 100
    assert preview.brought_in == len(expected)
    total = sum(Decimal(str(i["Total"])) for i in expected if i["Status"] != "VOIDED")
    (currency,) = {i["CurrencyCode"] for i in expected}
    assert preview.totals == {currency: str(total)}
    contacts = {i["Contact"]["ContactID"] for i in expected} | {
        i["Contact"]["ContactID"] for i in sales(xero, books) if i["Status"] == "DELETED"
    }
    assert preview.contacts_needed_count == len(contacts)
    assert all(entry["name"] for entry in preview.contacts_needed)
    assert not Invoice.objects.filter(account=account).exists()
    (call,) = xero.requests(path="/api.xro/2.0/Invoices")
    assert call["query"]["pageSize"] == "1000"
    # The credit notes too: how many would come in, their total, how many would be held.
    bring, hold, skip = sales_credit_notes(xero, books)
    assert bring and hold and skip  # the seed has each kind
    assert (preview.credit_notes_brought_in, preview.credit_notes_held) == (len(bring), len(hold))
    assert preview.credit_notes_skipped == len(skip)
    assert preview.credit_notes_totals == {
        currency: str(sum(Decimal(str(n["Total"])) for n in bring))
    }
    (call,) = xero.requests(path="/api.xro/2.0/CreditNotes")
    assert call["query"]["pageSize"] == "1000"
    assert not CreditNote.objects.exists()
    # Counted the same across many pages: a contact on several pages is needed once.
    monkeypatch.setattr(past, "PAGE_SIZE", 7)
    xero.clear_requests()
    paged = run(books, preview=True)
    calls = [r["path"] for r in xero.requests(path="/api.xro/2.0/*")]
    assert calls.count("/api.xro/2.0/Invoices") == math.ceil(len(sales(xero, books)) / 7)
    notes = len(bring) + len(hold) + len(skip)
    assert calls.count("/api.xro/2.0/CreditNotes") == math.ceil(notes / 7)
    assert (paged.brought_in, paged.totals) == (preview.brought_in, preview.totals)
    assert (paged.credit_notes_brought_in, paged.credit_notes_totals) == (
        preview.credit_notes_brought_in,
        preview.credit_notes_totals,
    )
    assert paged.contacts_needed_count == len(contacts) == len(paged.contacts_needed)


@pytest.mark.django_db
def test_the_run_brings_them_in_once_and_a_rerun_changes_nothing(books, account, xero):
    expected = [i for i in sales(xero, books) if i["Status"] != "DELETED"]
    xero.clear_requests()
    done = run(books, preview=False)
    assert done.status == ImportStatus.DONE, done.error
    assert done.brought_in + done.held == len(expected)
    assert done.brought_in == len(expected)
    crm = Invoice.objects.filter(account=account, made_in=EventSource.XERO)
    assert crm.count() == done.brought_in
    assert writes(xero) == []
    # Then the credit notes: those set against an invoice come in on it, the others are held.
    bring, hold, skip = sales_credit_notes(xero, books)
    assert (done.credit_notes_brought_in, done.credit_notes_held) == (len(bring), len(hold))
    assert done.credit_notes_skipped == len(skip)
    notes = CreditNote.objects.filter(invoice__account=account, made_in=EventSource.XERO)
    assert sorted(notes.values_list("number", flat=True)) == sorted(
        n["CreditNoteNumber"] for n in bring
    )
    for xero_note in bring:
        note = notes.get(number=xero_note["CreditNoteNumber"])
        assert note.total == Decimal(str(xero_note["Total"]))
        assert note.unallocated_amount == Decimal(str(xero_note["RemainingCredit"]))
        assert note.refund_amount == sum(Decimal(str(p["Amount"])) for p in xero_note["Payments"])
    # One page of invoices with their lines, one of credit notes; one call for new contacts.
    calls = [r["path"] for r in xero.requests(path="/api.xro/2.0/*")]
    assert calls.count("/api.xro/2.0/Invoices") == math.ceil(len(sales(xero, books)) / 1000)
    assert calls.count("/api.xro/2.0/CreditNotes") == 1
    assert calls.count("/api.xro/2.0/Contacts") == 1
    assert len(calls) == 3
    # Every one of Xero's totals, to the cent.
    by_id = {i["InvoiceID"]: i for i in expected}
    statuses = {"DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "sent", "VOIDED": "void"}
    credited = 0
    for sync in InvoiceSync.objects.filter(connection=books).select_related("invoice"):
        xero_invoice, invoice = by_id[sync.xero_invoice_id], sync.invoice
        assert invoice.total == Decimal(str(xero_invoice["Total"]))
        # What is owed after payments and credit notes, to the cent, as Xero has it.
        assert invoice.amount_due == Decimal(str(xero_invoice["AmountDue"])), invoice.number
        assert invoice.amount_credited == Decimal(str(xero_invoice.get("AmountCredited") or 0))
        credited += bool(invoice.amount_credited)
        wanted = statuses.get(xero_invoice["Status"], "paid")
        if xero_invoice["Status"] == "AUTHORISED" and (
            invoice.amount_paid or invoice.amount_credited
        ):
            wanted = "partially_paid"
        assert invoice.status == wanted, (invoice.number, xero_invoice["Status"])
    assert credited  # some invoices were credited in Xero
    snapshot = sorted(crm.values_list("number", "status", "total", "amount_paid", "updated_at"))
    note_snapshot = sorted(
        notes.values_list("number", "total", "refund_amount", "unallocated_amount")
    )
    xero.clear_requests()
    again = run(books, preview=False)
    assert again.brought_in == 0 and again.already_in == done.brought_in
    assert again.credit_notes_brought_in == 0
    assert again.credit_notes_already_in == done.credit_notes_brought_in
    assert sorted(crm.values_list("number", "status", "total", "amount_paid", "updated_at")) == (
        snapshot
    )
    assert sorted(notes.values_list("number", "total", "refund_amount", "unallocated_amount")) == (
        note_snapshot
    )
    assert writes(xero) == []


@pytest.mark.django_db
def test_a_run_stopped_among_the_credit_notes_resumes_at_its_checkpoint(
    books, account, xero, monkeypatch
):
    monkeypatch.setattr(past, "PAGE_SIZE", 5)
    # Xero fails the second page of credit notes (after every invoice page went through).
    xero.fault("status", method="GET", path="/api.xro/2.0/CreditNotes", status=500, after=1)
    started = past.past_import_start(connection=books, since=LONG_AGO, preview=False, user=None)
    with pytest.raises(XeroError):
        past.past_import_run(started.pk)
    stopped = PastInvoiceImport.objects.get(pk=started.pk)
    assert stopped.status == ImportStatus.RUNNING and stopped.on_credit_notes
    assert (stopped.next_page, stopped.credit_notes_seen) == (2, 5)
    first_page = stopped.credit_notes_brought_in + stopped.credit_notes_held
    assert CreditNote.objects.count() == stopped.credit_notes_brought_in
    xero.clear_requests()
    done = past.past_import_run(started.pk)  # as the task's retry, or the sweep, runs it
    assert done.status == ImportStatus.DONE, done.error
    # It went on from the second page of credit notes: no invoice page read again.
    calls = [r["path"] for r in xero.requests(path="/api.xro/2.0/*")]
    assert "/api.xro/2.0/Invoices" not in calls
    bring, hold, skip = sales_credit_notes(xero, books)
    assert (done.credit_notes_brought_in, done.credit_notes_held) == (len(bring), len(hold))
    assert done.credit_notes_seen == len(bring) + len(hold) + len(skip) > first_page
    assert CreditNote.objects.count() == len(bring)


@pytest.mark.django_db
def test_a_run_whose_message_was_lost_is_found_by_the_sweep_and_resumes(
    books, account, xero, settings, tasks_inline
):
    settings.XERO_STALLED_AFTER = 60
    lost = PastInvoiceImport.objects.create(
        connection=books, since=LONG_AGO, status=ImportStatus.QUEUED
    )  # created, its message never sent
    assert past.past_imports_sweep() == 0  # not stalled yet
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    PastInvoiceImport.objects.filter(pk=lost.pk).update(
        progressed_at=an_hour_ago, next_attempt_at=an_hour_ago
    )
    with tasks_inline():
        assert past.past_imports_sweep() == 1
    lost.refresh_from_db()
    assert lost.status == ImportStatus.DONE and lost.brought_in > 0


@pytest.mark.django_db
def test_the_page_previews_then_brings_in_as_previewed(books, account, xero, admin_user):
    client = client_for(admin_user)
    url = reverse("xero_sync:past_invoices", args=[account.slug])
    integrations = client.get(reverse("xero_sync:integrations", args=[account.slug]))
    assert url in integrations.content.decode()
    response = client.post(url, {"since": "2000-01-01", "action": "preview"})
    preview = PastInvoiceImport.objects.get(connection=books)
    assert response["Location"] == f"{url}?run={preview.pk}"
    preview = past.past_import_run(preview.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'id="past-previewed"' in page and "Would come in" in page
    response = client.post(url, {"previewed": preview.pk})
    done = past.past_import_run(PastInvoiceImport.objects.get(is_preview=False).pk)
    assert done.since == LONG_AGO and done.brought_in == preview.brought_in - done.held
    # Another account's admin sees none of it.
    other = account_create(name="Other")
    stranger = client_for(user_create(account=other, role=Role.ADMIN))
    progress = reverse("xero_sync:past_invoices_progress", args=[other.slug, done.pk])
    assert stranger.get(progress).status_code == 404
