"""Sales invoices made in Xero come into the CRM (poll and webhook), on the right contact, with
their lines, taxes and Xero's totals to the cent; their payments, edits and voids follow;
nothing is echoed back; an odd one is held with its reason and never stops the others."""

import copy
import json
from decimal import Decimal

import pytest

from invoices.models import EventSource, Invoice, InvoiceStatus
from invoices.services import invoice_update, payment_record
from taxes.models import TaxRate
from xero_sync.connection.calls import xero_client_for
from xero_sync.inbound.models import QuarantinedRecord
from xero_sync.invoices import from_xero
from xero_sync.invoices.made_in_xero import invoice_bring_in
from xero_sync.invoices.mapping import invoice_from_xero
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroConnection
from xero_sync.taxes import services as tax_services

from ..factories import tax_rate_make
from ..support.invoices import poll


def writes(xero):
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] in ("PUT", "POST")]


def made_in_xero(xero, tenant_id, contact_name="Moana Traders", *, quiet=True, **fields):
    """A customer and an approved sales invoice typed into Xero (quiet: no webhook)."""
    someone = xero.create_contact(tenant_id, Name=contact_name, quiet=quiet)
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": someone["ContactID"]},
        "Date": "2026-11-02",
        "DueDate": "2026-11-30",
        "Reference": "Roof survey",
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Survey",
                "Quantity": 1,
                "UnitAmount": 333.33,
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            },
            {
                "Description": "Ladder hire",
                "Quantity": 2.5,
                "UnitAmount": 19.99,
                "DiscountRate": 10,
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            },
        ],
        **fields,
    }
    return xero.create_invoice(tenant_id, invoice, quiet=quiet)


def crm_twin(xero_invoice) -> Invoice:
    sync = InvoiceSync.objects.select_related("invoice").get(
        xero_invoice_id=xero_invoice["InvoiceID"]
    )
    sync.invoice.refresh_from_db()
    return sync.invoice


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.mark.django_db
def test_the_poll_brings_in_a_sales_invoice_made_in_xero_as_xero_has_it_and_echoes_nothing(
    ready, account, xero, tasks_inline
):
    connection, gst = ready
    made = made_in_xero(xero, connection.tenant_id)
    xero.clear_requests()
    with tasks_inline():
        poll(connection)
    invoice = crm_twin(made)
    assert invoice.made_in == EventSource.XERO
    assert invoice.number == made["InvoiceNumber"] and invoice.name == "Roof survey"
    assert invoice.contact is not None and "Moana Traders" in str(invoice.contact)
    assert invoice.status == InvoiceStatus.SENT
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (
        money(made["SubTotal"]),
        money(made["TotalTax"]),
        money(made["Total"]),
    )
    lines = list(invoice.lines.order_by("position"))
    assert [(line.description, line.tax_rate_id) for line in lines] == [
        ("Survey", gst.pk),
        ("Ladder hire", gst.pk),
    ]
    assert lines[1].discount_rate == Decimal(10)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED and sync.xero_status == "AUTHORISED"
    assert sorted(sync.xero_line_ids.values()) == sorted(
        line["LineItemID"] for line in made["LineItems"]
    )
    # The contact was fetched from Xero (it was not in the CRM); nothing went back.
    assert writes(xero) == []
    assert [(e.source, e.what) for e in invoice.events.order_by("at", "id")] == [
        ("xero", "Created"),
        ("xero", "Issued"),
    ]
    # Seen again, it changes nothing.
    XeroConnection.objects.filter(pk=connection.pk).update(invoices_synced_until=None)
    with tasks_inline():
        poll(connection)
    assert Invoice.objects.filter(account=account).count() == 1
    assert invoice.events.count() == 2 and writes(xero) == []


@pytest.mark.django_db
def test_payments_edits_and_voids_made_in_xero_follow_without_echo(
    ready, account, xero, tasks_inline
):
    connection, _ = ready
    tenant = connection.tenant_id
    draft = made_in_xero(xero, tenant, Status="DRAFT")
    paid = made_in_xero(xero, tenant, "Tui Cafe")
    with tasks_inline():
        poll(connection)
    assert crm_twin(draft).status == InvoiceStatus.DRAFT
    xero.clear_requests()
    # Edited, then approved in Xero; paid in part; the other voided... all without webhooks.
    lines = [
        {
            "Description": "Survey, revised",
            "Quantity": 2,
            "UnitAmount": 150,
            "TaxType": "OUTPUT2",
            "AccountCode": "200",
        }
    ]
    edited = xero.edit_invoice(tenant, draft["InvoiceID"], quiet=True, LineItems=lines)
    edited = xero.edit_invoice(tenant, draft["InvoiceID"], quiet=True, Status="AUTHORISED")
    xero.pay_invoice(tenant, paid["InvoiceID"], amount=Decimal("100.00"), quiet=True)
    with tasks_inline():
        poll(connection)
    invoice = crm_twin(draft)
    assert [line.description for line in invoice.lines.all()] == ["Survey, revised"]
    assert invoice.total == money(edited["Total"]) and invoice.status == InvoiceStatus.SENT
    assert crm_twin(paid).amount_paid == Decimal("100.00")
    assert crm_twin(paid).status == InvoiceStatus.PARTIALLY_PAID
    xero.edit_invoice(tenant, draft["InvoiceID"], quiet=True, Status="VOIDED")
    with tasks_inline():
        poll(connection)
    assert crm_twin(draft).status == InvoiceStatus.VOID
    assert writes(xero) == []
    assert not InvoiceSync.objects.exclude(state=InvoiceSyncState.SYNCED).exists()


