"""Invoices and payments from the CRM to Xero.

A change to an invoice (invoices.signals.invoice_changed) marks its InvoiceSync row pending in
the same transaction and queues a push after commit. The push, one invoice at a time under a
row lock:
1. Pre-flight: what would fail in Xero is reported without spending an API call (connection,
   contact name, tax rates mapped and not broken, a tax rate on every taxed line, payment
   account when there are payments).
2. The contact: linked Xero contact, or created in Xero first (and linked).
3. The invoice: created (PUT) or updated in place (POST, existing lines with their LineItemID),
   ACCREC, our number as InvoiceNumber, title as Reference, draft -> DRAFT, sent -> AUTHORISED,
   void -> VOIDED (a DRAFT that was never approved -> DELETED). When an earlier attempt's
   answer was lost, the invoice is first looked up by InvoiceNumber, so a retry never
   duplicates it. Every write carries the row's idempotency key.
4. Payments: each CRM payment not yet in Xero is sent against the chosen payment account;
   a payment deleted in the CRM is deleted in Xero.
Changes that come from Xero are never pushed back (this module only reacts to CRM services).
"""

import hashlib
import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from decimal import Decimal

from django.db import connection as db_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from xero_python.accounting import Account as XAccount
from xero_python.accounting import Contact as XContact
from xero_python.accounting import Contacts as XContacts
from xero_python.accounting import CurrencyCode, LineAmountTypes, LineItem, PaymentDelete
from xero_python.accounting import Invoice as XInvoice
from xero_python.accounting import Invoices as XInvoices
from xero_python.accounting import Payment as XPayment
from xero_python.api_client.serializer import serialize

from invoices.models import Invoice, InvoiceStatus, Payment, TaxMode
from invoices.services import payment_record
from platform_crm.emails import absolute_url, email_account_admins
from platform_crm.queueing import enqueue_on_commit

from .client import XeroClient
from .errors import AuthLost, ValidationFailed
from .models import (
    ConnectionStatus,
    InvoiceSync,
    InvoiceSyncState,
    PaymentSync,
    XeroConnection,
    XeroContact,
)

log = logging.getLogger(__name__)

LINE_AMOUNT_TYPES = {
    TaxMode.EXCLUSIVE: LineAmountTypes.EXCLUSIVE,
    TaxMode.INCLUSIVE: LineAmountTypes.INCLUSIVE,
    TaxMode.NO_TAX: LineAmountTypes.NOTAX,
}


class PreflightFailed(Exception):
    def __init__(self, cause: str, message: str, fix_url: str = ""):
        super().__init__(message)
        self.cause, self.message, self.fix_url = cause, message, fix_url


# --- the outbox ----------------------------------------------------------------------------
def invoice_sync_mark_pending(*, invoice: Invoice, change: str, payment=None) -> None:
    """Called inside the CRM change's transaction: record the work, queue it after commit."""
    if applying_from_xero.get():
        return  # the change came from Xero: never echo it back
    connection = XeroConnection.objects.filter(account_id=invoice.account_id).first()
    if connection is None or not connection.tenant_id:
        return  # no Xero for this account: nothing to keep in step
    sync, created = InvoiceSync.objects.select_for_update().get_or_create(
        invoice=invoice,
        defaults={"connection": connection, "state": InvoiceSyncState.PENDING},
    )
    if change == "payment_deleted" and payment is not None:
        PaymentSync.objects.filter(payment_id=payment.pk).update(deleted_in_crm=True)
    if not created:
        sync.version += 1
    sync.state = InvoiceSyncState.PENDING
    sync.attempts = 0
    sync.next_attempt_at = timezone.now()
    sync.save()
    from .tasks import invoice_push_task

    enqueue_on_commit(invoice_push_task, invoice.pk)


