"""Invoices and payments from the CRM to Xero.

A change to an invoice (invoices.signals.invoice_changed) marks its InvoiceSync row pending in
the same transaction (the outbox) and, after commit, queues one drain of the organisation's
outbox. A drain holds the organisation's push lock (a PostgreSQL advisory lock, freed if the
worker dies) and takes due rows up to 50 at a time:
1. Pre-flight: what would fail in Xero is reported without spending an API call (contact name,
   tax rates mapped and not broken, a tax rate on every taxed line, payment account when there
   are payments, a number Xero already holds for another invoice, an edit Xero would refuse).
2. Rows whose earlier write lost its answer are looked up by InvoiceNumber (one call for the
   batch), so a retry never duplicates an invoice.
3. Payments removed in the CRM are removed in Xero (Xero voids only invoices without payments).
4. Contacts not yet in Xero are created (one call for the batch) and linked.
5. The invoices: one POST /Invoices?summarizeErrors=false for the batch (creates and in-place
   updates, existing lines with their LineItemID), each element's answer handled on its own.
   ACCREC, our number as InvoiceNumber, title as Reference; draft -> DRAFT, sent -> AUTHORISED,
   void -> VOIDED (DELETED for a draft). A row whose invoice Xero already holds unchanged costs
   nothing.
6. Payments not yet in Xero go against the chosen payment account.
Waits for Xero's limits stay in the database (next_attempt_at), never as long countdowns; a beat
sweep re-queues due rows whose message was lost. Changes that come from Xero
(xero_sync.invoice_from_xero) are never pushed back.
"""

import hashlib
import json
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import F, Min, Q
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from xero_python.accounting import Account as XAccount
from xero_python.accounting import Contact as XContact
from xero_python.accounting import Contacts as XContacts
from xero_python.accounting import CurrencyCode, LineAmountTypes, LineItem
from xero_python.accounting import Invoice as XInvoice
from xero_python.accounting import Invoices as XInvoices
from xero_python.accounting import Payment as XPayment
from xero_python.api_client.serializer import serialize

from invoices.history import invoice_event_record
from invoices.models import EventSource, Invoice, InvoiceEvent, InvoiceStatus, Payment, TaxMode
from platform_crm.advisory_locks import advisory_lock
from platform_crm.queueing import enqueue

from .client import XeroClient, element_messages, request_body
from .client.errors import (
    OUTAGES,
    AuthLost,
    BadAnswer,
    NotFound,
    RateLimited,
    Transient,
    ValidationFailed,
    XeroError,
)
from .client.limits import redis_client
from .connection.activity import connection_record_activity
from .connection.calls import xero_client_for
from .context import applying_from_xero
from .inbound import normalise
from .invoice_mapping import invoice_from_xero
from .invoice_numbers import number_taken_remember
from .models import (
    ConnectionStatus,
    InvoiceSync,
    InvoiceSyncState,
    PaymentSync,
    XeroConnection,
    XeroContact,
    XeroInvoiceNumber,
)
from .ops.failure_mail import failure_key, failure_notify
from .selectors import earlier_invoices

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Xero: "batch about 50 elements per request"
# After this many transient failures in a row (about an hour of backoff) a person is told.
MAX_TRANSIENT_ATTEMPTS = 12
# Rows whose queued drain may have been lost are re-queued by the sweep after this long.
SWEEP_GRACE = timedelta(seconds=30)
# While a drain is queued and not yet started, further changes need not queue another.
QUEUED_FLAG_SECONDS = 60

LINE_AMOUNT_TYPES = {
    TaxMode.EXCLUSIVE: LineAmountTypes.EXCLUSIVE,
    TaxMode.INCLUSIVE: LineAmountTypes.INCLUSIVE,
    TaxMode.NO_TAX: LineAmountTypes.NOTAX,
}
# Xero's words for "this invoice has a payment, it cannot change" and "number taken".
XERO_LOCKED_HINTS = ("payment or credit note allocated", "cannot be edited")
NUMBER_TAKEN_HINTS = ("must be unique",)


class PreflightFailed(Exception):
    def __init__(self, cause: str, message: str, fix_url: str = ""):
        super().__init__(message)
        self.cause, self.message, self.fix_url = cause, message, fix_url


class RowFailed(Exception):
    """One row of a batch cannot go on; the others can."""

    def __init__(self, cause: str, message: str, fix_url: str = ""):
        super().__init__(message)
        self.cause, self.message, self.fix_url = cause, message, fix_url


