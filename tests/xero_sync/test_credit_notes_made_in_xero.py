"""Sales credit notes made in Xero come into the CRM (poll and CREDITNOTE webhooks through a real
worker) on the invoice they are set against, marked as made in Xero, Xero's totals to the cent;
their allocations, refunds and voids follow; nothing is ever written back to Xero; a credit note
the CRM pushed is known as ours; an odd one is held with its reason and never stops the others."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.models import CreditNote, EventSource, Invoice
from invoices.services import credit_note_create, payment_record
from xero_sync.inbound.models import QuarantinedRecord, QuarantineKind
from xero_sync.inbound.quarantine import quarantine_retry
from xero_sync.invoices import credit_notes_from_xero as from_xero
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices.models import CreditNoteSync
from xero_sync.models import InvoiceSync, XeroConnection
from xero_sync.webhooks.dispatch import HANDLERS
from xero_sync.webhooks.models import WebhookEvent

from ..factories import client_for
from ..support.invoices import issue, poll


def writes(xero):
    """Every write call that reached the sandbox's API (the CRM's; "in Xero" changes go through
    the control API and are not in this log)."""
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] in ("PUT", "POST")]


def line(description="Gutter clean", quantity="3", unit="48.65", tax="OUTPUT2", code="200"):
    return {
        "Description": description,
        "Quantity": quantity,
        "UnitAmount": unit,
        "AccountCode": code,
        "TaxType": tax,
    }


def invoice_in_xero(xero, tenant, contact, *, quiet=True):
    return xero.create_invoice(
        tenant,
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "Date": "2026-11-20",
            "DueDate": "2026-12-20",
            "Reference": "Gutters",
            "Status": "AUTHORISED",
            "LineItems": [line()],  # 145.95 + 21.89 tax = 167.84
        },
        quiet=quiet,
    )


def credit_note_in_xero(
    xero, tenant, contact, *lines, quiet=True, reference="Missed a gutter", kind="ACCRECCREDIT"
):
    return xero.create_credit_note(
        tenant,
        {
            "Type": kind,
            "Contact": {"ContactID": contact["ContactID"]},
            "Date": "2026-11-22",
            "Reference": reference,
            "Status": "AUTHORISED",
            "LineItems": list(lines) or [line("Missed a gutter", "1", "40.00")],  # 46.00
        },
        quiet=quiet,
    )


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def poll_all(connection):
    """The beat's poll: invoices, then credit notes."""
    poll(connection)
    return from_xero.credit_notes_poll(XeroConnection.objects.get(pk=connection.pk))


def crm_invoice(made) -> Invoice:
    return (
        InvoiceSync.objects.select_related("invoice").get(xero_invoice_id=made["InvoiceID"]).invoice
    )


def held(kind=QuarantineKind.CREDIT_NOTE):
    return QuarantinedRecord.objects.filter(kind=kind, resolved_at=None)


def test_creditnote_webhooks_have_their_handler():
    assert HANDLERS[("CREDITNOTE", "CREATE")] is from_xero.credit_note_update_from_xero
    assert HANDLERS[("CREDITNOTE", "UPDATE")] is from_xero.credit_note_update_from_xero