def invoices_due(limit: int = 500) -> list[int]:
    """Pending pushes whose message may have been lost (the beat sweep re-sends them)."""
    stale = timezone.now() - timedelta(seconds=60)
    return list(
        InvoiceSync.objects.filter(
            state=InvoiceSyncState.PENDING, next_attempt_at__lte=stale
        ).values_list("invoice_id", flat=True)[:limit]
    )


# --- pre-flight ----------------------------------------------------------------------------
def _page(name: str, account) -> str:
    return reverse(name, kwargs={"account_slug": account.slug})


def preflight(sync: InvoiceSync) -> None:
    invoice, connection = sync.invoice, sync.connection
    account = invoice.account
    if invoice.contact is None or not invoice.contact.display_name.strip():
        raise PreflightFailed(
            "contact",
            "The invoice's contact has no name; Xero needs one.",
            reverse("invoices:edit", kwargs={"account_slug": account.slug, "pk": invoice.pk}),
        )
    if invoice.tax_mode != TaxMode.NO_TAX:
        for line in invoice.lines.all():
            if line.tax_rate is None:
                raise PreflightFailed(
                    "line_tax",
                    f"The line “{line.description or line.position}” has no tax rate; choose "
                    "one (e.g. a zero rate) so Xero charges the same tax.",
                    reverse(
                        "invoices:edit", kwargs={"account_slug": account.slug, "pk": invoice.pk}
                    ),
                )
            mapping = getattr(line.tax_rate, "xero_mapping", None)
            if mapping is None or mapping.is_broken:
                why = mapping.broken_reason if mapping else "it is not mapped to a Xero tax rate"
                raise PreflightFailed(
                    "unmapped_tax",
                    f"The tax rate {line.tax_rate.name} cannot be used in Xero: {why}. "
                    "Map it, then retry.",
                    _page("xero_sync:tax_mapping", account),
                )
    if invoice.payments.exists() and not connection.payment_account_id:
        raise PreflightFailed(
            "payment_account",
            "No Xero account is chosen for payments.",
            _page("xero_sync:payment_account", account),
        )


# --- pushing -------------------------------------------------------------------------------
def _contact_id(client: XeroClient, connection: XeroConnection, contact) -> str:
    link = XeroContact.objects.filter(connection=connection, contact=contact).first()
    if link is not None:
        return link.xero_contact_id
    fields = {
        "name": contact.company_name or contact.display_name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email_address": contact.email,
    }
    # Absent fields are left out, never sent empty.
    body = XContacts(contacts=[XContact(**{k: v for k, v in fields.items() if v})])
    created = client.call(
        "contacts.create",
        lambda acc, ident, **o: acc.create_contacts(
            connection.tenant_id, body, summarize_errors=False, **o
        ),
        write=True,
        idempotency_key=f"crm-contact-{contact.pk}",
    ).contacts[0]
    if created.has_validation_errors:
        raise ValidationFailed([v.message for v in created.validation_errors or []])
    XeroContact.objects.create(
        connection=connection,
        contact=contact,
        xero_contact_id=str(created.contact_id),
        synced_at=timezone.now(),
    )
    return str(created.contact_id)


def _xero_status(invoice: Invoice, sync: InvoiceSync) -> str:
    if invoice.status == InvoiceStatus.VOID:
        return "VOIDED" if sync.pushed_version and sync.xero_invoice_id else "DELETED"
    return "DRAFT" if invoice.status == InvoiceStatus.DRAFT else "AUTHORISED"


def _invoice_model(invoice: Invoice, sync: InvoiceSync, contact_id: str) -> XInvoice:
    connection = sync.connection
    lines = []
    for line in invoice.lines.all().select_related("tax_rate__xero_mapping"):
        item = LineItem(
            description=line.description or "-",
            quantity=line.quantity,
            unit_amount=line.unit_price,
            discount_rate=line.discount_rate if line.discount_rate else None,
            account_code=connection.sales_account_code,
        )
        if invoice.tax_mode != TaxMode.NO_TAX and line.tax_rate is not None:
            item.tax_type = line.tax_rate.xero_mapping.xero_tax_type
        known = sync.xero_line_ids.get(str(line.pk))
        if known:
            item.line_item_id = known
        lines.append(item)
    return XInvoice(
        type="ACCREC",
        contact=XContact(contact_id=contact_id),
        invoice_number=invoice.number,
        reference=invoice.name or None,
        date=invoice.issue_date,
        due_date=invoice.due_date,
        currency_code=CurrencyCode(invoice.currency),
        line_amount_types=LINE_AMOUNT_TYPES[invoice.tax_mode],
        status=_xero_status(invoice, sync),
        line_items=lines,
    )


