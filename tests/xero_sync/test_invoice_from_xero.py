"""What happens to our invoices in Xero comes back to the CRM (the poll, the safety net under
webhooks), is never echoed, and what Xero cannot change is explained, with Void and reissue."""

from decimal import Decimal

import pytest
from django.urls import reverse
from xero_python.accounting import PaymentDelete

from invoices.models import InvoiceStatus
from invoices.services import (
    LineInput,
    invoice_create,
    invoice_issue,
    invoice_reissue,
    invoice_update,
    payment_record,
)
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroInvoiceNumber

from ..factories import client_for, contact_make
from ..support.invoices import due_in, in_xero, issue, lines, poll, typed_in_xero


def writes(xero):
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] in ("PUT", "POST")]


@pytest.mark.django_db
def test_the_poll_brings_back_a_payment_and_a_void_made_in_xero_without_echo(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        paid = issue(account, gst)
        voided = issue(account, gst, contact_make(account, first_name="Vo", last_name="Ided"))
    paid_sync = InvoiceSync.objects.get(invoice=paid)
    void_sync = InvoiceSync.objects.get(invoice=voided)
    paid.refresh_from_db()
    # No webhooks reach us (none configured): only the poll can notice.
    xero.pay_invoice(connection.tenant_id, paid_sync.xero_invoice_id, amount=Decimal("40.00"))
    xero.control(
        "POST",
        f"/orgs/{connection.tenant_id}/invoices/{void_sync.xero_invoice_id}",
        {"Status": "VOIDED"},
    )
    xero.clear_requests()
    with tasks_inline():
        assert poll(connection) >= 2
    paid.refresh_from_db()
    voided.refresh_from_db()
    assert paid.status == InvoiceStatus.PARTIALLY_PAID and paid.amount_paid == Decimal("40.00")
    assert voided.status == InvoiceStatus.VOID
    assert writes(xero) == []  # nothing went back
    assert InvoiceSync.objects.get(pk=paid_sync.pk).version == paid_sync.version
    # The history says what happened where.
    history = [(e.source, e.what) for e in paid.events.order_by("at", "id")]
    assert history == [
        ("crm", "Created"),
        ("crm", "Issued"),
        ("sync", "Created in Xero as AUTHORISED"),
        ("xero", f"Payment of 40.00 {paid.currency} recorded"),
    ]
    # The next poll asks only for what changed since, and changes nothing twice.
    xero.clear_requests()
    with tasks_inline():
        poll(connection)
    (request,) = xero.requests(path="/api.xro/2.0/Invoices")
    assert "if-modified-since" in request["headers"]
    assert paid.payments.count() == 1


@pytest.mark.django_db
def test_a_payment_deleted_in_xero_is_removed_in_the_crm(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
        payment_record(invoice=invoice, amount=Decimal("25.00"))
    sync = InvoiceSync.objects.get(invoice=invoice)
    (record,) = sync.payments.all()
    sdk = xero.sdk(connection.tenant_id)
    sdk.accounting.delete_payment(
        connection.tenant_id, record.xero_payment_id, PaymentDelete(status="DELETED")
    )
    with tasks_inline():
        poll(connection)
    invoice.refresh_from_db()
    assert invoice.payments.count() == 0 and invoice.status == InvoiceStatus.SENT
    record.refresh_from_db()
    assert record.deleted_in_xero and record.deleted_in_crm


@pytest.mark.django_db
def test_a_number_xero_already_uses_is_refused_before_any_call(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    # Numbered while Xero did not yet use the number (a draft written before the connection)...
    draft = invoice_create(
        account=account,
        contact=contact_make(account),
        lines=lines(gst),
        due_date=due_in(22),
    )
    assert draft.number == "INV-0001"
    InvoiceSync.objects.filter(invoice=draft).delete()
    # ... which someone then typed in Xero, and the poll saw.
    typed_in_xero(xero, connection.tenant_id, "INV-0001")
    poll(connection)
    assert XeroInvoiceNumber.objects.filter(connection=connection, number="inv-0001").exists()
    xero.clear_requests()
    with tasks_inline():
        invoice_issue(invoice=draft)
    sync = InvoiceSync.objects.get(invoice=draft)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "number_taken"
    assert "Xero already has another invoice numbered INV-0001" in sync.error
    assert writes(xero) == []


@pytest.mark.django_db
def test_an_edit_xero_cannot_take_is_explained_and_void_and_reissue_moves_the_payment(
    ready,
    account,
    xero,
    admin_user,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount=Decimal("30.00"))
    with tasks_inline():
        poll(connection)
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("30.00")
    # Staff change a line: the CRM takes it, Xero would refuse it (a payment is applied).
    xero.clear_requests()
    first = invoice.lines.order_by("position").first()
    with tasks_inline():
        invoice_update(
            invoice=invoice,
            lines=[
                LineInput(
                    id=first.pk,
                    description="Call-out (weekend)",
                    quantity=Decimal(1),
                    unit_price=Decimal("150.00"),
                    tax_rate=gst,
                )
            ],
        )
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "xero_locked"
    assert writes(xero) == []  # told before spending a call
    page = client_for(admin_user).get(reverse("invoices:detail", args=[account.slug, invoice.pk]))
    assert "Void and reissue" in page.content.decode()
    assert "it has a payment applied in Xero" in page.content.decode()
    # Void and reissue: the old one is VOIDED in Xero (its payment removed first), the copy
    # carries the change and the payment.
    with tasks_inline():
        copy = invoice_reissue(invoice=invoice, by=admin_user)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    assert in_xero(xero, connection, invoice)["Status"] == "VOIDED"
    new = in_xero(xero, connection, copy)
    copy.refresh_from_db()
    assert new["InvoiceNumber"] == copy.number != invoice.number
    assert [li["Description"] for li in new["LineItems"]] == ["Call-out (weekend)"]
    assert Decimal(str(new["AmountPaid"])) == Decimal("30.00") == copy.amount_paid
    assert Decimal(str(new["Total"])) == copy.total


@pytest.mark.django_db
def test_the_edit_page_warns_before_an_edit_xero_would_refuse(
    ready,
    account,
    xero,
    admin_user,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    edit = reverse("invoices:edit", args=[account.slug, invoice.pk])
    client = client_for(admin_user)
    assert 'id="xero-locked-warning"' not in client.get(edit).content.decode()
    with tasks_inline():
        payment_record(invoice=invoice, amount=Decimal("10.00"))
    assert 'id="xero-locked-warning"' in client.get(edit).content.decode()