# --- the outbox ----------------------------------------------------------------------------
def invoice_sync_mark_pending(*, invoice: Invoice, change: str, payment=None) -> None:
    """Called inside the CRM change's transaction: record the work, queue a drain after commit."""
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
    transaction.on_commit(partial(push_queue, connection.pk))


def push_queue(connection_id: int) -> None:
    """Queue a drain of the organisation's outbox, unless one is queued and not yet started
    (a burst of a thousand changes queues one task, not a thousand)."""
    try:
        if redis_client().set(_queued_flag(connection_id), 1, nx=True, ex=QUEUED_FLAG_SECONDS):
            enqueue("xero_sync.tasks.invoices_push_task", connection_id)
    except (RedisError, KombuOperationalError):
        # The change is committed in the outbox: the beat sweep queues its drain once Redis is
        # back. Raising here would fail a save that succeeded (a 500 for a saved invoice).
        log.warning(
            "invoice drain not queued: Redis unavailable",
            exc_info=True,
            extra={"connection_id": connection_id},
        )


def _queued_flag(connection_id: int) -> str:
    return f"xero:invoices-push-queued:{connection_id}"


def _due(connection_id: int | None = None, *, grace: timedelta = timedelta(0)):
    rows = InvoiceSync.objects.filter(state=InvoiceSyncState.PENDING).filter(
        Q(next_attempt_at__lte=timezone.now() - grace) | Q(next_attempt_at=None)
    )
    return rows if connection_id is None else rows.filter(connection_id=connection_id)


def connections_due() -> list[int]:
    """Organisations with pending work whose drain may have been lost (the beat sweep)."""
    return list(
        _due(grace=SWEEP_GRACE).values_list("connection_id", flat=True).distinct().order_by()
    )


def invoices_resume_waiting(connection: XeroConnection) -> int:
    """After a reconnect: invoices that waited for it go."""
    resumed = InvoiceSync.objects.filter(
        connection=connection, state=InvoiceSyncState.WAITING
    ).update(state=InvoiceSyncState.PENDING, next_attempt_at=timezone.now())
    if resumed:
        transaction.on_commit(partial(push_queue, connection.pk))
    return resumed


def invoices_send_earlier(*, connection: XeroConnection, since) -> int:
    """Queue the invoices written before the connection (dated from `since`) for Xero, each as
    if it had just changed; returns how many. Sending twice queues nothing twice."""
    with transaction.atomic():
        # One send at a time per organisation (a double click sends once).
        XeroConnection.objects.select_for_update().filter(pk=connection.pk).values_list("pk").get()
        ids = list(earlier_invoices(connection.account, since=since).values_list("pk", flat=True))
        now = timezone.now()
        InvoiceSync.objects.bulk_create(
            [
                InvoiceSync(
                    connection=connection,
                    invoice_id=pk,
                    state=InvoiceSyncState.PENDING,
                    next_attempt_at=now,
                )
                for pk in ids
            ],
            ignore_conflicts=True,
        )
        InvoiceEvent.objects.bulk_create(
            InvoiceEvent(
                invoice_id=pk,
                source=EventSource.SYNC,
                what="Sent to Xero with the invoices written before the connection",
            )
            for pk in ids
        )
        if ids:
            transaction.on_commit(partial(push_queue, connection.pk))
    return len(ids)


def invoice_sync_retry(sync: InvoiceSync) -> None:
    """Retry after a fix: the row goes back to pending and is queued."""
    InvoiceSync.objects.filter(pk=sync.pk).update(
        state=InvoiceSyncState.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        retries=F("retries") + 1,
    )
    transaction.on_commit(partial(push_queue, sync.connection_id))


def lock_invoice_then_sync(sync: InvoiceSync) -> None:
    """Row locks in the order the invoices app takes them (the invoice, then its sync row, as a
    payment or an issue does through invoice_sync_mark_pending): a drain or a change from Xero
    that locked the sync row first would deadlock against staff saving the invoice."""
    Invoice.objects.select_for_update().filter(pk=sync.invoice_id).values_list("pk").get()
    InvoiceSync.objects.select_for_update().filter(pk=sync.pk).values_list("pk").get()


# --- pre-flight ----------------------------------------------------------------------------
def _page(name: str, account, **kwargs) -> str:
    return reverse(name, kwargs={"account_slug": account.slug, **kwargs})