def _find_by_number(client: XeroClient, connection, number: str) -> str:
    found = client.call(
        "invoices.find",
        lambda acc, ident, **o: acc.get_invoices(
            connection.tenant_id, invoice_numbers=[number], page=1, **o
        ),
    )
    for candidate in found.invoices or []:
        if candidate.invoice_number == number and candidate.status != "DELETED":
            return str(candidate.invoice_id)
    return ""


def _push_invoice(client: XeroClient, sync: InvoiceSync) -> None:
    invoice, connection = sync.invoice, sync.connection
    if not sync.xero_invoice_id and sync.outcome_unknown:
        sync.xero_invoice_id = _find_by_number(client, connection, invoice.number)
    if not sync.xero_invoice_id and invoice.status == InvoiceStatus.VOID:
        return  # never reached Xero: nothing to void
    contact_id = _contact_id(client, connection, invoice.contact)
    model = _invoice_model(invoice, sync, contact_id)
    fingerprint = hashlib.sha256(
        json.dumps(serialize(model), sort_keys=True, default=str).encode()
    ).hexdigest()
    if sync.xero_invoice_id and fingerprint == sync.pushed_fingerprint:
        return  # Xero already holds exactly this
    body = XInvoices(invoices=[model])
    sync.outcome_unknown = True  # until Xero's answer is in hand
    sync.save(update_fields=["outcome_unknown"])
    if sync.xero_invoice_id:
        result = client.call(
            "invoices.update",
            lambda acc, ident, **o: acc.update_invoice(
                connection.tenant_id, sync.xero_invoice_id, body, unitdp=4, **o
            ),
            write=True,
            idempotency_key=sync.idempotency_key,
        )
    else:
        result = client.call(
            "invoices.create",
            lambda acc, ident, **o: acc.create_invoices(
                connection.tenant_id, body, summarize_errors=False, unitdp=4, **o
            ),
            write=True,
            idempotency_key=sync.idempotency_key,
        )
    answer = result.invoices[0]
    sync.outcome_unknown = False
    if answer.has_errors:
        sync.save(update_fields=["outcome_unknown"])
        raise ValidationFailed([v.message for v in answer.validation_errors or []])
    sync.xero_invoice_id = str(answer.invoice_id)
    lines = list(invoice.lines.order_by("position", "id"))
    sync.xero_line_ids = {
        str(line.pk): str(item.line_item_id)
        for line, item in zip(lines, answer.line_items or [], strict=False)
    }
    sync.pushed_fingerprint = fingerprint
    sync.save(
        update_fields=["xero_invoice_id", "xero_line_ids", "outcome_unknown", "pushed_fingerprint"]
    )


