"""Invoices from Xero back to the CRM: payments and status changes made in Xero.

Two ways in, one way of applying: INVOICE webhooks (one invoice fetched per event) and a
periodic poll (every sales invoice Xero changed since the last poll, a page at a time), the
safety net for missed webhooks. For an invoice the CRM sent:
- a payment made in Xero is recorded on the CRM invoice (known as already in Xero);
- a payment deleted in Xero is deleted in the CRM;
- voided (or deleted) in Xero voids the CRM invoice; approved in Xero issues a CRM draft.
Every sales invoice number seen is remembered, so the push's pre-flight knows which numbers
Xero already uses. Nothing applied here is pushed back (xero_sync.context).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from invoices.models import InvoiceStatus, Payment
from invoices.services import invoice_issue, invoice_void, payment_delete, payment_record

from .client import XeroClient
from .context import changes_from_xero
from .inactivity import connection_record_activity
from .models import InvoiceSync, PaymentSync, XeroConnection, XeroInvoiceNumber

log = logging.getLogger(__name__)

POLL_PAGE_SIZE = 100
POLL_OVERLAP = timedelta(minutes=5)  # Xero's clock and ours may differ a little


@dataclass
class Applied:
    payments_added: int = 0
    payments_removed: int = 0
    status_changed: bool = False


def invoice_update_from_xero(connection: XeroConnection, xero_invoice_id: str) -> int:
    """An INVOICE webhook event. Returns how many payments were added (0 for invoices the CRM
    did not send, which cost no API call)."""
    if not InvoiceSync.objects.filter(
        connection=connection, xero_invoice_id=xero_invoice_id
    ).exists():
        return 0  # a bill, or an invoice typed in Xero: the poll keeps its number
    found = (
        XeroClient(connection)
        .call(
            "invoices.get",
            lambda acc, ident, **o: acc.get_invoice(connection.tenant_id, xero_invoice_id, **o),
        )
        .invoices[0]
    )
    return invoice_apply(connection, found).payments_added


def invoices_poll(connection: XeroConnection) -> int:
    """Every sales invoice changed in Xero since the last poll. Returns how many were seen."""
    if not connection.is_usable:
        return 0
    client = XeroClient(connection)
    started = timezone.now()
    since = connection.invoices_synced_until
    seen, page = 0, 1
    while True:
        kwargs = {"page": page, "page_size": POLL_PAGE_SIZE, "where": 'Type=="ACCREC"'}
        if since is not None:
            kwargs["if_modified_since"] = since - POLL_OVERLAP
        found = (
            client.call(
                "invoices.poll",
                lambda acc, ident, kwargs=kwargs, **o: acc.get_invoices(
                    connection.tenant_id, **kwargs, **o
                ),
            ).invoices
            or []
        )
        for invoice in found:
            invoice_apply(connection, invoice)
        seen += len(found)
        if len(found) < POLL_PAGE_SIZE:
            break
        page += 1
    XeroConnection.objects.filter(pk=connection.pk).update(invoices_synced_until=started)
    return seen


def _number_remember(connection: XeroConnection, found) -> None:
    if found.invoice_number:
        XeroInvoiceNumber.objects.update_or_create(
            connection=connection,
            number=found.invoice_number.lower(),
            defaults={"xero_invoice_id": str(found.invoice_id), "status": found.status or ""},
        )


def invoice_apply(connection: XeroConnection, found) -> Applied:
    """Apply one Xero invoice (an SDK Invoice) to the CRM invoice it twins, if any."""
    applied = Applied()
    if getattr(found, "type", "ACCREC") not in ("ACCREC", None):
        return applied
    with transaction.atomic():
        _number_remember(connection, found)
        sync = (
            InvoiceSync.objects.select_for_update()
            .filter(connection=connection, xero_invoice_id=str(found.invoice_id))
            .select_related("invoice")
            .first()
        )
        if sync is None:
            return applied
        sync.xero_status = found.status or sync.xero_status
        sync.save(update_fields=["xero_status"])
        with changes_from_xero():
            _payments_apply(sync, found, applied)
            _status_apply(sync, found, applied)
        if applied.payments_added or applied.payments_removed or applied.status_changed:
            connection_record_activity(connection)
    return applied


def _payments_apply(sync: InvoiceSync, found, applied: Applied) -> None:
    in_xero = {str(p.payment_id): p for p in found.payments or [] if (p.status or "") != "DELETED"}
    records = {r.xero_payment_id: r for r in sync.payments.exclude(xero_payment_id="")}
    # Removed in Xero: remove here too (a payment deleted in the CRM is already gone).
    for xero_id, record in records.items():
        if xero_id in in_xero or record.deleted_in_crm or record.deleted_in_xero:
            continue
        payment = Payment.objects.filter(pk=record.payment_id).first()
        if payment is not None:
            payment_delete(payment=payment)
            applied.payments_removed += 1
        record.deleted_in_crm = record.deleted_in_xero = True
        record.save(update_fields=["deleted_in_crm", "deleted_in_xero"])
    for xero_id, xero_payment in in_xero.items():
        if xero_id in records:
            continue
        sync.invoice.refresh_from_db()
        try:
            payment = payment_record(
                invoice=sync.invoice,
                amount=Decimal(str(xero_payment.amount)),
                date=xero_payment.date or timezone.localdate(),
                reference=f"Paid in Xero ({xero_payment.reference or xero_id})",
            )
        except ValidationError as refused:
            # Xero's books and the CRM disagree (say, a draft in the CRM): shown, not guessed.
            log.warning(
                "payment from Xero not recorded",
                extra={"invoice_id": sync.invoice_id, "reason": "; ".join(refused.messages)},
            )
            continue
        PaymentSync.objects.create(
            invoice_sync=sync, payment_id=payment.pk, xero_payment_id=xero_id
        )
        applied.payments_added += 1


def _status_apply(sync: InvoiceSync, found, applied: Applied) -> None:
    invoice = sync.invoice
    invoice.refresh_from_db()
    status = found.status or ""
    try:
        if status in ("VOIDED", "DELETED") and invoice.status != InvoiceStatus.VOID:
            invoice_void(invoice=invoice)
            applied.status_changed = True
        elif status in ("AUTHORISED", "PAID") and invoice.status == InvoiceStatus.DRAFT:
            invoice_issue(invoice=invoice)
            applied.status_changed = True
    except ValidationError as refused:
        log.warning(
            "status from Xero not applied",
            extra={
                "invoice_id": invoice.pk,
                "status": status,
                "reason": "; ".join(refused.messages),
            },
        )
