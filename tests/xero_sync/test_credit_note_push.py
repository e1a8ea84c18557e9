"""Credit notes and refunds from the CRM to Xero (the sandbox), through the invoice's outbox:
created approved, set against the invoice, refunded from the payment account, exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import InvoiceStatus
from invoices.services import (
    CreditLineInput,
    LineInput,
    credit_note_create,
    invoice_credit_reissue,
    invoice_issue,
    invoice_update,
    payment_record,
)
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices.models import CreditNoteSync
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..support.exchanges import API, Exchanges, validate_exchange
from ..support.invoices import in_xero, issue


def drain(connection):
    return invoice_drain.invoices_drain(connection.pk)


def money(value) -> Decimal:
    return Decimal(str(value))


@pytest.mark.django_db
def test_a_part_credit_with_a_refund_is_allocated_and_refunded_and_xero_owes_what_we_owe(
    ready, account, xero
):
    connection, gst = ready
    invoice = issue(account, gst)  # 146.63 NZD
    payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain(connection)
    washers = invoice.lines.get(description="Washers")
    note = credit_note_create(
        invoice=invoice,
        reason="Washers returned",
        lines=[CreditLineInput(line=washers, quantity=Decimal("2.5"))],
        refund=Decimal("3.00"),
    )
    invoice.refresh_from_db()
    # 7.50 + 1.13 tax; 3.00 of it refunded, 5.63 off what is owed.
    assert (note.total, note.amount_allocated, invoice.amount_due) == (
        Decimal("8.63"),
        Decimal("5.63"),
        Decimal("41.00"),
    )
    xero.clear_requests()
    exchanges = Exchanges(xero)
    result = drain(connection)
    assert result.failed == 0
    # Each request we sent, and each answer, as Xero's official spec has them.
    exchanges.validated(
        [
            ("PUT", f"{API}/CreditNotes", 200),
            ("PUT", f"{API}/CreditNotes/*/Allocations", 200),
            ("POST", f"{API}/Payments", 200),
        ]
    )
    [held] = xero.credit_notes(connection.tenant_id)
    assert held["Type"] == "ACCRECCREDIT" and held["CreditNoteNumber"] == note.number
    assert held["Reference"] == "Washers returned"
    assert money(held["Total"]) == note.total
    [allocation] = held["Allocations"]
    assert money(allocation["Amount"]) == Decimal("5.63")
    # A refund is a payment against the credit note (Xero shows the credit note as its Invoice).
    [refund] = [
        p for p in xero.payments(connection.tenant_id) if p.get("PaymentType") != "ACCRECPAYMENT"
    ]
    assert refund["PaymentType"] == "ARCREDITPAYMENT"
    assert refund["Invoice"]["InvoiceNumber"] == note.number
    assert money(refund["Amount"]) == Decimal("3.00")
    assert refund["Account"]["AccountID"] == connection.payment_account_id
    ours = in_xero(xero, connection, invoice)
    assert money(ours["AmountDue"]) == invoice.amount_due
    assert money(ours["AmountCredited"]) == invoice.amount_credited
    # The invoice itself was not written again: only the credit note's three calls.
    assert sorted((r["method"], r["path"].rsplit("/", 1)[-1]) for r in xero.requests()) == [
        ("POST", "Payments"),
        ("PUT", "Allocations"),
        ("PUT", "CreditNotes"),
    ]
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED
    record = CreditNoteSync.objects.get(credit_note=note)
    assert record.allocated and record.xero_refund_id
    # Draining again sends nothing.
    xero.clear_requests()
    drain(connection)
    assert xero.requests() == []


@pytest.mark.django_db
def test_a_fully_paid_invoice_credited_by_amount_is_refunded_not_allocated(ready, account, xero):
    connection, gst = ready
    invoice = issue(account, gst)
    payment_record(invoice=invoice, amount=invoice.amount_due)
    with pytest.raises(Exception, match="at least 20.00 NZD of this credit must be refunded"):
        credit_note_create(invoice=invoice, reason="Goodwill", amount=Decimal("20.00"))
    note = credit_note_create(
        invoice=invoice, reason="Goodwill", amount=Decimal("20.00"), refund=Decimal("20.00")
    )
    drain(connection)
    [held] = xero.credit_notes(connection.tenant_id)
    # Tax included: 20.00 in all, 2.61 of it GST, as Xero rounds it.
    assert (money(held["Total"]), money(held["TotalTax"])) == (Decimal("20.00"), Decimal("2.61"))
    assert (note.total, note.total_tax) == (Decimal("20.00"), Decimal("2.61"))
    assert held["Allocations"] == [] and held["Status"] == "PAID"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert money(in_xero(xero, connection, invoice)["AmountDue"]) == invoice.amount_due == 0


@pytest.mark.django_db
def test_a_credit_never_exceeds_what_is_left_to_credit(ready, account):
    _, gst = ready
    invoice = issue(account, gst)  # 146.63
    call_out = invoice.lines.get(description="Call-out")
    credit_note_create(
        invoice=invoice,
        reason="Call-out waived",
        lines=[CreditLineInput(line=call_out, quantity=Decimal(1))],
    )
    with pytest.raises(Exception, match="at most 0 of its 1 can still be credited"):
        credit_note_create(
            invoice=invoice,
            reason="Again",
            lines=[CreditLineInput(line=call_out, quantity=Decimal("0.5"))],
        )
    with pytest.raises(Exception, match=r"more than is left to credit on INV-0001 \(8.63 NZD\)"):
        credit_note_create(invoice=invoice, reason="Too much", amount=Decimal("8.64"))
    credit_note_create(invoice=invoice, reason="The rest", amount=Decimal("8.63"))
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api.xro/2.0/CreditNotes/*/Allocations", "/api.xro/2.0/Payments"]
)
def test_a_lost_answer_to_an_allocation_or_refund_is_read_back_not_sent_twice(
    ready, account, xero, path
):
    connection, gst = ready
    invoice = issue(account, gst)
    payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain(connection)
    note = credit_note_create(
        invoice=invoice, reason="Damaged", amount=Decimal("20.00"), refund=Decimal("5.00")
    )
    xero.fault("lost_response", method="PUT" if "Alloc" in path else "POST", path=path)
    first = drain(connection)
    assert first.synced == 0 and first.retry_in > 0
    InvoiceSync.objects.filter(invoice=invoice).update(next_attempt_at=None)
    assert drain(connection).synced == 1
    [held] = xero.credit_notes(connection.tenant_id)
    assert [money(a["Amount"]) for a in held["Allocations"]] == [note.amount_allocated]
    refunds = [
        p for p in xero.payments(connection.tenant_id) if p["PaymentType"] != "ACCRECPAYMENT"
    ]
    assert [money(r["Amount"]) for r in refunds] == [Decimal("5.00")]
    invoice.refresh_from_db()
    assert money(in_xero(xero, connection, invoice)["AmountDue"]) == invoice.amount_due


@pytest.mark.django_db
def test_credit_and_reissue_settles_the_original_in_xero_and_carries_its_payment_to_the_copy(
    ready, account, xero
):
    connection, gst = ready
    invoice = issue(account, gst)  # 146.63
    payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain(connection)
    copy = invoice_credit_reissue(invoice=invoice, reason="Wrong call-out rate")
    invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)
    [note] = invoice.credit_notes.all()
    assert (note.total, note.amount_allocated, note.carried_amount, note.carried_to) == (
        Decimal("146.63"),
        Decimal("46.63"),
        Decimal("100.00"),
        copy,
    )
    assert copy.status == InvoiceStatus.DRAFT and copy.amount_credited == Decimal("100.00")
    # The copy is changed, then issued: what was paid on the original is set against it.
    call_out = copy.lines.get(description="Call-out")
    invoice_update(
        invoice=copy,
        lines=[
            LineInput(
                id=line.pk,
                description=line.description,
                quantity=line.quantity,
                unit_price=Decimal("100.00") if line == call_out else line.unit_price,
                discount_rate=line.discount_rate,
                tax_rate=line.tax_rate,
            )
            for line in copy.lines.all()
        ],
    )
    drain(connection)
    held_copy = in_xero(xero, connection, copy)
    assert held_copy["Status"] == "DRAFT"
    [held] = xero.credit_notes(connection.tenant_id)
    assert [money(a["Amount"]) for a in held["Allocations"]] == [Decimal("46.63")]
    assert money(held["RemainingCredit"]) == Decimal("100.00")  # waits for the copy
    copy = invoice_issue(invoice=copy)
    result = drain(connection)
    assert result.failed == 0
    copy.refresh_from_db()
    [held] = xero.credit_notes(connection.tenant_id)
    assert sorted(money(a["Amount"]) for a in held["Allocations"]) == [
        Decimal("46.63"),
        Decimal("100.00"),
    ]
    assert money(held["RemainingCredit"]) == 0
    assert money(in_xero(xero, connection, invoice)["AmountDue"]) == invoice.amount_due == 0
    assert in_xero(xero, connection, invoice)["Status"] == "PAID"
    # 100.00 + 7.50, GST 16.13: 123.63, less the 100.00 carried over.
    assert copy.total == Decimal("123.63")
    assert (
        money(in_xero(xero, connection, copy)["AmountDue"]) == copy.amount_due == Decimal("23.63")
    )
    # The original keeps its payment in Xero; nothing was voided or deleted.
    assert len(xero.payments(connection.tenant_id)) == 1


@pytest.mark.django_db
def test_a_copy_waits_for_the_credit_note_it_carries_without_failing(ready, account, xero):
    connection, gst = ready
    invoice = issue(account, gst)
    payment_record(invoice=invoice, amount=Decimal("100.00"))
    drain(connection)
    # Xero refuses the credit note's create this once (an outage): the copy must wait for it.
    xero.fault("status", method="PUT", path="/api.xro/2.0/CreditNotes", status=503)
    copy = invoice_issue(invoice=invoice_credit_reissue(invoice=invoice, reason="Redo"))
    drain(connection)
    # The original backs off after the outage; the copy, not at fault, goes again, finds the
    # credit note still missing and waits a few seconds: pending, charged nothing, not failed.
    original = InvoiceSync.objects.get(invoice=invoice)
    assert original.state == InvoiceSyncState.PENDING and original.attempts == 1
    InvoiceSync.objects.filter(pk=original.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    drain(connection)
    copy_sync = InvoiceSync.objects.get(invoice=copy)
    assert copy_sync.state == InvoiceSyncState.PENDING and copy_sync.attempts == 0
    assert copy_sync.next_attempt_at is not None
    assert copy_sync.next_attempt_at > timezone.now()
    InvoiceSync.objects.update(next_attempt_at=None)
    drain(connection)
    copy_sync.refresh_from_db()
    assert copy_sync.state == InvoiceSyncState.SYNCED
    copy.refresh_from_db()
    assert money(in_xero(xero, connection, copy)["AmountDue"]) == copy.amount_due


@pytest.mark.django_db
def test_a_lost_answer_to_a_create_is_looked_up_by_number_not_sent_twice(ready, account, xero):
    connection, gst = ready
    invoice = issue(account, gst)
    drain(connection)
    note = credit_note_create(invoice=invoice, reason="Late", amount=Decimal("10.00"))
    xero.fault("lost_response", method="PUT", path="/api.xro/2.0/CreditNotes")
    since = Exchanges(xero).since
    assert drain(connection).synced == 0
    InvoiceSync.objects.filter(invoice=invoice).update(next_attempt_at=None)
    assert drain(connection).synced == 1
    [held] = xero.credit_notes(connection.tenant_id)
    assert held["CreditNoteNumber"] == note.number
    assert CreditNoteSync.objects.get(credit_note=note).xero_credit_note_id == held["CreditNoteID"]
    assert [money(a["Amount"]) for a in held["Allocations"]] == [Decimal("10.00")]
    assert len(xero.requests(method="PUT", path=f"{API}/CreditNotes")) == 1
    # The lookup (GET /CreditNotes?where=CreditNoteNumber==...) is Xero's contract too.
    rows = xero.requests(method="GET", path=f"{API}/CreditNotes", since_id=since, responses=True)
    [looked_up] = rows
    assert note.number in looked_up["query"]["where"]
    validate_exchange(looked_up)