def preflight(sync: InvoiceSync) -> None:
    invoice, connection = sync.invoice, sync.connection
    account = invoice.account
    edit_page = _page("invoices:edit", account, pk=invoice.pk)
    if invoice.contact is None or not invoice.contact.display_name.strip():
        raise PreflightFailed(
            "contact", "The invoice's contact has no name; Xero needs one.", edit_page
        )
    if invoice.tax_mode != TaxMode.NO_TAX:
        for line in invoice.lines.all():
            if line.tax_rate is None:
                raise PreflightFailed(
                    "line_tax",
                    f"The line “{line.description or line.position}” has no tax rate; choose "
                    "one (e.g. a zero rate) so Xero charges the same tax.",
                    edit_page,
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
    if not sync.xero_invoice_id and not sync.outcome_unknown:
        taken = XeroInvoiceNumber.objects.filter(
            connection=connection, number=invoice.number.lower()
        ).first()
        if taken is not None:
            raise PreflightFailed(
                "number_taken",
                _number_taken_message(invoice.number),
                edit_page,
            )


# --- one batch ---------------------------------------------------------------------------------
@dataclass
class Row:
    """One claimed outbox row and what this drain learnt about it."""

    sync: InvoiceSync
    version: int
    failed: RowFailed | None = None
    model: XInvoice | None = None
    fingerprint: str = ""
    done: bool = False  # through every step: nothing left to send for it
    reached: bool = True  # False: an earlier row's call was interrupted before its turn
    moved: bool = False  # an invoice or payment of it was written to Xero (activity)
    # Refused only because a sibling in its request was at fault: goes again next round.
    deferred: bool = False

    @property
    def live(self) -> bool:
        return self.failed is None and not self.deferred


def _claim(connection: XeroConnection) -> list[Row]:
    with transaction.atomic():
        syncs = list(
            _due(connection.pk)
            .select_related("invoice__account", "invoice__contact", "connection")
            .order_by("next_attempt_at", "id")[:BATCH_SIZE]
        )
        InvoiceSync.objects.filter(pk__in=[s.pk for s in syncs]).update(attempts=F("attempts") + 1)
    for sync in syncs:
        sync.attempts += 1
    return [Row(sync, sync.version) for sync in syncs]


def _find_by_number(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> None:
    """Rows whose last write lost its answer: did Xero create the invoice after all?"""
    unknown = [r for r in rows if r.live and r.sync.outcome_unknown and not r.sync.xero_invoice_id]
    if not unknown:
        return
    try:
        found = client.invoices_by_number([r.sync.invoice.number for r in unknown])
    except XeroError as refused:
        if not is_definite(refused):
            raise
        for row in unknown:
            row.failed = RowFailed(
                "validation", f"Xero would not look the invoice up: {refused.message}"
            )
        return
    by_number = {}
    for raw in found:
        try:
            invoice = invoice_from_xero(raw)
        except normalise.Unstorable:
            continue  # not one we can recognise as ours
        if invoice.status != "DELETED":
            by_number[invoice.number.lower()] = invoice
    links = dict(
        XeroContact.objects.filter(
            connection=connection, contact__in=[r.sync.invoice.contact_id for r in unknown]
        ).values_list("contact_id", "xero_contact_id")
    )
    for row in unknown:
        candidate = by_number.get(row.sync.invoice.number.lower())
        ours = candidate is not None and candidate.contact_id == links.get(
            row.sync.invoice.contact_id
        )
        if ours:
            row.sync.xero_invoice_id = candidate.invoice_id
            invoice_event_record(
                row.sync.invoice,
                "Found in Xero by its number after Xero's answer was lost",
                source=EventSource.SYNC,
            )
        row.sync.outcome_unknown = False
        row.sync.save(update_fields=["xero_invoice_id", "outcome_unknown"])


def _contacts_link(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> dict:
    """CRM contact id -> Xero ContactID for every live row, creating the missing ones in one
    call. A name Xero already holds (an earlier answer lost, or a contact not imported) is
    looked up and linked rather than duplicated."""
    live = [r for r in rows if r.live]
    links = dict(
        XeroContact.objects.filter(
            connection=connection, contact__in={r.sync.invoice.contact_id for r in live}
        ).values_list("contact_id", "xero_contact_id")
    )
    missing = {}
    for row in live:
        contact = row.sync.invoice.contact
        if contact.pk not in links:
            missing[contact.pk] = contact
    if not missing:
        return links
    contacts = list(missing.values())
    body = XContacts(contacts=[_contact_model(c) for c in contacts])
    key = "crm-contacts-" + _digest([_body_digest(body), *sorted(missing)])
    try:
        answers = client.contacts_create(body, idempotency_key=key)
    except XeroError as refused:
        if not is_definite(refused):
            raise
        for contact in contacts:
            why = "Xero refused the invoice's contact: " + refused.message
            _rows_fail(live, contact, RowFailed("contact", why, _contact_page(contact)))
        return links
    if len(answers) != len(contacts):
        raise BadAnswer("Xero's answer does not hold one contact per contact sent.")
    for contact, answer in zip(contacts, answers, strict=True):
        messages = element_messages(answer)
        refused = (
            messages
            or not isinstance(answer, dict)
            or normalise.flag(answer.get("HasValidationErrors"))
        )
        xero_id = "" if refused else normalise.text(answer.get("ContactID"))[:64]
        if not xero_id:
            name = _contact_model(contact).name
            xero_id = _contact_by_name(client, connection, name)
            twin = XeroContact.objects.filter(connection=connection, xero_contact_id=xero_id)
            if not xero_id or twin.exists():
                why = (
                    f"Xero already has a contact named “{name}”, linked to another CRM contact; "
                    "Xero needs contact names to be unique. Rename one of them, then retry."
                    if xero_id
                    else "Xero refused the invoice's contact: " + "; ".join(messages)
                )
                _rows_fail(live, contact, RowFailed("contact", why, _contact_page(contact)))
                continue
        XeroContact.objects.get_or_create(
            connection=connection,
            contact=contact,
            defaults={"xero_contact_id": xero_id, "synced_at": timezone.now()},
        )
        links[contact.pk] = xero_id
    return links


def _contact_page(contact) -> str:
    return _page("contacts:edit", contact.account, pk=contact.pk)


def _rows_fail(rows: list[Row], contact, failure: RowFailed) -> None:
    for row in rows:
        if row.sync.invoice.contact_id == contact.pk:
            row.failed = failure


def _contact_model(contact) -> XContact:
    fields = {
        "name": contact.company_name or contact.display_name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email_address": contact.email,
    }
    # Absent fields are left out, never sent empty.
    return XContact(**{k: v for k, v in fields.items() if v})


def _contact_by_name(client: XeroClient, connection: XeroConnection, name: str) -> str:
    for contact in client.contacts_search(name):
        if not isinstance(contact, dict):
            continue
        if normalise.text(contact.get("Name")).lower() == name.strip().lower():
            return normalise.text(contact.get("ContactID"))[:64]
    return ""


def _xero_status(invoice: Invoice, sync: InvoiceSync) -> str:
    if invoice.status == InvoiceStatus.VOID:
        approved = sync.xero_status not in ("", "DRAFT", "SUBMITTED")
        return "VOIDED" if approved else "DELETED"
    return "DRAFT" if invoice.status == InvoiceStatus.DRAFT else "AUTHORISED"


def _invoice_model(sync: InvoiceSync, contact_id: str) -> XInvoice:
    invoice, connection = sync.invoice, sync.connection
    status = _xero_status(invoice, sync)
    if status in ("VOIDED", "DELETED"):
        # Only the status: Xero voids an invoice as it stands.
        return XInvoice(invoice_id=sync.xero_invoice_id, status=status)
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
    model = XInvoice(
        type="ACCREC",
        contact=XContact(contact_id=contact_id),
        invoice_number=invoice.number,
        reference=invoice.name or None,
        date=invoice.issue_date,
        due_date=invoice.due_date,
        currency_code=CurrencyCode(invoice.currency),
        line_amount_types=LINE_AMOUNT_TYPES[invoice.tax_mode],
        status=status,
        line_items=lines,
    )
    if sync.xero_invoice_id:
        model.invoice_id = sync.xero_invoice_id
    return model


def _fingerprint(model: XInvoice) -> str:
    return hashlib.sha256(
        json.dumps(serialize(model), sort_keys=True, default=str).encode()
    ).hexdigest()


def _digest(parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:48]


def _body_digest(model) -> str:
    """What a request carries, for its idempotency key: a changed body is a new key."""
    return hashlib.sha256(
        json.dumps(request_body(model), sort_keys=True, default=str).encode()
    ).hexdigest()


def is_definite(error: XeroError) -> bool:
    """Xero answered and its answer stands (a refusal, not a wait or a lost answer)."""
    return not isinstance(error, RateLimited | Transient | AuthLost)


def _invoices_write(client: XeroClient, connection: XeroConnection, rows: list[Row], links):
    """One POST /Invoices for every row whose invoice Xero does not already hold as it is."""
    to_send = []
    for row in rows:
        if not row.live:
            continue
        sync = row.sync
        if not sync.xero_invoice_id and sync.invoice.status == InvoiceStatus.VOID:
            continue  # never reached Xero: nothing to void
        try:
            row.model = _invoice_model(sync, links[sync.invoice.contact_id])
        except (ValueError, TypeError) as bug:
            log.exception("invoice not prepared for Xero", extra={"invoice_id": sync.invoice_id})
            row.failed = RowFailed("internal", f"Could not prepare the invoice for Xero ({bug}).")
            continue
        row.fingerprint = _fingerprint(row.model)
        if sync.xero_invoice_id and row.fingerprint == sync.pushed_fingerprint:
            continue  # Xero already holds exactly this
        if sync.xero_invoice_id and _xero_cannot_edit(sync) and row.model.status != "VOIDED":
            row.failed = _locked_failure(sync)
            continue
        to_send.append(row)
    if not to_send:
        return
    creating = [r.sync.pk for r in to_send if not r.sync.xero_invoice_id]
    # Until Xero's answer is in hand, a create may or may not have happened.
    InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=True)
    body = XInvoices(invoices=[r.model for r in to_send])
    # One key per request: the same body for the same versions is the same request (a retry
    # after a lost answer), and anything else (a fix, a person's Retry) is a new one.
    versions = (f"{r.sync.invoice_id}v{r.version}r{r.sync.retries}" for r in to_send)
    key = "crm-invoices-" + _digest([_body_digest(body), *versions])
    try:
        answers = client.invoices_save(body, idempotency_key=key)
    except RateLimited:
        # Not sent (our limiter said wait) or refused whole (a 429): nothing was created, so
        # the next round need not spend a call looking these up.
        InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=False)
        raise
    except XeroError as refused:
        if not is_definite(refused):
            raise
        InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=False)
        _invoices_refused(to_send, refused)
        return
    if len(answers) != len(to_send):
        raise BadAnswer("Xero's answer does not hold one invoice per invoice sent.", True)
    for row, answer in zip(to_send, answers, strict=True):
        _invoice_answer(row, answer)