@pytest.mark.django_db
def test_the_poll_brings_in_a_credit_note_made_in_xero_on_its_invoice_and_echoes_nothing(
    ready, account, xero
):
    connection, gst = ready
    tenant = connection.tenant_id
    customer = xero.create_contact(tenant, Name="Rangi Gardens", quiet=True)
    invoice = invoice_in_xero(xero, tenant, customer)
    note = credit_note_in_xero(xero, tenant, customer)
    xero.allocate_credit_note(
        tenant, note["CreditNoteID"], invoice["InvoiceID"], "30.00", quiet=True
    )
    refund = xero.refund_credit_note(tenant, note["CreditNoteID"], account_code="090", quiet=True)
    xero.clear_requests()
    poll_all(connection)
    crm = crm_invoice(invoice)
    [credit] = crm.credit_notes.all()
    assert credit.made_in == EventSource.XERO
    assert (credit.number, credit.reason) == (note["CreditNoteNumber"], "Missed a gutter")
    assert (credit.subtotal, credit.total_tax, credit.total) == (
        money(note["SubTotal"]),
        money(note["TotalTax"]),
        money(note["Total"]),
    )
    assert [(li.description, li.tax_rate_id) for li in credit.lines.all()] == [
        ("Missed a gutter", gst.pk)
    ]
    # 30.00 set against the invoice, 16.00 refunded, nothing left unused.
    assert (credit.amount_allocated, credit.refund_amount, credit.unallocated_amount) == (
        Decimal("30.00"),
        Decimal("16.00"),
        Decimal("0.00"),
    )
    [in_xero] = [i for i in xero.invoices(tenant) if i["InvoiceID"] == invoice["InvoiceID"]]
    assert crm.amount_credited == money(in_xero["AmountCredited"]) == Decimal("30.00")
    assert crm.amount_due == money(in_xero["AmountDue"])
    assert crm.status == "partially_paid"
    twin = CreditNoteSync.objects.get(credit_note=credit)
    assert twin.xero_credit_note_id == note["CreditNoteID"]
    assert (twin.allocated, twin.xero_refund_id) == (True, refund["PaymentID"])
    assert crm.events.filter(
        source="xero", what__startswith=f"Credit note {credit.number}"
    ).exists()
    assert writes(xero) == []
    # Seen again, it changes nothing; a change in the CRM pushes the invoice's row, and the
    # credit note made in Xero is not sent back (created, allocated and refunded there).
    XeroConnection.objects.filter(pk=connection.pk).update(credit_notes_synced_until=None)
    events = crm.events.count()
    poll_all(connection)
    assert CreditNote.objects.count() == 1 and crm.events.count() == events
    payment_record(invoice=crm, amount=Decimal("10.00"))
    invoice_drain.invoices_drain(connection.pk)
    assert [(r["method"], r["path"]) for r in writes(xero)] == [("POST", "/api.xro/2.0/Payments")]
    assert len(xero.credit_notes(tenant)) == 1


@pytest.mark.django_db
def test_allocations_refunds_and_voids_made_later_in_xero_follow(ready, account, xero):
    connection, _ = ready
    tenant = connection.tenant_id
    customer = xero.create_contact(tenant, Name="Tui Cafe", quiet=True)
    invoice = invoice_in_xero(xero, tenant, customer)
    note = credit_note_in_xero(xero, tenant, customer)  # 46.00, set against nothing yet
    xero.clear_requests()
    poll_all(connection)
    # Not set against an invoice: held with a plain reason, no CRM credit note.
    [waiting] = held()
    assert waiting.xero_id == note["CreditNoteID"]
    assert "not set against any invoice in Xero" in waiting.reason
    assert not CreditNote.objects.exists()
    # Allocated in part in Xero: it comes in, the rest of its credit unused; released.
    allocation = xero.allocate_credit_note(
        tenant, note["CreditNoteID"], invoice["InvoiceID"], "20.00", quiet=True
    )
    poll_all(connection)
    credit = CreditNote.objects.get()
    assert (credit.amount_allocated, credit.unallocated_amount) == (
        Decimal("20.00"),
        Decimal("26.00"),
    )
    assert not held().exists()
    waiting.refresh_from_db()
    assert waiting.resolution == "Stored by a later sync"
    assert crm_invoice(invoice).amount_credited == Decimal("20.00")
    # The rest refunded in Xero.
    refund = xero.refund_credit_note(tenant, note["CreditNoteID"], account_code="090", quiet=True)
    poll_all(connection)
    credit.refresh_from_db()
    assert (credit.refund_amount, credit.unallocated_amount) == (Decimal("26.00"), Decimal("0.00"))
    assert CreditNoteSync.objects.get(credit_note=credit).xero_refund_id == refund["PaymentID"]
    # The allocation removed, the refund removed, then voided in Xero: owed again, withdrawn.
    xero.remove_allocation(tenant, note["CreditNoteID"], allocation["AllocationID"], quiet=True)
    poll_all(connection)
    crm = crm_invoice(invoice)
    assert crm.amount_credited == Decimal("0.00") and crm.status == "sent"
    xero.delete_payment(tenant, refund["PaymentID"], quiet=True)
    xero.void_credit_note(tenant, note["CreditNoteID"], quiet=True)
    poll_all(connection)
    crm = crm_invoice(invoice)
    assert not CreditNote.objects.exists() and not CreditNoteSync.objects.exists()
    [in_xero] = [i for i in xero.invoices(tenant) if i["InvoiceID"] == invoice["InvoiceID"]]
    assert crm.amount_due == money(in_xero["AmountDue"]) == crm.total
    history = list(crm.events.order_by("at", "id").values_list("source", "what"))
    assert ("xero", f"Credit note {note['CreditNoteNumber']} of 46.00 NZD voided") in history
    assert writes(xero) == []