def _push_payments(client: XeroClient, sync: InvoiceSync) -> None:
    connection = sync.connection
    known = {p.payment_id: p for p in sync.payments.all()}
    for payment in Payment.objects.filter(invoice=sync.invoice).order_by("id"):
        record = known.get(payment.pk) or PaymentSync.objects.create(
            invoice_sync=sync, payment_id=payment.pk
        )
        if record.xero_payment_id:
            continue
        body = XPayment(
            invoice=XInvoice(invoice_id=sync.xero_invoice_id),
            account=XAccount(account_id=connection.payment_account_id),
            date=payment.date,
            amount=Decimal(payment.amount),
            reference=payment.reference or f"CRM payment {payment.pk}",
        )
        answer = client.call(
            "payments.create",
            lambda acc, ident, body=body, **o: acc.create_payment(connection.tenant_id, body, **o),
            write=True,
            idempotency_key=record.idempotency_key,
        ).payments[0]
        if answer.has_validation_errors:
            raise ValidationFailed([v.message for v in answer.validation_errors or []])
        record.xero_payment_id = str(answer.payment_id)
        record.save(update_fields=["xero_payment_id"])
    for record in sync.payments.filter(deleted_in_crm=True, deleted_in_xero=False):
        if record.xero_payment_id:
            client.call(
                "payments.delete",
                lambda acc, ident, record=record, **o: acc.delete_payment(
                    connection.tenant_id,
                    record.xero_payment_id,
                    PaymentDelete(status="DELETED"),
                    **o,
                ),
                write=True,
                idempotency_key=record.idempotency_key,
            )
        record.deleted_in_xero = True
        record.save(update_fields=["deleted_in_xero"])


@contextmanager
def _one_push_at_a_time(invoice_id: int):
    """A session-level PostgreSQL advisory lock for the whole push (HTTP included), so two
    workers never push the same invoice at once, while each step still commits on its own
    (a lost answer must be remembered even if the worker then dies)."""
    if db_connection.vendor != "postgresql":
        yield True
        return
    key = f"xero-invoice-push:{invoice_id}"
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def invoice_push(invoice_id: int) -> InvoiceSync | None:
    """Bring Xero in line with the CRM invoice. Typed Xero errors propagate to the task, which
    retries transient ones; permanent ones are recorded here as a failure with plain words."""
    with _one_push_at_a_time(invoice_id) as mine:
        if not mine:
            return None  # another worker is pushing it; it re-queues if there is more to do
        return _invoice_push(invoice_id)


def _invoice_push(invoice_id: int) -> InvoiceSync | None:
    with transaction.atomic():
        sync = (
            InvoiceSync.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invoice__account", "invoice__contact", "connection")
            .filter(invoice_id=invoice_id)
            .first()
        )
        if sync is None or sync.state not in (InvoiceSyncState.PENDING, InvoiceSyncState.WAITING):
            return sync  # done already, failed (awaiting a fix) or being pushed elsewhere
        if sync.connection.status != ConnectionStatus.CONNECTED:
            sync.state = InvoiceSyncState.WAITING
            sync.save(update_fields=["state"])
            return sync
        version = sync.version
        sync.attempts += 1
        sync.save(update_fields=["attempts"])
    try:
        preflight(sync)
        client = XeroClient(sync.connection)
        # Payments must be removed before an invoice can be voided in Xero.
        if sync.invoice.status == InvoiceStatus.VOID:
            _push_payments(client, sync)
            _push_invoice(client, sync)
        else:
            _push_invoice(client, sync)
            _push_payments(client, sync)
    except PreflightFailed as failed:
        return _fail(sync, failed.cause, failed.message, failed.fix_url)
    except ValidationFailed as refused:
        return _fail(sync, "validation", "Xero refused the invoice: " + refused.message, "")
    except AuthLost:
        InvoiceSync.objects.filter(pk=sync.pk).update(state=InvoiceSyncState.WAITING)
        raise
    except (ValueError, TypeError) as bug:
        # Not Xero's doing and not the staff's: visible as a failure, logged for us.
        log.exception("invoice push failed unexpectedly", extra={"invoice_id": sync.invoice_id})
        return _fail(sync, "internal", f"Could not prepare the invoice for Xero ({bug}).", "")
    with transaction.atomic():
        current = InvoiceSync.objects.select_for_update().get(pk=sync.pk)
        current.pushed_version = version
        current.synced_at = timezone.now()
        current.error = current.error_cause = current.fix_url = ""
        # A change made while we pushed leaves the row pending and queues the next push.
        if current.version == version:
            current.state = InvoiceSyncState.SYNCED
        else:
            from .tasks import invoice_push_task

            current.state = InvoiceSyncState.PENDING
            enqueue_on_commit(invoice_push_task, current.invoice_id)
        current.save()
    return current