def _invoices_refused(rows: list[Row], refused: XeroError) -> None:
    """The whole request was refused (nothing created). When Xero names the elements at fault,
    only their rows fail and the rest go again in the next round; otherwise all fail."""
    elements = getattr(refused, "elements", [])
    per_element = len(elements) == len(rows) and any(element_messages(e) for e in elements)
    for row, element in zip(rows, elements if per_element else [None] * len(rows), strict=True):
        row.sync.outcome_unknown = False
        messages = element_messages(element) if per_element else [refused.message]
        if messages:
            row.failed = _refusal(row.sync, messages)
        else:
            row.deferred = True  # not at fault: sent again with the next batch


def _invoice_answer(row: Row, answer) -> None:
    sync = row.sync
    messages = element_messages(answer)
    if not isinstance(answer, dict) or messages or normalise.flag(answer.get("HasErrors")):
        sync.outcome_unknown = False
        sync.save(update_fields=["outcome_unknown"])
        row.failed = _refusal(sync, messages)
        return
    xero_id = normalise.text(answer.get("InvoiceID"))[:64]
    if not xero_id:
        # Neither refused nor given an id: Xero may hold it; the next round looks it up.
        raise BadAnswer("Xero's answer names no InvoiceID for an invoice sent.", True)
    sync.outcome_unknown = False
    created = not sync.xero_invoice_id
    row.moved = True
    sync.xero_invoice_id = xero_id
    sync.xero_status = normalise.text(answer.get("Status"), 20)
    invoice_event_record(
        sync.invoice,
        ("Created in Xero as " if created else "Updated in Xero: ") + sync.xero_status,
        source=EventSource.SYNC,
    )
    line_item_ids = invoice_from_xero(answer).line_item_ids
    if line_item_ids:
        lines = list(sync.invoice.lines.order_by("position", "id").values_list("pk", flat=True))
        sync.xero_line_ids = {
            str(pk): item_id for pk, item_id in zip(lines, line_item_ids, strict=False) if item_id
        }
    # The next round builds this invoice with Xero's ids in it (InvoiceID, LineItemIDs):
    # remember that form, or an unchanged invoice looks changed after an interrupted batch
    # and, once its payment is in Xero, is refused as locked.
    contact_id = row.model.contact.contact_id if row.model.contact else ""
    sync.pushed_fingerprint = _fingerprint(_invoice_model(sync, contact_id))
    sync.save(
        update_fields=[
            "xero_invoice_id",
            "xero_status",
            "xero_line_ids",
            "outcome_unknown",
            "pushed_fingerprint",
        ]
    )
    XeroInvoiceNumber.objects.update_or_create(
        connection=sync.connection,
        number=sync.invoice.number.lower(),
        defaults={"xero_invoice_id": sync.xero_invoice_id, "status": sync.xero_status},
    )


