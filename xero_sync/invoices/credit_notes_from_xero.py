"""Sales credit notes made in Xero, brought into the CRM: CREDITNOTE webhooks (one credit note
fetched per event), the periodic poll (every sales credit note Xero changed since the last poll,
a page at a time) and the past-invoice import all come through credit_notes_apply.

- A credit note the CRM pushed is known as ours (by its twin, or by its number while the push's
  answer is not yet stored) and left alone: the outbox owns it.
- One made in Xero and set against a sales invoice becomes a CRM credit note on that invoice
  (the invoice brought in first when made in Xero too; its contact fetched when unknown),
  marked as made in Xero, with its lines, taxes mapped back and Xero's totals to the cent: of
  its total, what Xero allocated to the invoice comes off what is owed, what was refunded is
  its refund, and the rest is credit it still holds.
- A CRM credit note belongs to one invoice: one set against none yet is held with that reason
  (allocating it in Xero brings it in), as is one set against two invoices.
- Later allocations and refunds made in Xero follow; voided in Xero, it is withdrawn here.
Everything is applied inside changes_from_xero(), and its twin says it is in Xero as it is
(created, allocated, refunded), so nothing here is ever pushed back.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoices.models import CreditNote, EventSource
from invoices.services import (
    credit_note_record_made_elsewhere,
    credit_note_settle_made_elsewhere,
    credit_note_withdraw_made_elsewhere,
)

from ..client import XeroClient
from ..client.errors import OUTAGES, XeroError
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..context import changes_from_xero
from ..inbound import normalise
from ..inbound.models import QuarantinedRecord
from ..inbound.quarantine import Held, quarantine_hold, quarantine_release
from ..models import QuarantineKind, XeroConnection
from .from_xero import invoices_apply
from .made_in_xero import contact_for, lines_from_xero
from .mapping import TAX_MODES, XeroLine, line_from_xero
from .models import CreditNoteSync, InvoiceSync

log = logging.getLogger(__name__)

POLL_PAGE_SIZE = 100
POLL_OVERLAP = timedelta(minutes=5)  # Xero's clock and ours may differ a little
SALES_CREDIT = "ACCRECCREDIT"
BROUGHT_IN = ("AUTHORISED", "PAID")  # a draft has no allocation yet; a voided one no credit
VOID = ("VOIDED", "DELETED")
NUMBER_LENGTH = CreditNote._meta.get_field("number").max_length or 60
MONEY = {"max_digits": 14, "places": 2}


# --- Xero's JSON, read (pure) -----------------------------------------------------------------
@dataclass(frozen=True)
class CreditNoteHead:
    """What says whose a credit note is and whether it is one to bring in."""

    credit_note_id: str
    type: str
    number: str
    status: str

    @property
    def label(self) -> str:
        return self.number or self.credit_note_id


@dataclass(frozen=True)
class XeroCreditNote:
    """A sales credit note as Xero holds it: lines, totals, and where its credit went."""

    head: CreditNoteHead
    contact_id: str
    currency: str
    date: dt.date | None
    reference: str
    tax_mode: str  # the CRM's TaxMode
    lines: tuple[XeroLine, ...]
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal
    allocated: dict[str, Decimal]  # InvoiceID -> amount set against it
    invoice_numbers: dict[str, str]  # InvoiceID -> its number, as the allocation names it
    refunded: Decimal
    refund_id: str  # the first refund's PaymentID ("" if none)


def credit_note_head(raw: object) -> CreditNoteHead:
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a credit note")
    credit_note_id = normalise.fits(raw.get("CreditNoteID"), 64)
    if not credit_note_id:
        raise normalise.Unstorable("Xero sent it without a CreditNoteID")
    return CreditNoteHead(
        credit_note_id=credit_note_id,
        type=normalise.text(raw.get("Type"), 20),
        number=normalise.text(raw.get("CreditNoteNumber"), 255),
        status=normalise.text(raw.get("Status"), 20),
    )


def _money(raw: dict[str, object], key: str, where: str = "") -> Decimal:
    try:
        return normalise.decimal(raw.get(key) or 0, **MONEY)
    except normalise.Unstorable as unstorable:
        raise normalise.Unstorable(f"{where}{key}: {unstorable}") from None


def credit_note_from_xero(raw: object) -> XeroCreditNote:
    """The whole of a sales credit note. Raises normalise.Unstorable, with the reason, for what
    the CRM could not hold as Xero has it."""
    head = credit_note_head(raw)
    assert isinstance(raw, dict)
    if not head.number:
        raise normalise.Unstorable("Xero sent it without a CreditNoteNumber")
    if len(head.number) > NUMBER_LENGTH:
        raise normalise.Unstorable(
            f"its number has {len(head.number)} characters; the CRM holds at most {NUMBER_LENGTH}"
        )
    currency = normalise.text(raw.get("CurrencyCode"), 10)
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise normalise.Unstorable(f"its currency {currency!r} is not a currency code")
    amount_types = normalise.text(raw.get("LineAmountTypes")) or "Exclusive"
    if amount_types not in TAX_MODES:
        raise normalise.Unstorable(f"its LineAmountTypes {amount_types[:20]!r} is not one Xero has")
    listed = raw.get("LineItems")
    if not isinstance(listed, list) or not listed:
        raise normalise.Unstorable("Xero sent it without lines")
    allocated: dict[str, Decimal] = {}
    numbers: dict[str, str] = {}
    for n, allocation in enumerate(raw.get("Allocations") or [], start=1):
        if not isinstance(allocation, dict) or allocation.get("IsDeleted") is True:
            continue
        invoice = allocation.get("Invoice")
        if not isinstance(invoice, dict) or not normalise.fits(invoice.get("InvoiceID"), 64):
            raise normalise.Unstorable(f"allocation {n} names no invoice")
        invoice_id = normalise.fits(invoice.get("InvoiceID"), 64)
        amount = _money(allocation, "Amount", f"allocation {n}: ")
        allocated[invoice_id] = allocated.get(invoice_id, Decimal(0)) + amount
        numbers[invoice_id] = normalise.text(invoice.get("InvoiceNumber"), 255) or invoice_id
    refunds = [
        p
        for p in raw.get("Payments") or []
        if isinstance(p, dict) and normalise.text(p.get("Status")) != "DELETED"
    ]
    if any(not normalise.text(p.get("PaymentID")) for p in refunds):
        raise normalise.Unstorable("a refund without a PaymentID")
    contact = raw.get("Contact")
    contact_id = normalise.fits(contact.get("ContactID"), 64) if isinstance(contact, dict) else ""
    return XeroCreditNote(
        head=head,
        contact_id=contact_id,
        currency=currency,
        date=normalise.day(raw.get("Date")),
        reference=normalise.text(raw.get("Reference"), 255),
        tax_mode=TAX_MODES[amount_types],
        lines=tuple(line_from_xero(line, n) for n, line in enumerate(listed, start=1)),
        subtotal=_money(raw, "SubTotal"),
        total_tax=_money(raw, "TotalTax"),
        total=_money(raw, "Total"),
        allocated=allocated,
        invoice_numbers=numbers,
        refunded=sum((_money(p, "Amount", "refund ") for p in refunds), Decimal(0)),
        refund_id=next(
            (normalise.text(p.get("PaymentID"))[:64] for p in refunds if p.get("PaymentID")), ""
        ),
    )


def credit_note_label(raw: object) -> str:
    if not isinstance(raw, dict):
        return ""
    return normalise.text(raw.get("CreditNoteNumber"), 255) or normalise.text(
        raw.get("CreditNoteID")
    )


# --- applying -----------------------------------------------------------------------------------
@dataclass
class CreditNotesApplied:
    brought_in: int = 0
    settled: int = 0  # allocations or refunds made in Xero that followed
    withdrawn: int = 0  # voided in Xero
    ours: int = 0  # pushed by the CRM: the outbox's, left alone
    already_in: int = 0  # made in Xero and already in the CRM as Xero has it
    skipped: int = 0  # not sales credit notes, drafts, voided before ever coming in
    held: int = 0
    released: dict[str, list[str]] = field(default_factory=dict)  # resolution -> ids


NOT_ALLOCATED = (
    "It is not set against any invoice in Xero, and the CRM keeps each credit note on the "
    "invoice it credits. It comes in once it is allocated to an invoice in Xero."
)


class Refused(Exception):
    """This credit note is held with the reason; the others go on."""


def credit_note_update_from_xero(connection: XeroConnection, xero_credit_note_id: str) -> int:
    """A CREDITNOTE webhook event (CREATE or UPDATE): the credit note is fetched and applied.
    Returns how many were brought in."""
    client = xero_client_for(connection)
    raw = client.credit_note(xero_credit_note_id)
    if raw is None:
        return 0
    return credit_notes_apply(connection, [raw], source="webhook", client=client).brought_in


def credit_notes_poll(connection: XeroConnection) -> int:
    """Every sales credit note changed in Xero since the last poll. Returns how many were
    seen."""
    if not connection.is_usable:
        return 0
    client = xero_client_for(connection)
    started = timezone.now()
    since = connection.credit_notes_synced_until
    seen, page = 0, 1
    while True:
        found = client.credit_notes_page(
            page,
            page_size=POLL_PAGE_SIZE,
            where=f'Type=="{SALES_CREDIT}"',
            modified_since=None if since is None else since - POLL_OVERLAP,
        )
        credit_notes_apply(connection, found, source="credit notes poll", client=client)
        seen += len(found)
        if len(found) < POLL_PAGE_SIZE:
            break
        page += 1
    XeroConnection.objects.filter(pk=connection.pk).update(credit_notes_synced_until=started)
    return seen


def credit_notes_apply(
    connection: XeroConnection,
    raws: list[object],
    *,
    source: str,
    client: XeroClient | None = None,
) -> CreditNotesApplied:
    """Apply each credit note Xero sent on its own: one that cannot be read or stored is
    quarantined with its reason, and the others go on."""
    total = CreditNotesApplied()

    def client_now() -> XeroClient:
        nonlocal client
        client = client or xero_client_for(connection)
        return client

    for raw in raws:
        held: list[Held] = []
        try:
            head = credit_note_head(raw)
        except normalise.Unstorable as unstorable:
            held.append(_held(raw, str(unstorable)))
        else:
            try:
                with transaction.atomic():
                    outcome = _apply_one(connection, head, raw, client_now)
            except OUTAGES:
                raise  # the database or Redis is away: the whole run is retried
            except XeroError:
                raise  # so is Xero
            except Refused as refused:
                held.append(_held(raw, str(refused), head.credit_note_id))
            except (normalise.Unstorable, ValidationError) as refused:
                held.append(_held(raw, _reason(refused), head.credit_note_id))
            except Exception as refused:  # this record only: kept with the reason, shown
                log.exception("credit note from Xero not applied", extra={"source": source})
                first = (str(refused).strip().splitlines() or ["refused"])[0]
                held.append(
                    _held(raw, f"The CRM could not store it ({first}).", head.credit_note_id)
                )
            else:
                setattr(total, outcome, getattr(total, outcome) + 1)
                resolution = "Voided in Xero" if head.status in VOID else "Stored by a later sync"
                total.released.setdefault(resolution, []).append(head.credit_note_id)
        total.held += quarantine_hold(connection=connection, held=held, source=source)
    for resolution, ids in total.released.items():
        quarantine_release(
            connection=connection,
            kind=QuarantineKind.CREDIT_NOTE,
            xero_ids=ids,
            resolution=resolution,
        )
    if total.brought_in or total.settled or total.withdrawn:
        connection_record_activity(connection)
    return total


def _reason(error: Exception) -> str:
    if isinstance(error, normalise.Unstorable):
        return f"The CRM cannot hold it as Xero sent it: {error}."
    assert isinstance(error, ValidationError)
    return "The CRM could not apply it: " + "; ".join(error.messages)


def _held(raw: object, reason: str, credit_note_id: str = "") -> Held:
    fields = raw if isinstance(raw, dict) else {}
    return Held(
        kind=QuarantineKind.CREDIT_NOTE,
        raw=raw,
        reason=reason,
        xero_id=credit_note_id or normalise.text(fields.get("CreditNoteID"))[:64],
        label=credit_note_label(raw),
    )


def _apply_one(
    connection: XeroConnection,
    head: CreditNoteHead,
    raw: object,
    client: Callable[[], XeroClient],
) -> str:
    """Apply one credit note; the name of the CreditNotesApplied count it adds to."""
    if head.type != SALES_CREDIT:
        return "skipped"
    twin = (
        CreditNoteSync.objects.filter(
            invoice_sync__connection=connection, xero_credit_note_id=head.credit_note_id
        )
        .select_related("credit_note", "invoice_sync")
        .first()
    )
    if twin is not None:
        if twin.credit_note.made_in == EventSource.CRM:
            return "ours"
        return _follow(twin, head, raw)
    if (
        head.number
        and CreditNote.objects.filter(
            invoice__account_id=connection.account_id,
            number__iexact=head.number,
            made_in=EventSource.CRM,
        ).exists()
    ):
        return "ours"  # pushed, and Xero's answer not stored yet
    if head.status not in BROUGHT_IN:
        return "skipped"
    found = credit_note_from_xero(raw)
    try:
        with transaction.atomic():
            return _bring_in(connection, found, client)
    except (IntegrityError, ValidationError):
        # Brought in meanwhile by another delivery (its CREATE and UPDATE events, say): a race
        # ends in a re-read.
        twin = (
            CreditNoteSync.objects.filter(
                invoice_sync__connection=connection, xero_credit_note_id=head.credit_note_id
            )
            .select_related("credit_note", "invoice_sync")
            .first()
        )
        if twin is None:
            raise
        return _follow(twin, head, raw)


def _invoice_sync(
    connection: XeroConnection, found: XeroCreditNote, client: Callable[[], XeroClient]
) -> InvoiceSync:
    """The twin of the one invoice the credit note is set against, that invoice brought in
    first when it was made in Xero and is not in the CRM yet."""
    if not found.allocated:
        raise Refused(NOT_ALLOCATED)
    if len(found.allocated) > 1:
        raise Refused(
            "It is set against more than one invoice in Xero ("
            + ", ".join(sorted(found.invoice_numbers.values()))
            + "), and the CRM keeps each credit note on the one invoice it credits."
        )
    (invoice_id,) = found.allocated

    def twin() -> InvoiceSync | None:
        return (
            InvoiceSync.objects.filter(connection=connection, xero_invoice_id=invoice_id)
            .select_related("invoice__contact")
            .first()
        )

    sync = twin()
    held_invoice = QuarantinedRecord.objects.filter(
        connection=connection, kind=QuarantineKind.INVOICE, xero_id=invoice_id, resolved_at=None
    ).exists()
    if sync is None and not held_invoice:  # a held one is fetched again by its own Retry
        raw_invoice = client().invoice(invoice_id)
        if raw_invoice is not None:
            invoices_apply(connection, [raw_invoice], source="credit note from Xero")
        sync = twin()
    if sync is None:
        raise Refused(
            f"The invoice it is set against in Xero ({found.invoice_numbers[invoice_id]}) is "
            "not in the CRM: it is not a sales invoice, or is itself held under Sync failures."
        )
    return sync


def _bring_in(
    connection: XeroConnection, found: XeroCreditNote, client: Callable[[], XeroClient]
) -> str:
    sync = _invoice_sync(connection, found, client)
    invoice = sync.invoice
    if found.currency != invoice.currency:
        raise Refused(
            f"It is in {found.currency} and invoice {invoice.number} in {invoice.currency}."
        )
    contact = contact_for(connection, found.contact_id, source="credit note from Xero")
    if invoice.contact_id != contact.pk:
        raise Refused(
            f"Its contact ({contact}) is not the contact of invoice {invoice.number} in the CRM "
            f"({invoice.contact})."
        )
    with changes_from_xero():
        note = credit_note_record_made_elsewhere(
            invoice=invoice,
            number=found.head.number,
            reason=found.reference or "Made in Xero",
            date=found.date or timezone.localdate(),
            tax_mode=found.tax_mode,
            lines=lines_from_xero(connection, found.tax_mode, found.lines),
            allocated=found.allocated[sync.xero_invoice_id],
            refunded=found.refunded,
            made_in=EventSource.XERO,
        )
        ours = (note.subtotal, note.total_tax, note.total)
        xeros = (found.subtotal, found.total_tax, found.total)
        if ours != xeros:
            raise ValidationError(
                f"Xero's totals (subtotal {xeros[0]}, tax {xeros[1]}, total {xeros[2]}) are not "
                f"what the CRM makes of the same lines (subtotal {ours[0]}, tax {ours[1]}, "
                f"total {ours[2]}), so it is not stored rather than stored with other figures."
            )
    # In Xero as it is: created, allocated, refunded; the outbox has nothing to send for it.
    CreditNoteSync.objects.create(
        invoice_sync=sync,
        credit_note=note,
        xero_credit_note_id=found.head.credit_note_id,
        allocated=True,
        xero_refund_id=found.refund_id,
    )
    return "brought_in"


def _follow(twin: CreditNoteSync, head: CreditNoteHead, raw: object) -> str:
    """A credit note made in Xero and in the CRM already: its voiding, or new allocations and
    refunds made there, follow."""
    note = twin.credit_note
    with changes_from_xero():
        if head.status in VOID:
            credit_note_withdraw_made_elsewhere(note=note)
            return "withdrawn"
        found = credit_note_from_xero(raw)
        invoice_id = twin.invoice_sync.xero_invoice_id
        elsewhere = sorted(number for i, number in found.invoice_numbers.items() if i != invoice_id)
        if elsewhere:
            raise Refused(
                f"It is now also set against {', '.join(elsewhere)} in Xero, and the CRM keeps "
                f"each credit note on the one invoice it credits ({note.invoice.number})."
            )
        changed = credit_note_settle_made_elsewhere(
            note=note,
            allocated=found.allocated.get(invoice_id, Decimal(0)),
            refunded=found.refunded,
        )
    if twin.xero_refund_id != found.refund_id:
        twin.xero_refund_id = found.refund_id
        twin.save(update_fields=["xero_refund_id"])
    return "settled" if changed else "already_in"
