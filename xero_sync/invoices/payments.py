"""Payments: those removed in the CRM are removed in Xero first (Xero voids only invoices
without payments); those not yet in Xero go against the chosen payment account, last."""

import datetime
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from django.db.models import Model

from invoices.history import invoice_event_record
from invoices.models import EventSource, InvoiceStatus, Payment

from ..client import XeroClient, element_messages
from ..client.errors import NotFound, RateLimited, ValidationFailed, XeroError
from ..client.invoices import payment_request_digest
from ..inbound import normalise
from ..organisation.services import lock_date_in_force
from .keys import digest
from .mapping import payment_body
from .models import InvoiceSync, PaymentSync
from .refusals import (
    RowFailed,
    is_definite,
    is_lock_date_refusal,
    lock_read_again,
    lock_words,
    page_url,
)
from .rows import Row


def payments_delete(client: XeroClient, row: Row) -> None:
    for record in row.sync.payments.filter(deleted_in_crm=True, deleted_in_xero=False):
        if record.xero_payment_id:
            key = f"crm-payment-{record.payment_id}-delete-r{row.sync.retries}"
            with suppress(NotFound):  # already gone from Xero: done
                client.payment_delete(record.xero_payment_id, idempotency_key=key)
            row.moved = True
        record.deleted_in_xero = True
        record.save(update_fields=["deleted_in_xero"])


def payments_create(client: XeroClient, row: Row) -> None:
    sync, connection = row.sync, row.sync.connection
    if not sync.xero_invoice_id or sync.invoice.status in (InvoiceStatus.VOID, InvoiceStatus.DRAFT):
        return
    known = {p.payment_id: p for p in sync.payments.all()}
    for payment in Payment.objects.filter(invoice=sync.invoice).order_by("id"):
        record = known.get(payment.pk) or PaymentSync.objects.create(
            invoice_sync=sync, payment_id=payment.pk
        )
        if record.xero_payment_id:
            continue
        lock = lock_date_in_force(row.organisation) if row.organisation else None
        if lock is not None and payment.date <= lock[0]:
            raise RowFailed(*payment_locked(sync, payment, lock))
        body = payment_body(
            payment, xero_invoice_id=sync.xero_invoice_id, account_id=connection.payment_account_id
        )
        # A retry after a lost answer repeats the lost request's key; otherwise the key is the
        # body's, with the person's retries in it.
        key = record.pending_key or (
            f"crm-payment-{payment.pk}-"
            + digest([payment_request_digest(body), f"r{sync.retries}"])[:40]
        )
        try:
            answer = keyed_send(record, "pending_key", key, partial(client.payment_create, body))
            payment_id = payment_answered(
                record,
                "pending_key",
                answer,
                f"Xero refused payment {payment.reference or payment.pk}",
            )
        except ValidationFailed as refused:
            if not is_lock_date_refusal(refused.messages):
                raise
            raise RowFailed(*payment_locked(sync, payment, lock_read_again(sync))) from refused
        record.xero_payment_id = payment_id
        record.save(update_fields=["xero_payment_id", "pending_key"])
        row.moved = True
        invoice_event_record(
            sync.invoice,
            f"Payment of {payment.amount} {sync.invoice.currency} sent to Xero",
            source=EventSource.SYNC,
        )


def payment_locked(
    sync: InvoiceSync, payment: Payment, lock: tuple[datetime.date, str] | None
) -> tuple[str, str, str]:
    """A payment dated on or before the organisation's lock date: the cause, the plain words
    and the fix (the invoice's page, where the payment is deleted and recorded again)."""
    invoice = sync.invoice
    what = f"The payment of {payment.amount} {invoice.currency} on invoice {invoice.number}"
    dated = f"{what} is dated {payment.date:%-d %b %Y}"
    where, after = lock_words(lock)
    message = (
        f"{dated}, {where}, so Xero will not take it. Delete the payment and record it again "
        f"dated {after}, or ask your accountant to move the lock date in Xero, then press Retry."
    )
    return "lock_date", message, page_url("invoices:detail", invoice.account, pk=invoice.pk)


def keyed_send(record: Model, field: str, key: str, send: Callable[..., Any]) -> Any:
    """Send a write under `key`, stored on record.<field> first: a retry after a lost answer
    is the same request. Answered (or never sent), the key is cleared: in memory when answered,
    for the caller to save with what the answer made."""
    if getattr(record, field) != key:
        setattr(record, field, key)
        record.save(update_fields=[field])
    try:
        answer = send(idempotency_key=key)
    except XeroError as error:
        never_sent = isinstance(error, RateLimited) or not getattr(error, "outcome_unknown", True)
        if is_definite(error) or never_sent:
            setattr(record, field, "")
            record.save(update_fields=[field])
        raise
    setattr(record, field, "")
    return answer


def payment_answered(record: Model, field: str, answer: object, refused: str) -> str:
    """The PaymentID of a payment (or refund) Xero took; else ValidationFailed in words."""
    answer = answer if isinstance(answer, dict) else {}
    messages = element_messages(answer)
    payment_id = normalise.text(answer.get("PaymentID"))[:64]
    if messages or not payment_id or normalise.flag(answer.get("HasValidationErrors")):
        record.save(update_fields=[field])
        raise ValidationFailed([f"{refused}: " + ("; ".join(messages) or "no reason given")])
    return payment_id