def _xero_cannot_edit(sync: InvoiceSync) -> bool:
    """Xero refuses changes to an invoice that is paid or has a payment applied."""
    return (
        sync.xero_status == "PAID"
        or sync.payments.filter(deleted_in_xero=False).exclude(xero_payment_id="").exists()
    )


def _locked_failure(sync: InvoiceSync) -> RowFailed:
    invoice = sync.invoice
    return RowFailed(
        "xero_locked",
        f"Xero no longer lets invoice {invoice.number} change: it has a payment applied in "
        "Xero. Your change is kept here but Xero still shows the invoice as it was. To make "
        "them match, use “Void and reissue” on the invoice (the payments move to the new "
        "invoice), or undo the change.",
        # Void and reissue asks for confirmation first, saying what happens on both sides.
        _page("invoices:reissue", invoice.account, pk=invoice.pk),
    )


def _number_taken_message(number: str) -> str:
    return (
        f"Xero already has another invoice numbered {number}. Use the next free number, or "
        "give this invoice another number on its edit page; it is then sent again."
    )


def _refusal(sync: InvoiceSync, messages: list[str]) -> RowFailed:
    text = "; ".join(messages) or "no reason given"
    lowered = text.lower()
    if any(hint in lowered for hint in XERO_LOCKED_HINTS):
        return _locked_failure(sync)
    if any(hint in lowered for hint in NUMBER_TAKEN_HINTS):
        number_taken_remember(sync.connection, sync.invoice.number)
        return RowFailed(
            "number_taken",
            _number_taken_message(sync.invoice.number),
            _page("invoices:edit", sync.invoice.account, pk=sync.invoice_id),
        )
    if "account code" in lowered:
        return RowFailed(
            "sales_account",
            f"Xero does not accept the sales account {sync.connection.sales_account_code} on "
            f"invoices ({text}). Choose another sales account, then retry.",
            _page("xero_sync:sales_account", sync.invoice.account),
        )
    return RowFailed("validation", "Xero refused the invoice: " + text)