@pytest.mark.django_db
def test_odd_credit_notes_are_held_with_their_reason_and_never_stop_the_others(
    ready, account, xero
):
    connection, _ = ready
    tenant = connection.tenant_id
    customer = xero.create_contact(tenant, Name="Kea Roofing", quiet=True)
    first = invoice_in_xero(xero, tenant, customer)
    second = invoice_in_xero(xero, tenant, customer)
    # Taxed at a rate no CRM tax rate is mapped to; set against two invoices; a fine one.
    unmapped = credit_note_in_xero(
        xero, tenant, customer, line("Zero rated", "1", "10.00", "ZERORATEDOUTPUT")
    )
    split = credit_note_in_xero(xero, tenant, customer)
    fine = credit_note_in_xero(xero, tenant, customer, reference="Fine")
    xero.allocate_credit_note(
        tenant, unmapped["CreditNoteID"], first["InvoiceID"], "10.00", quiet=True
    )
    xero.allocate_credit_note(tenant, split["CreditNoteID"], first["InvoiceID"], "6.00", quiet=True)
    xero.allocate_credit_note(
        tenant, split["CreditNoteID"], second["InvoiceID"], "40.00", quiet=True
    )
    xero.allocate_credit_note(
        tenant, fine["CreditNoteID"], second["InvoiceID"], "46.00", quiet=True
    )
    # A supplier's credit note is not a sales one: not brought in, not held.
    supplier = xero.create_contact(tenant, Name="Roof Supplies", quiet=True)
    credit_note_in_xero(xero, tenant, supplier, line(tax="INPUT2", code="400"), kind="ACCPAYCREDIT")
    xero.clear_requests()
    poll_all(connection)
    reasons = {r.xero_id: r.reason for r in held()}
    assert set(reasons) == {unmapped["CreditNoteID"], split["CreditNoteID"]}
    assert (
        "taxed at Xero's ZERORATEDOUTPUT, which no CRM tax rate is mapped to"
        in reasons[unmapped["CreditNoteID"]]
    )
    assert "more than one invoice" in reasons[split["CreditNoteID"]]
    [brought] = CreditNote.objects.all()
    assert brought.number == fine["CreditNoteNumber"]
    assert crm_invoice(second).amount_credited == Decimal("46.00")
    assert writes(xero) == []


@pytest.mark.django_db
def test_a_held_credit_note_is_listed_with_its_reason_and_retry_brings_it_in(
    ready, account, xero, admin_user, tasks_inline
):
    connection, _ = ready
    tenant = connection.tenant_id
    customer = xero.create_contact(tenant, Name="Huia Builders", quiet=True)
    invoice = invoice_in_xero(xero, tenant, customer)
    note = credit_note_in_xero(xero, tenant, customer)
    poll_all(connection)
    [waiting] = held()
    assert waiting.label == note["CreditNoteNumber"]
    page = client_for(admin_user).get(reverse("xero_sync:failures", args=[account.slug]))
    assert f"Credit note “{note['CreditNoteNumber']}”" in page.content.decode()
    assert "not set against any invoice in Xero" in page.content.decode()
    # Allocated in Xero with webhooks off: a person's Retry fetches it again and brings it in.
    xero.allocate_credit_note(
        tenant, note["CreditNoteID"], invoice["InvoiceID"], "46.00", quiet=True
    )
    xero.clear_requests()
    with tasks_inline():
        quarantine_retry(record=waiting)
    waiting.refresh_from_db()
    assert waiting.resolved_at is not None
    assert CreditNote.objects.get().number == note["CreditNoteNumber"]
    assert crm_invoice(invoice).amount_credited == Decimal("46.00")
    assert writes(xero) == []


