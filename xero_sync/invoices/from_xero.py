"""Invoices from Xero back to the CRM: invoices made in Xero, and payments, status changes and
(on invoices made there) edits made in Xero.

Two ways in, one way of applying: INVOICE webhooks (one invoice fetched per event) and a
periodic poll (every sales invoice Xero changed since the last poll, a page at a time), the
safety net for missed webhooks. For an invoice the CRM sent:
- a payment made in Xero is recorded on the CRM invoice (known as already in Xero);
- a payment deleted in Xero is deleted in the CRM;
- voided (or deleted) in Xero voids the CRM invoice; approved in Xero issues a CRM draft.
A sales invoice made in Xero (no CRM twin) is brought in as a CRM invoice (made_in_xero).
Every sales invoice number seen is remembered, so the push's pre-flight knows which numbers
Xero already uses. Nothing applied here is pushed back (xero_sync.context).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from invoices.models import InvoiceStatus, Payment
from invoices.services import invoice_issue, invoice_void, payment_delete, payment_record

from ..client.errors import OUTAGES, XeroError
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..context import changes_from_xero
from ..inbound import normalise
from ..inbound.quarantine import Held, quarantine_hold, quarantine_release
from ..models import QuarantineKind, XeroConnection
from .in_xero import invoice_seen_in_xero
from .made_in_xero import invoice_bring_in, invoice_edits_apply
from .mapping import XeroInvoice, invoice_from_xero, invoice_label
from .models import InvoiceSync, PaymentSync, XeroInvoiceNumber
from .outbox import lock_invoice_then_sync

log = logging.getLogger(__name__)

POLL_PAGE_SIZE = 100
POLL_OVERLAP = timedelta(minutes=5)  # Xero's clock and ours may differ a little
_REFERENCE = Payment._meta.get_field("reference")
assert isinstance(_REFERENCE, models.CharField) and _REFERENCE.max_length is not None
REFERENCE_LENGTH = _REFERENCE.max_length


@dataclass
class Applied:
    payments_added: int = 0
    payments_removed: int = 0
    status_changed: bool = False
    held: int = 0
    brought_in: int = 0  # sales invoices made in Xero that became CRM invoices
    edited: int = 0  # invoices made in Xero that took edits made there


def invoice_update_from_xero(connection: XeroConnection, xero_invoice_id: str) -> int:
    """An INVOICE webhook event (CREATE or UPDATE): the invoice is fetched and applied, a
    sales invoice made in Xero brought in. Returns how many payments were added."""
    raw = xero_client_for(connection).invoice(xero_invoice_id)
    if raw is None:
        return 0
    return invoices_apply(connection, [raw], source="webhook").payments_added


def invoices_poll(connection: XeroConnection) -> int:
    """Every sales invoice changed in Xero since the last poll. Returns how many were seen."""
    if not connection.is_usable:
        return 0
    client = xero_client_for(connection)
    started = timezone.now()
    since = connection.invoices_synced_until
    seen, page = 0, 1
    while True:
        found = client.invoices_page(
            page,
            page_size=POLL_PAGE_SIZE,
            where='Type=="ACCREC"',
            modified_since=None if since is None else since - POLL_OVERLAP,
        )
        invoices_apply(connection, found, source="invoices poll")
        seen += len(found)
        if len(found) < POLL_PAGE_SIZE:
            break
        page += 1
    XeroConnection.objects.filter(pk=connection.pk).update(invoices_synced_until=started)
    return seen


def invoices_apply(connection: XeroConnection, raws: list[object], *, source: str) -> Applied:
    """Apply each invoice Xero sent on its own: one that cannot be read or stored is
    quarantined with its reason, and the others go on."""
    total = Applied()
    read: list[tuple[object, XeroInvoice | None, str]] = []
    for raw in raws:
        try:
            read.append((raw, invoice_from_xero(raw), ""))
        except normalise.Unstorable as unstorable:
            read.append((raw, None, str(unstorable)))
    # Known even when an invoice is held: the push's pre-flight needs its number.
    _numbers_remember(connection, [f for _, f, _ in read if f and f.type in ("ACCREC", "")])
    stored: list[str] = []
    for raw, found, unreadable in read:
        held: list[Held] = []
        if found is None:
            held.append(_invoice_held(raw, unreadable))
        else:
            try:
                with transaction.atomic():
                    applied = invoice_apply(connection, found, held)
            except OUTAGES:
                raise  # the database or Redis is away: the whole run is retried
            except XeroError:
                raise  # so is Xero
            except Exception as refused:  # this record only: kept with the reason, shown
                log.exception("invoice from Xero not applied", extra={"source": source})
                held.append(_invoice_held(raw, _reason(refused), found.invoice_id))
            else:
                total.payments_added += applied.payments_added
                total.payments_removed += applied.payments_removed
                total.status_changed |= applied.status_changed
                total.brought_in += applied.brought_in
                total.edited += applied.edited
                if not any(h.kind == QuarantineKind.INVOICE for h in held):
                    stored.append(found.invoice_id)
        total.held += quarantine_hold(connection=connection, held=held, source=source)
    quarantine_release(
        connection=connection,
        kind=QuarantineKind.INVOICE,
        xero_ids=stored,
        resolution="Stored by a later sync",
    )
    if any(
        (
            total.payments_added,
            total.payments_removed,
            total.status_changed,
            total.brought_in,
            total.edited,
        )
    ):
        connection_record_activity(connection)
    return total


def _reason(error: Exception) -> str:
    if isinstance(error, normalise.Unstorable):
        return f"The CRM cannot hold it as Xero sent it: {error}."
    if isinstance(error, ValidationError):
        return "The CRM could not apply it: " + "; ".join(error.messages)
    first = (str(error).strip().splitlines() or ["refused"])[0]
    return f"The CRM could not store it ({first})."


def _invoice_held(raw: object, reason: str, invoice_id: str = "") -> Held:
    fields = raw if isinstance(raw, dict) else {}
    return Held(
        kind=QuarantineKind.INVOICE,
        raw=raw,
        reason=reason,
        xero_id=invoice_id or normalise.text(fields.get("InvoiceID")),
        label=invoice_label(raw),
    )


def _numbers_remember(connection: XeroConnection, found: list[XeroInvoice]) -> None:
    numbered = {f.number.lower(): f for f in found if f.number}  # the last word on a number
    XeroInvoiceNumber.objects.bulk_create(
        [
            XeroInvoiceNumber(
                connection=connection,
                number=number,
                xero_invoice_id=f.invoice_id,
                status=f.status,
            )
            for number, f in numbered.items()
        ],
        update_conflicts=True,
        unique_fields=["connection", "number"],
        update_fields=["xero_invoice_id", "status"],
    )


def _twin(connection: XeroConnection, invoice_id: str) -> InvoiceSync | None:
    return (
        InvoiceSync.objects.filter(connection=connection, xero_invoice_id=invoice_id)
        .select_related("invoice")
        .first()
    )


def invoice_apply(connection: XeroConnection, found: XeroInvoice, held: list[Held]) -> Applied:
    """Apply one Xero invoice to the CRM invoice it twins, if any. Payments that cannot be
    read or recorded are added to `held`; the rest of the invoice is applied."""
    applied = Applied()
    if found.type not in ("ACCREC", ""):
        return applied
    sync = _twin(connection, found.invoice_id)
    if sync is None:
        try:
            with transaction.atomic(), changes_from_xero():
                sync = invoice_bring_in(connection, found)
        except (IntegrityError, ValidationError):
            # Brought in meanwhile by another delivery (an INVOICE event, or a credit note
            # fetching the invoice it is set against): a race ends in a re-read.
            sync = _twin(connection, found.invoice_id)
            if sync is None:
                raise
        else:
            if sync is None:
                return applied  # a bill, or a deleted draft
            applied.brought_in = 1
    lock_invoice_then_sync(sync)
    sync.refresh_from_db()
    # Edits made in Xero are looked for only when Xero changed the invoice since last seen.
    changed_in_xero = not applied.brought_in and (
        found.updated_at is None or found.updated_at != sync.xero_updated_at
    )
    seen = (found.status or sync.xero_status, found.updated_at or sync.xero_updated_at)
    if seen != (sync.xero_status, sync.xero_updated_at):
        sync.xero_status, sync.xero_updated_at = seen
        sync.save(update_fields=["xero_status", "xero_updated_at"])
    invoice_seen_in_xero(sync, found.currency_rate)
    held += [
        Held(
            kind=QuarantineKind.PAYMENT,
            raw=unread.raw,
            reason=unread.reason,
            xero_id=unread.payment_id,
            label=f"Payment on invoice {found.label}",
            parent_xero_id=found.invoice_id,
        )
        for unread in found.unread_payments
    ]
    with changes_from_xero():
        applied.edited = int(changed_in_xero and invoice_edits_apply(sync, found))
        _payments_apply(sync, found, applied, held)
        if changed_in_xero and applied.payments_removed and not applied.edited:
            # An edit the CRM takes only once the payment removed in Xero is removed here.
            applied.edited = int(invoice_edits_apply(sync, found))
        try:
            with transaction.atomic():
                _status_apply(sync, found, applied)
        except ValidationError as refused:
            held.append(
                Held(
                    kind=QuarantineKind.INVOICE,
                    raw=found.raw,
                    reason=f"The CRM could not make the invoice {found.status} as Xero has it: "
                    + "; ".join(refused.messages),
                    xero_id=found.invoice_id,
                    label=found.label,
                )
            )
    return applied


def _payments_apply(
    sync: InvoiceSync, found: XeroInvoice, applied: Applied, held: list[Held]
) -> None:
    unread = {u.payment_id for u in found.unread_payments}
    in_xero = {p.payment_id: p for p in found.payments if p.status != "DELETED"}
    records = {r.xero_payment_id: r for r in sync.payments.exclude(xero_payment_id="")}
    # Removed in Xero: remove here too (a payment deleted in the CRM is already gone). A
    # payment Xero sent but we could not read is not taken for removed.
    for xero_id, record in records.items():
        if xero_id in in_xero or xero_id in unread or record.deleted_in_crm:
            continue
        if record.deleted_in_xero:
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
            with transaction.atomic():
                payment = payment_record(
                    invoice=sync.invoice,
                    amount=xero_payment.amount,
                    date=xero_payment.date or timezone.localdate(),
                    reference=_reference(xero_payment.reference or xero_id),
                )
        except ValidationError as refused:
            # Xero's books and the CRM disagree (say, a draft in the CRM): shown, not guessed.
            held.append(
                Held(
                    kind=QuarantineKind.PAYMENT,
                    raw=_payment_raw(found, xero_id),
                    reason="The CRM could not record it: " + "; ".join(refused.messages),
                    xero_id=xero_id,
                    label=f"Payment of {xero_payment.amount} on invoice {found.label}",
                    parent_xero_id=found.invoice_id,
                )
            )
            continue
        PaymentSync.objects.create(
            invoice_sync=sync, payment_id=payment.pk, xero_payment_id=xero_id
        )
        quarantine_release(
            connection=sync.connection,
            kind=QuarantineKind.PAYMENT,
            xero_ids=[xero_id],
            resolution="Recorded by a later sync",
        )
        applied.payments_added += 1


def _reference(reference: str) -> str:
    """ "Paid in Xero (<reference>)", cut to fit the CRM's column (Xero sets no maximum)."""
    room = REFERENCE_LENGTH - len("Paid in Xero ()")
    return f"Paid in Xero ({normalise.text(reference, room)})"


def _payment_raw(found: XeroInvoice, payment_id: str) -> object:
    payments = found.raw.get("Payments") if isinstance(found.raw, dict) else None
    for payment in payments if isinstance(payments, list) else []:
        if isinstance(payment, dict) and payment.get("PaymentID") == payment_id:
            return payment
    return {"PaymentID": payment_id}


def _status_apply(sync: InvoiceSync, found: XeroInvoice, applied: Applied) -> None:
    invoice = sync.invoice
    invoice.refresh_from_db()
    status = found.status
    if status in ("VOIDED", "DELETED") and invoice.status != InvoiceStatus.VOID:
        invoice_void(invoice=invoice)
        applied.status_changed = True
    elif status in ("AUTHORISED", "PAID") and invoice.status == InvoiceStatus.DRAFT:
        invoice_issue(invoice=invoice)
        applied.status_changed = True