def _payments_delete(client: XeroClient, row: Row) -> None:
    for record in row.sync.payments.filter(deleted_in_crm=True, deleted_in_xero=False):
        if record.xero_payment_id:
            key = f"crm-payment-{record.payment_id}-delete-r{row.sync.retries}"
            with suppress(NotFound):  # already gone from Xero: done
                client.payment_delete(record.xero_payment_id, idempotency_key=key)
            row.moved = True
        record.deleted_in_xero = True
        record.save(update_fields=["deleted_in_xero"])


def _payments_create(client: XeroClient, row: Row) -> None:
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
        body = XPayment(
            invoice=XInvoice(invoice_id=sync.xero_invoice_id),
            account=XAccount(account_id=connection.payment_account_id),
            date=payment.date,
            amount=Decimal(payment.amount),
            reference=payment.reference or f"CRM payment {payment.pk}",
        )
        # A retry after a lost answer repeats the lost request's key; otherwise the key is the
        # body's, with the person's retries in it.
        key = record.pending_key or (
            f"crm-payment-{payment.pk}-" + _digest([_body_digest(body), f"r{sync.retries}"])[:40]
        )
        if record.pending_key != key:
            record.pending_key = key
            record.save(update_fields=["pending_key"])
        try:
            answer = client.payment_create(body, idempotency_key=key)
        except XeroError as error:
            if is_definite(error):
                record.pending_key = ""  # answered: a later try is a new request
                record.save(update_fields=["pending_key"])
            elif isinstance(error, RateLimited) or not getattr(error, "outcome_unknown", True):
                record.pending_key = ""  # never reached Xero
                record.save(update_fields=["pending_key"])
            raise
        answer = answer if isinstance(answer, dict) else {}
        messages = element_messages(answer)
        payment_id = normalise.text(answer.get("PaymentID"))[:64]
        record.pending_key = ""
        if messages or not payment_id or normalise.flag(answer.get("HasValidationErrors")):
            record.save(update_fields=["pending_key"])
            raise ValidationFailed(
                [
                    f"Xero refused payment {payment.reference or payment.pk}: "
                    + ("; ".join(messages) or "no reason given")
                ]
            )
        record.xero_payment_id = payment_id
        record.save(update_fields=["xero_payment_id", "pending_key"])
        row.moved = True
        invoice_event_record(
            sync.invoice,
            f"Payment of {payment.amount} {sync.invoice.currency} sent to Xero",
            source=EventSource.SYNC,
        )