@pytest.mark.django_db
def test_a_credit_note_the_crm_pushed_is_known_as_ours_and_never_brought_in_again(
    ready, account, xero, tasks_inline
):
    connection, gst = ready
    invoice = issue(account, gst)  # 146.63 NZD
    with tasks_inline():
        note = credit_note_create(invoice=invoice, reason="Goodwill", amount=Decimal("20.00"))
    twin = CreditNoteSync.objects.get(credit_note=note)
    assert twin.xero_credit_note_id and twin.allocated
    xero.clear_requests()
    XeroConnection.objects.filter(pk=connection.pk).update(credit_notes_synced_until=None)
    poll_all(connection)
    from_xero.credit_note_update_from_xero(
        XeroConnection.objects.get(pk=connection.pk), twin.xero_credit_note_id
    )
    # Its push's answer lost (no Xero id stored yet): known by its number all the same.
    CreditNoteSync.objects.filter(pk=twin.pk).update(xero_credit_note_id="")
    applied = from_xero.credit_notes_apply(
        connection, xero.credit_notes(connection.tenant_id), source="test"
    )
    assert applied.ours == 1 and applied.brought_in == 0
    assert CreditNote.objects.count() == 1 and CreditNote.objects.get().made_in == EventSource.CRM
    invoice.refresh_from_db()
    assert invoice.amount_credited == Decimal("20.00")
    assert not held().exists()
    assert [r["method"] for r in writes(xero)] == []


@pytest.mark.django_db(transaction=True)
def test_a_creditnote_webhook_brings_it_in_within_seconds_through_a_real_worker_with_no_echo(
    ready, account, xero, settings, live_server, celery_worker
):
    connection, _ = ready
    tenant = connection.tenant_id
    xero.webhooks(url=f"{live_server.url}/xero/webhooks/", key=settings.XERO_WEBHOOK_KEY)
    # The invoice and its customer were typed in quietly: neither is in the CRM yet.
    customer = xero.create_contact(tenant, Name="Moana Traders", quiet=True)
    invoice = invoice_in_xero(xero, tenant, customer)
    xero.clear_requests()
    note = credit_note_in_xero(xero, tenant, customer, quiet=False)
    xero.allocate_credit_note(tenant, note["CreditNoteID"], invoice["InvoiceID"], "46.00")
    started = time.monotonic()
    xero.flush_webhooks()
    credit = celery_worker.wait_for(
        lambda: CreditNote.objects.filter(number=note["CreditNoteNumber"]).first(), timeout=30
    )
    assert time.monotonic() - started < 10
    assert credit.made_in == EventSource.XERO and credit.amount_allocated == Decimal("46.00")
    # Its invoice and contact were fetched from Xero on the way.
    crm = crm_invoice(invoice)
    assert crm.made_in == EventSource.XERO and "Moana Traders" in str(crm.contact)
    assert crm.amount_credited == Decimal("46.00")
    events = WebhookEvent.objects.filter(category="CREDITNOTE", resource_id=note["CreditNoteID"])
    sent = [e for e in xero.webhook_events() if e["resourceId"] == note["CreditNoteID"]]
    assert len(sent) == 2  # CREATE, then UPDATE (allocated)
    celery_worker.wait_for(lambda: events.exclude(processed_at=None).count() == len(sent))
    assert {e.outcome for e in events} == {"handled"}
    assert CreditNote.objects.count() == 1
    assert not QuarantinedRecord.objects.filter(resolved_at=None).exists()
    time.sleep(1)  # a push queued by mistake would have gone out by now
    assert writes(xero) == []