@pytest.mark.django_db
def test_a_staff_edit_in_the_crm_is_pushed_in_place_and_a_payment_there_only_as_a_payment(
    ready, account, xero, tasks_inline
):
    connection, gst = ready
    made = made_in_xero(xero, connection.tenant_id)
    with tasks_inline():
        poll(connection)
    invoice = crm_twin(made)
    xero.clear_requests()
    with tasks_inline():
        invoice_update(invoice=invoice, name="Roof survey and report")
    (write,) = writes(xero)
    sent = json.loads(write["body"])["Invoices"][0]
    assert write["path"] == "/api.xro/2.0/Invoices" and sent["InvoiceID"] == made["InvoiceID"]
    assert {line["LineItemID"] for line in sent["LineItems"]} == {
        line["LineItemID"] for line in made["LineItems"]
    }
    assert len(xero.invoices(connection.tenant_id)) == 1  # updated, not created again
    assert xero.invoices(connection.tenant_id)[0]["Reference"] == "Roof survey and report"
    xero.clear_requests()
    with tasks_inline():
        payment_record(invoice=crm_twin(made), amount=Decimal("50.00"))
    assert [r["path"] for r in writes(xero)] == ["/api.xro/2.0/Payments"]


@pytest.mark.django_db
def test_an_unmapped_tax_holds_the_invoice_until_it_is_mapped_then_retry_brings_it_in(
    ready, account, xero, admin_user, tasks_inline
):
    connection, gst = ready
    made = made_in_xero(
        xero,
        connection.tenant_id,
        LineItems=[
            {
                "Description": "Export",
                "Quantity": 1,
                "UnitAmount": 80,
                "TaxType": "NONE",
                "AccountCode": "200",
            }
        ],
    )
    zero_rated = made_in_xero(
        xero,
        connection.tenant_id,
        "Kea Exports",
        LineItems=[
            {
                "Description": "Freight",
                "Quantity": 1,
                "UnitAmount": 80,
                "TaxType": "ZERORATEDOUTPUT",
                "AccountCode": "200",
            }
        ],
    )
    with tasks_inline():
        poll(connection)
    assert crm_twin(made).total == Decimal("80.00")  # no tax: nothing to map
    assert not InvoiceSync.objects.filter(xero_invoice_id=zero_rated["InvoiceID"]).exists()
    (held,) = QuarantinedRecord.objects.filter(connection=connection, resolved_at=None)
    assert held.xero_id == zero_rated["InvoiceID"]
    assert "taxed at Xero's ZERORATEDOUTPUT, which no CRM tax rate is mapped to" in held.reason
    zero = tax_rate_make(account, "Zero rated", ("Zero", Decimal(0), False))
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=zero, xero_tax_type="ZERORATEDOUTPUT", user=admin_user
    )
    from xero_sync.inbound.refetch import quarantine_refetch

    quarantine_refetch(held.pk)
    invoice = crm_twin(zero_rated)
    assert invoice.lines.get().tax_rate == TaxRate.objects.get(pk=zero.pk)
    held.refresh_from_db()
    assert held.resolved_at is not None


@pytest.mark.django_db
def test_odd_invoices_are_held_with_their_reason_and_never_stop_the_others(
    ready, account, xero, tasks_inline
):
    connection, _ = ready
    made = made_in_xero(xero, connection.tenant_id)
    good = next(
        raw
        for raw in xero_client_for(connection).invoices_page(1, where='Type=="ACCREC"')
        if raw["InvoiceID"] == made["InvoiceID"]
    )

    def odd(n, **changes):
        raw = copy.deepcopy(good)
        raw.update(InvoiceID=f"00000000-0000-0000-0000-00000000000{n}", InvoiceNumber=f"ODD-{n}")
        raw.update(changes)
        return raw

    raws = [
        odd(1, CurrencyCode="€€€"),
        odd(2, Reference="x" * 5000),
        odd(3, Contact={}),
        odd(4, LineItems="lots"),
        odd(5, Total=Decimal("999.99")),
        good,
        odd(
            6, Reference="Nul\x00here", LineItems=[dict(good["LineItems"][0], Description="a\x00b")]
        ),
    ]
    raws[-1]["SubTotal"] = good["LineItems"][0]["LineAmount"]
    raws[-1]["TotalTax"] = good["LineItems"][0]["TaxAmount"]
    raws[-1]["Total"] = money(raws[-1]["SubTotal"]) + money(raws[-1]["TotalTax"])
    with tasks_inline():
        applied = from_xero.invoices_apply(connection, raws, source="test")
    assert applied.brought_in == 2 and applied.held == 5
    reasons = dict(
        QuarantinedRecord.objects.filter(connection=connection).values_list("xero_id", "reason")
    )
    assert "'€€€' is not a currency code" in reasons[raws[0]["InvoiceID"]]
    assert "at most 255 fit" in reasons[raws[1]["InvoiceID"]]
    assert "without a contact" in reasons[raws[2]["InvoiceID"]]
    assert "without lines" in reasons[raws[3]["InvoiceID"]]
    assert "Xero's totals (subtotal" in reasons[raws[4]["InvoiceID"]]
    assert crm_twin(made).number == made["InvoiceNumber"]
    nul = crm_twin(raws[-1])
    assert nul.name == "Nulhere" and nul.lines.get().description == "ab"


@pytest.mark.pure
def test_a_bill_or_a_deleted_draft_is_not_brought_in():
    bill = invoice_from_xero({"InvoiceID": "b", "Type": "ACCPAY", "Status": "AUTHORISED"})
    deleted = invoice_from_xero({"InvoiceID": "d", "Type": "ACCREC", "Status": "DELETED"})
    assert invoice_bring_in(None, bill) is None  # type: ignore[arg-type]
    assert invoice_bring_in(None, deleted) is None  # type: ignore[arg-type]