def _per_row(rows: list[Row], step) -> None:
    """Run a per-row step; a validation refusal fails that row only. When a row's call is
    interrupted, the rows after it were not reached: the failure is not theirs."""
    for n, row in enumerate(rows):
        if not row.live:
            continue
        try:
            step(row)
        except XeroError as refused:
            if not is_definite(refused):
                for later in rows[n + 1 :]:
                    later.reached = False
                raise
            row.failed = _refusal(row.sync, getattr(refused, "messages", []) or [refused.message])


def _push_batch(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> None:
    for row in rows:
        try:
            preflight(row.sync)
        except PreflightFailed as failed:
            row.failed = RowFailed(failed.cause, failed.message, failed.fix_url)
    _find_by_number(client, connection, rows)
    _per_row(rows, partial(_payments_delete, client))
    links = _contacts_link(client, connection, rows)
    _invoices_write(client, connection, rows, links)
    _per_row(rows, partial(_payments_create_last, client))


def _payments_create_last(client: XeroClient, row: Row) -> None:
    """The last step: a row through it is done, even if a later row's call is interrupted."""
    _payments_create(client, row)
    row.done = True


def _finish(rows: list[Row], drain: "Drain") -> None:
    for row in rows:
        if row.deferred:  # due again at once, its attempt not counted
            InvoiceSync.objects.filter(pk=row.sync.pk).update(attempts=F("attempts") - 1)
            continue
        if row.failed is not None:
            _fail(row, row.failed)
            drain.failed += 1
            continue
        drain.synced += 1
        with transaction.atomic():
            current = InvoiceSync.objects.select_for_update().get(pk=row.sync.pk)
            current.pushed_version = row.version
            current.synced_at = timezone.now()
            current.error = current.error_cause = current.fix_url = current.failure_told = ""
            # A change made while we pushed leaves the row pending for the next round.
            if current.version == row.version:
                current.state = InvoiceSyncState.SYNCED
            current.save()


def _after_transient(rows: list[Row], error: Transient) -> None:
    """Back off the batch's rows; a row that keeps failing is told to a person."""
    now = timezone.now()
    for row in rows:
        if row.sync.attempts >= MAX_TRANSIENT_ATTEMPTS:
            row.failed = RowFailed(
                "xero_unavailable",
                f"Xero did not take the invoice after {row.sync.attempts} attempts "
                f"({error.message}). Press Retry when Xero is back.",
            )
            _fail(row, row.failed)
            continue
        seconds = min(2 ** min(row.sync.attempts, 8), 300)
        InvoiceSync.objects.filter(pk=row.sync.pk, state=InvoiceSyncState.PENDING).update(
            next_attempt_at=now + timedelta(seconds=seconds)
        )


def _seconds_to_next_due(connection_id: int) -> float:
    """0 when nothing is pending (no retry needed), else at least a second."""
    soonest = InvoiceSync.objects.filter(
        connection_id=connection_id, state=InvoiceSyncState.PENDING
    ).aggregate(soonest=Min("next_attempt_at"))["soonest"]
    if soonest is None:
        return 0.0
    return max((soonest - timezone.now()).total_seconds(), 1.0)


def _defer_all(connection: XeroConnection, seconds: float) -> None:
    """Xero's limits say wait: every pending row of the organisation waits in the database."""
    until = timezone.now() + timedelta(seconds=seconds)
    _due(connection.pk).update(next_attempt_at=until)


def _push_lock(connection_id: int):
    """A session-level PostgreSQL advisory lock for the whole drain (HTTP included): one drain
    per organisation at a time, and a killed worker's lock dies with its database session."""
    return advisory_lock(f"xero-invoices-push:{connection_id}")


@dataclass
class Drain:
    batches: int = 0
    synced: int = 0
    failed: int = 0
    retry_in: float = 0.0  # > 0: rows are pending, due again in this many seconds


def invoices_push(connection_id: int) -> Drain:
    """Push every due row of one organisation, in batches, until none is left. Rate limits and
    transient errors defer the rows in the database and end the drain with `retry_in`; a lost
    connection parks them until reconnect."""
    redis_client().delete(_queued_flag(connection_id))
    drain = Drain()
    while True:
        with _push_lock(connection_id) as mine:
            if not mine:
                return drain  # another worker drains this organisation
            _drain(connection_id, drain)
        # A change committed while we held the lock may have found its drain refused: look
        # once more after letting go.
        if drain.retry_in:
            return drain
        if not _due(connection_id).exists():
            # Rows still backing off from an earlier batch's failure come back when due,
            # not only when the sweep finds them.
            drain.retry_in = _seconds_to_next_due(connection_id)
            return drain


def _drain(connection_id: int, drain: Drain) -> None:
    while True:
        connection = XeroConnection.objects.get(pk=connection_id)
        if connection.status != ConnectionStatus.CONNECTED:
            _due(connection_id).update(state=InvoiceSyncState.WAITING)
            return
        rows = _claim(connection)
        if not rows:
            return
        client = xero_client_for(connection)
        try:
            try:
                _push_batch(client, connection, rows)
            except XeroError as refused:
                if not is_definite(refused):
                    raise
                _rows_refused(rows, RowFailed("validation", f"Xero refused it: {refused.message}"))
            except OUTAGES:
                raise  # the database or Redis is away: the drain is retried
            except Exception as bug:  # recorded on the rows, visible and retryable
                log.exception("invoice push failed", extra={"connection_id": connection.pk})
                _rows_refused(
                    rows,
                    RowFailed(
                        "internal",
                        f"The invoice could not be sent to Xero ({type(bug).__name__}). Press "
                        "Retry; if it fails again, tell support.",
                    ),
                )
        except (RateLimited, Transient, AuthLost) as interrupted:
            # Rows not yet done stay pending: what reached Xero is remembered per row, so
            # the next round skips it. Done rows finish now rather than being retried (and
            # backed off, towards a failure) with the rest.
            _finish([r for r in rows if not r.live or r.done], drain)
            _activity_if_moved(connection, rows)
            # Rows not reached are not charged an attempt (nor backed off): at a high enough
            # failure rate, rows waiting behind others' payments would otherwise run out of
            # attempts though none of their own calls failed.
            spared = [r.sync.pk for r in rows if r.live and not r.done and not r.reached]
            InvoiceSync.objects.filter(pk__in=spared).update(attempts=F("attempts") - 1)
            charged = [r for r in rows if not r.done and r.reached]
            _interrupted(connection, charged, interrupted, drain)
            return
        _finish(rows, drain)
        _activity_if_moved(connection, rows)
        drain.batches += 1


def _activity_if_moved(connection: XeroConnection, rows: list[Row]) -> None:
    if any(row.moved for row in rows):
        connection_record_activity(connection)


def _rows_refused(rows: list[Row], failure: RowFailed) -> None:
    """A definite answer (or our own fault) for rows still under way: they fail with it,
    never left pending with their outcome unknown."""
    unknown = [r.sync.pk for r in rows if r.live and not r.done]
    InvoiceSync.objects.filter(pk__in=unknown).update(outcome_unknown=False)
    for row in rows:
        if row.live and not row.done:
            row.failed = failure


def _interrupted(connection, rows: list[Row], error: Exception, drain: Drain) -> None:
    if isinstance(error, RateLimited):
        _defer_all(connection, error.retry_after)
        drain.retry_in = error.retry_after
    elif isinstance(error, Transient):
        _after_transient([r for r in rows if r.live], error)
        # Each row backs off on its own: come back when the first pending row is due, so the
        # rest of the outbox does not wait behind this batch's longest backoff.
        drain.retry_in = _seconds_to_next_due(connection.pk)
    else:  # AuthLost: the connection is marked; everything waits for the reconnect
        _due(connection.pk).update(state=InvoiceSyncState.WAITING)


def _fail(row: Row, failure: RowFailed) -> None:
    """Record a failure that needs a person; the row only turns failed from another state once
    per failure (transient retries never get here), and each failure is told once: the same
    failure again (on issue, on Retry) until the invoice reaches Xero is not told again. A row
    changed in the CRM meanwhile stays pending: the change may be the fix."""
    sync, cause = row.sync, failure.cause
    key = failure_key(cause, failure.message)
    failed = {
        "state": InvoiceSyncState.FAILED,
        "error_cause": cause,
        "error": failure.message,
        "fix_url": failure.fix_url,
        "failed_at": timezone.now(),
    }
    with transaction.atomic():
        lock_invoice_then_sync(sync)
        turning = InvoiceSync.objects.filter(pk=sync.pk, version=row.version).exclude(
            state=InvoiceSyncState.FAILED
        )
        untold = turning.exclude(failure_told=key).update(
            **failed, failure_told=key, failure_emailed_at=None
        )
        turned = untold or turning.update(**failed)
        sync.refresh_from_db()
        if turned:
            invoice_event_record(
                sync.invoice, f"Not sent to Xero: {failure.message}", source=EventSource.SYNC
            )
        if untold:
            failure_notify(sync)
    log.info(
        "invoice sync failed",
        extra={"invoice_id": sync.invoice_id, "connection_id": sync.connection_id, "cause": cause},
    )
