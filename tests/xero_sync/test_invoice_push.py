"""Invoices and payments from the CRM to Xero (the sandbox), through the outbox and a real
Celery worker where delivery matters."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from invoices.services import LineInput, invoice_create, invoice_void, payment_record
from xero_sync.invoices import outbox as invoice_outbox
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import client_for, contact_make, tax_rate_make
from ..support.invoices import due_in, in_xero, issue, lines
from .conftest import connect


def wait_synced(celery_worker, invoice):
    return celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=InvoiceSyncState.SYNCED).first()
    )


@pytest.mark.django_db(transaction=True)
def test_an_issued_invoice_appears_in_xero_authorised_with_our_lines_and_totals(
    ready, account, xero, celery_worker, admin_user
):
    connection, gst = ready
    invoice = issue(account, gst)
    sync = wait_synced(celery_worker, invoice)
    detail = client_for(admin_user).get(reverse("invoices:detail", args=[account.slug, invoice.pk]))
    assert "In Xero" in detail.content.decode()
    assert f"InvoiceID={sync.xero_invoice_id}" in detail.content.decode()
    ours = in_xero(xero, connection, invoice)
    assert ours["Type"] == "ACCREC" and ours["Status"] == "AUTHORISED"
    assert ours["InvoiceNumber"] == invoice.number and ours["Reference"] == "Bathroom repair"
    invoice.refresh_from_db()
    assert (
        Decimal(str(ours["SubTotal"])),
        Decimal(str(ours["TotalTax"])),
        Decimal(str(ours["Total"])),
    ) == (invoice.subtotal, invoice.total_tax, invoice.total)
    assert [(li["TaxType"], li["AccountCode"]) for li in ours["LineItems"]] == [
        ("OUTPUT2", "200"),
        ("OUTPUT2", "200"),
    ]
    # The contact had no Xero twin: it was created in Xero first and is now linked.
    assert ours["Contact"]["ContactID"] == invoice.contact.xero_link.xero_contact_id
    assert len(xero.invoices(connection.tenant_id)) == 1


@pytest.mark.django_db(transaction=True)
def test_payments_recorded_in_the_crm_make_the_xero_invoice_partly_then_fully_paid(
    ready, account, xero, celery_worker
):
    connection, gst = ready
    invoice = issue(account, gst)
    wait_synced(celery_worker, invoice)
    payment_record(invoice=invoice, amount=Decimal("50.00"))
    celery_worker.wait_for(
        lambda: (
            Decimal(str((in_xero(xero, connection, invoice) or {}).get("AmountPaid", 0)))
            == Decimal("50.00")
        )
    )
    assert in_xero(xero, connection, invoice)["Status"] == "AUTHORISED"
    invoice.refresh_from_db()
    payment_record(invoice=invoice, amount=invoice.amount_due)
    celery_worker.wait_for(lambda: in_xero(xero, connection, invoice)["Status"] == "PAID")
    payments = xero.state(connection.tenant_id, "payments")["Payments"]
    assert {p["Account"]["AccountID"] for p in payments} == {connection.payment_account_id}
    assert len(payments) == 2


@pytest.mark.django_db
def test_an_unmapped_tax_fails_with_a_link_to_the_fix_and_no_api_call(
    xero, account, admin_user, tasks_inline
):
    connect(xero, account, admin_user)
    mail.outbox.clear()
    unmapped = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, unmapped)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "unmapped_tax"
    assert "GST 15% cannot be used in Xero" in sync.error
    assert sync.fix_url == f"/a/{account.slug}/settings/integrations/xero/taxes/"
    assert xero.requests(path="/api.xro/2.0/*") == []
    # One email to the admins, naming the invoice, the reason and where to fix it.
    (message,) = mail.outbox
    assert message.subject == f"Invoice {invoice.number} was not sent to Xero"
    assert admin_user.email in message.to
    assert "GST 15% cannot be used in Xero" in message.body
    assert f"/a/{account.slug}/settings/integrations/xero/taxes/" in message.body
    # Retrying before fixing fails again the same way: the admins were already told.
    with tasks_inline():
        invoice_outbox.invoice_sync_retry(sync)
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.FAILED and sync.attempts == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_503_is_retried_without_a_duplicate(ready, account, xero, celery_worker):
    connection, gst = ready
    mails_before = len(celery_worker.sent_mail())
    xero.fault("status", method="POST", path="/api.xro/2.0/Invoices", status=503, count=1)
    invoice = issue(account, gst)
    wait_synced(celery_worker, invoice)
    assert len(xero.invoices(connection.tenant_id)) == 1
    assert [r["status"] for r in xero.requests(method="POST", path="/api.xro/2.0/Invoices")] == [
        503,
        200,
    ]
    assert len(celery_worker.sent_mail()) == mails_before  # a retried error emails no one


@pytest.mark.django_db(transaction=True)
def test_written_but_response_lost_never_duplicates(ready, account, xero, celery_worker):
    connection, gst = ready
    xero.fault("lost_response", method="POST", path="/api.xro/2.0/Invoices", count=1)
    invoice = issue(account, gst)
    wait_synced(celery_worker, invoice)
    assert len(xero.invoices(connection.tenant_id)) == 1
    # The retry looked the invoice up by its number before writing again.
    log = [(r["method"], r["path"], r["status"]) for r in xero.requests(path="/api.xro/2.0/*")]
    assert ("GET", "/api.xro/2.0/Invoices", 200) in log, log
    # Only its id, number, status and contact are needed: Xero's lightweight answer.
    (lookup,) = xero.requests(method="GET", path="/api.xro/2.0/Invoices")
    assert lookup["query"]["summaryOnly"].lower() == "true"


@pytest.mark.django_db
def test_void_in_the_crm_voids_in_xero(ready, account, xero, tasks_inline):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    with tasks_inline():
        invoice_void(invoice=invoice)
    assert in_xero(xero, connection, invoice)["Status"] == "VOIDED"


@pytest.mark.django_db
def test_a_draft_edited_after_sync_is_updated_in_place(ready, account, xero, tasks_inline):
    from invoices.services import invoice_update

    connection, gst = ready

    with tasks_inline():
        invoice = invoice_create(
            account=account,
            contact=contact_make(account),
            lines=lines(gst),
            due_date=due_in(14),
        )
    first = in_xero(xero, connection, invoice)
    assert first["Status"] == "DRAFT"
    kept = invoice.lines.order_by("position").first()
    assert kept is not None
    with tasks_inline():
        invoice_update(
            invoice=invoice,
            lines=[
                LineInput(
                    id=kept.pk,
                    description="Call-out (after hours)",
                    quantity=Decimal(1),
                    unit_price=Decimal("180.00"),
                    tax_rate=gst,
                ),
            ],
        )
    after = in_xero(xero, connection, invoice)
    assert after["InvoiceID"] == first["InvoiceID"]
    assert [li["Description"] for li in after["LineItems"]] == ["Call-out (after hours)"]
    assert after["LineItems"][0]["LineItemID"] == first["LineItems"][0]["LineItemID"]
    assert len(xero.invoices(connection.tenant_id)) == 1


@pytest.mark.django_db
def test_a_payment_made_in_xero_pays_the_crm_invoice_without_echo(
    ready, account, xero, tasks_inline
):
    import json

    from xero_sync.webhooks.dispatch import delivery_process
    from xero_sync.webhooks.store import delivery_store

    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    invoice.refresh_from_db()
    xero.clear_requests()
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount=invoice.total)
    events = [e for e in xero.webhook_events() if e["resourceId"] == sync.xero_invoice_id]
    body = json.dumps(
        {"events": events[-1:], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}
    ).encode()
    with tasks_inline():
        delivery_process(delivery_store(body).pk)
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.amount_due == 0
    assert "Paid in Xero" in invoice.payments.get().reference
    # Nothing went back to Xero: no push queued, no payment written, no invoice rewritten.
    assert InvoiceSync.objects.get(pk=sync.pk).version == sync.version
    writes = [r for r in xero.requests() if r["method"] in ("PUT", "POST")]
    assert writes == []
    with tasks_inline():  # the same event again changes nothing
        delivery_process(delivery_store(body).pk)
    assert invoice.payments.count() == 1