def _fail(sync: InvoiceSync, cause: str, message: str, fix_url: str) -> InvoiceSync:
    """Record a failure that needs a person, and tell the account's admins once: the row only
    turns failed from another state once per failure (transient retries never get here)."""
    with transaction.atomic():
        turned = (
            InvoiceSync.objects.filter(pk=sync.pk)
            .exclude(state=InvoiceSyncState.FAILED)
            .update(
                state=InvoiceSyncState.FAILED, error_cause=cause, error=message, fix_url=fix_url
            )
        )
        sync.refresh_from_db()
        if turned:
            _email_failure(sync)
    log.info(
        "invoice sync failed",
        extra={"invoice_id": sync.invoice_id, "connection_id": sync.connection_id, "cause": cause},
    )
    return sync


def _email_failure(sync: InvoiceSync) -> None:
    invoice = sync.invoice
    account = invoice.account
    page = absolute_url(
        reverse("invoices:detail", kwargs={"account_slug": account.slug, "pk": invoice.pk})
    )
    fix = f"\nTo fix it: {absolute_url(sync.fix_url)}\n" if sync.fix_url else ""
    email_account_admins(
        account=account,
        subject=f"Invoice {invoice.number} was not sent to Xero",
        body=(
            f"Invoice {invoice.number} ({invoice.name or 'no title'}) for "
            f"{invoice.contact.display_name if invoice.contact else 'no contact'} could not be "
            f"sent to Xero.\n\nWhat went wrong: {sync.error}\n{fix}\n"
            f"Once fixed, press Retry on the invoice: {page}\n"
        ),
    )


def invoice_sync_retry(sync: InvoiceSync) -> None:
    """Retry after a fix: the row goes back to pending and is queued."""
    from .tasks import invoice_push_task

    InvoiceSync.objects.filter(pk=sync.pk).update(
        state=InvoiceSyncState.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    enqueue_on_commit(invoice_push_task, sync.invoice_id)


# --- from Xero back to the CRM ---------------------------------------------------------------
# Set while a change that came from Xero is applied: the CRM services still send their signal,
# and the receiver must not queue a push of Xero's own change back to Xero.
applying_from_xero: ContextVar[bool] = ContextVar("applying_from_xero", default=False)


def invoice_update_from_xero(connection: XeroConnection, xero_invoice_id: str) -> int:
    """An INVOICE event: payments made in Xero against one of our invoices are recorded in the
    CRM (and known as already in Xero). Returns how many payments were added."""
    sync = (
        InvoiceSync.objects.filter(connection=connection, xero_invoice_id=xero_invoice_id)
        .select_related("invoice")
        .first()
    )
    if sync is None:
        return 0  # not an invoice the CRM sent (e.g. a bill): nothing to bring back
    found = (
        XeroClient(connection)
        .call(
            "invoices.get",
            lambda acc, ident, **o: acc.get_invoice(connection.tenant_id, xero_invoice_id, **o),
        )
        .invoices[0]
    )
    known = set(sync.payments.exclude(xero_payment_id="").values_list("xero_payment_id", flat=True))
    added = 0
    token = applying_from_xero.set(True)
    try:
        for xero_payment in found.payments or []:
            payment_id = str(xero_payment.payment_id)
            if payment_id in known:
                continue
            with transaction.atomic():
                payment = payment_record(
                    invoice=sync.invoice,
                    amount=Decimal(str(xero_payment.amount)),
                    date=xero_payment.date or timezone.localdate(),
                    reference=f"Paid in Xero ({xero_payment.reference or payment_id})",
                )
                PaymentSync.objects.create(
                    invoice_sync=sync, payment_id=payment.pk, xero_payment_id=payment_id
                )
            added += 1
    finally:
        applying_from_xero.reset(token)
    return added
