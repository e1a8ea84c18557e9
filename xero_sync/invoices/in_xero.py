"""What Xero holds of an invoice beyond its fields: the exchange rate it used, the online link a
customer can open (read when a person asks for it), and Xero's own email of the invoice (each
press one request, sent by the worker, its outcome in the invoice's history)."""

from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from invoices.history import invoice_event_record
from invoices.models import EventSource
from platform_crm.queueing import enqueue_on_commit

from ..client.errors import XeroError
from ..connection.calls import xero_client_for
from .models import InvoiceSync
from .refusals import is_definite

# Xero's statuses of an approved sales invoice: it has an online link and can be emailed.
APPROVED = ("AUTHORISED", "PAID")
EMAIL_TASK = "xero_sync.tasks.invoice_email_task"


def invoice_seen_in_xero(sync: InvoiceSync, currency_rate: Decimal | None) -> None:
    """Xero's latest word on the invoice (a push's answer, the poll): keep its rate."""
    if currency_rate is not None and currency_rate != sync.xero_currency_rate:
        sync.xero_currency_rate = currency_rate
        InvoiceSync.objects.filter(pk=sync.pk).update(xero_currency_rate=currency_rate)


def invoice_online_link_read(sync: InvoiceSync) -> str:
    """GET /Invoices/{id}/OnlineInvoice once, when a person asks for the link (one call per
    invoice read on demand, not one per approved invoice out of Xero's 60 a minute), and keep
    it. Raises ValidationError before any call when Xero cannot have one; XeroError when Xero
    cannot be read or refuses."""
    if sync.online_invoice_url:
        return sync.online_invoice_url
    if sync.xero_status not in APPROVED or not sync.xero_invoice_id:
        raise ValidationError("Xero has an online link only for invoices approved there.")
    if not sync.connection.is_usable:
        raise ValidationError("Xero is not connected; reconnect it first.")
    url = xero_client_for(sync.connection).online_invoice_url(sync.xero_invoice_id)
    if url:
        sync.online_invoice_url = url
        InvoiceSync.objects.filter(pk=sync.pk).update(online_invoice_url=url)
    return url


def invoice_email_request(*, sync: InvoiceSync, user: User | None) -> None:
    """ "Email from Xero": Xero sends its own email of the approved invoice to the contact.
    One press is one email; pressing again while one is being sent does nothing more."""
    with transaction.atomic():
        current = InvoiceSync.objects.select_for_update().get(pk=sync.pk)
        if current.xero_status not in APPROVED or not current.xero_invoice_id:
            raise ValidationError("Xero emails an invoice only once it is approved there.")
        if not current.connection.is_usable:
            raise ValidationError("Xero is not connected; reconnect it first.")
        if current.email_state == "sending":
            return
        current.emails_requested += 1
        current.email_state, current.email_error = "sending", ""
        current.save(update_fields=["emails_requested", "email_state", "email_error"])
        invoice_event_record(current.invoice, "Asked Xero to email the invoice")
        enqueue_on_commit(EMAIL_TASK, current.pk)


def invoice_email_send(sync_id: int) -> None:
    """The worker's half: POST /Invoices/{id}/Email under this press's own key (a retry of
    the same press is the same request: Xero sends one email). A refusal is recorded in the
    history; waits and lost answers raise for the task to retry."""
    sync = InvoiceSync.objects.select_related("connection", "invoice").get(pk=sync_id)
    if sync.email_state != "sending":
        return
    key = f"crm-invoice-email-{sync.pk}-{sync.emails_requested}"
    try:
        xero_client_for(sync.connection).invoice_email(sync.xero_invoice_id, idempotency_key=key)
    except XeroError as error:
        if not is_definite(error):
            raise
        invoice_email_failed(sync_id, error.message)
        return
    InvoiceSync.objects.filter(pk=sync.pk).update(email_state="sent", email_error="")
    invoice_event_record(sync.invoice, "Emailed to the contact by Xero", source=EventSource.SYNC)


def invoice_email_failed(sync_id: int, reason: str) -> None:
    sync = InvoiceSync.objects.select_related("invoice").get(pk=sync_id)
    InvoiceSync.objects.filter(pk=sync.pk).update(email_state="failed", email_error=reason)
    invoice_event_record(
        sync.invoice, f"Xero did not email the invoice: {reason}", source=EventSource.SYNC
    )
