"""Credit notes ride on their invoice's outbox row (xero_sync.invoices.batch), after the invoice
and its payments:
1. those not yet in Xero are created, approved, in one PUT /CreditNotes for the batch (a create
   whose answer was lost is looked up by number first, so a retry never makes a second);
2. each is set against its invoice (PUT /CreditNotes/{id}/Allocations) for the part that comes
   off what is owed, and its refund is paid from the chosen payment account (a payment against
   the credit note). A lost answer there is checked against the credit note as Xero holds it
   before the same request (same key) goes again."""

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.utils import timezone

from invoices.history import invoice_event_record
from invoices.models import CreditNote, EventSource, Invoice, InvoiceStatus

from ..client import XeroClient, element_messages
from ..client.credit_notes import credit_notes_request_digest, refund_request_digest
from ..client.errors import BadAnswer, RateLimited, ValidationFailed, XeroError
from ..client.shapes import CreditNoteBody
from ..inbound import normalise
from ..models import XeroConnection
from ..organisation.invoice_options import invoice_chosen, line_tracking
from ..organisation.models import OrganisationSettings
from ..organisation.services import lock_date_in_force
from ..webhooks.own_writes import own_writes_remember
from .invoices_write import line_facts
from .keys import digest
from .mapping import (
    CreditNoteFacts,
    allocation_body,
    credit_note_body,
    refund_body,
)
from .models import CreditNoteSync, InvoiceSync, InvoiceSyncState
from .payments import keyed_send, payment_answered
from .refusals import (
    RowFailed,
    is_definite,
    is_lock_date_refusal,
    lock_read_again,
    lock_words,
    page_url,
)
from .rows import Row, spare_others

log = logging.getLogger(__name__)


def _records(row: Row) -> list[CreditNoteSync]:
    """The row's credit notes, each with its twin record (made on first sight)."""
    sync = row.sync
    if not sync.xero_invoice_id or sync.invoice.status in (InvoiceStatus.DRAFT,):
        return []
    known = {r.credit_note_id: r for r in sync.credit_notes.select_related("credit_note")}
    records = []
    for note in CreditNote.objects.filter(invoice_id=sync.invoice_id).order_by("id"):
        record = known.get(note.pk)
        if record is None:
            record = CreditNoteSync.objects.create(invoice_sync=sync, credit_note=note)
        record.credit_note = note
        records.append(record)
    return records


def credit_note_facts(
    record: CreditNoteSync, contact_id: str, stored: OrganisationSettings | None
) -> CreditNoteFacts:
    """A credit note carries its invoice's branding theme, and each line the tracking of the
    invoice line it credits, so Xero's reports by category net the credit against the sale. A
    credit by amount (a line of its own) takes the tracking the invoice's lines share, if they
    share one."""
    note = record.credit_note
    invoice = record.invoice_sync.invoice
    chosen = invoice_chosen(invoice, stored)
    shared = {repr(pairs): pairs for pairs, _ in chosen.lines.values()}
    common = next(iter(shared.values())) if len(shared) == 1 else []
    credited = dict(note.lines.values_list("pk", "invoice_line_id"))
    lines = tuple(
        replace(
            line,
            tracking=line_tracking(
                stored, chosen.lines.get(credited.get(line.line_id) or 0, (common, ""))[0]
            ),
        )
        for line in line_facts(note.lines.all(), note.tax_mode)
    )
    return CreditNoteFacts(
        number=note.number,
        reason=note.reason,
        date=note.date,
        currency=invoice.currency,
        tax_mode=note.tax_mode,
        lines=lines,
        contact_id=contact_id,
        sales_account_code=record.invoice_sync.connection.sales_account_code,
        branding_theme_id=chosen.branding_theme_id,
    )


def _found_by_number(client: XeroClient, unknown: list[tuple[Row, CreditNoteSync]]) -> None:
    """Credit notes whose create lost its answer: did Xero make them after all?"""
    numbers = [record.credit_note.number for _, record in unknown]
    found = {}
    for raw in client.credit_notes_by_number(numbers):
        if not isinstance(raw, dict) or normalise.text(raw.get("Status")) in ("DELETED", "VOIDED"):
            continue
        number = normalise.text(raw.get("CreditNoteNumber")).lower()
        found[number] = normalise.text(raw.get("CreditNoteID"))[:64]
    for row, record in unknown:
        xero_id = found.get(record.credit_note.number.lower(), "")
        if xero_id:
            record.xero_credit_note_id = xero_id
            invoice_event_record(
                row.sync.invoice,
                f"Credit note {record.credit_note.number} found in Xero after Xero's answer "
                "was lost",
                source=EventSource.SYNC,
            )
        record.outcome_unknown = False
        record.save(update_fields=["xero_credit_note_id", "outcome_unknown"])


def credit_notes_create(
    client: XeroClient, connection: XeroConnection, rows: list[Row], links: dict[int, str]
) -> None:
    """One PUT /CreditNotes for every credit note of the batch Xero does not hold yet."""
    pending: list[tuple[Row, CreditNoteSync]] = []
    for row in rows:
        if row.live:
            pending += [(row, r) for r in _records(row) if not r.xero_credit_note_id]
    unknown = [(row, r) for row, r in pending if r.outcome_unknown]
    if unknown:
        try:
            _found_by_number(client, unknown)
        except XeroError as refused:
            if not is_definite(refused):
                spare_others(rows, [row for row, _ in unknown])
                raise
            for row, _ in unknown:
                row.failed = RowFailed(
                    "validation", f"Xero would not look the credit note up: {refused.message}"
                )
    to_send: list[tuple[Row, CreditNoteSync, CreditNoteBody]] = []
    for row, record in pending:
        if not row.live or record.xero_credit_note_id:
            continue
        lock = lock_date_in_force(row.organisation) if row.organisation else None
        if lock is not None and record.credit_note.date <= lock[0]:
            row.failed = _locked(row, record, lock)
            continue
        contact_id = row.sync.invoice.contact_id
        assert contact_id is not None  # the invoice is in Xero: it has a contact
        body = credit_note_body(credit_note_facts(record, links[contact_id], row.organisation))
        to_send.append((row, record, body))
    if not to_send:
        return
    ids = [record.pk for _, record, _ in to_send]
    CreditNoteSync.objects.filter(pk__in=ids).update(outcome_unknown=True)
    bodies = [body for _, _, body in to_send]
    versions = (f"{record.credit_note_id}r{row.sync.retries}" for row, record, _ in to_send)
    key = "crm-credit-notes-" + digest([credit_notes_request_digest(bodies), *versions])
    try:
        answers = client.credit_notes_create(bodies, idempotency_key=key)
    except RateLimited:
        CreditNoteSync.objects.filter(pk__in=ids).update(outcome_unknown=False)
        raise
    except XeroError as refused:
        if not is_definite(refused):
            spare_others(rows, [row for row, _, _ in to_send])
            raise
        CreditNoteSync.objects.filter(pk__in=ids).update(outcome_unknown=False)
        for row, record, _ in to_send:
            row.failed = _refused(
                record, getattr(refused, "messages", []) or [refused.message], row
            )
        return
    if len(answers) != len(to_send):
        raise BadAnswer(
            "Xero's answer does not hold one credit note per credit note sent.",
            outcome_unknown=True,
        )
    for (row, record, _), answer in zip(to_send, answers, strict=True):
        _created(row, record, answer)
    # Each credit note written comes back as a webhook event: known as ours when it does.
    own_writes_remember(
        connection.pk,
        "CREDITNOTE",
        [
            (record.xero_credit_note_id, answer.get("UpdatedDateUTC"), True)
            for (row, record, _), answer in zip(to_send, answers, strict=True)
            if row.failed is None and isinstance(answer, dict)
        ],
    )


def _locked(row: Row, record: CreditNoteSync, lock: tuple[date, str] | None) -> RowFailed:
    """A credit note dated on or before the organisation's lock date. The CRM keeps credit
    notes as raised, so the fix is the lock date's, in Xero."""
    note = record.credit_note
    where, _ = lock_words(lock)
    return RowFailed(
        "lock_date",
        f"Credit note {note.number} is dated {note.date:%-d %b %Y}, {where}, so Xero will not "
        "take it. Ask your accountant to move the lock date in Xero, then press Retry.",
        page_url("invoices:detail", row.sync.invoice.account, pk=row.sync.invoice_id),
    )


def _refused(record: CreditNoteSync, messages: list[str], row: Row | None = None) -> RowFailed:
    if row is not None and is_lock_date_refusal(messages):
        return _locked(row, record, lock_read_again(row.sync))
    return RowFailed(
        "validation",
        f"Xero refused credit note {record.credit_note.number}: "
        + ("; ".join(messages) or "no reason given"),
    )


def _created(row: Row, record: CreditNoteSync, answer: object) -> None:
    messages = element_messages(answer)
    if not isinstance(answer, dict) or messages or normalise.flag(answer.get("HasErrors")):
        record.outcome_unknown = False
        record.save(update_fields=["outcome_unknown"])
        row.failed = _refused(record, messages, row)
        return
    xero_id = normalise.text(answer.get("CreditNoteID"))[:64]
    if not xero_id:
        raise BadAnswer("Xero's answer names no CreditNoteID.", outcome_unknown=True)
    record.xero_credit_note_id = xero_id
    record.outcome_unknown = False
    record.save(update_fields=["xero_credit_note_id", "outcome_unknown"])
    row.moved = True
    invoice_event_record(
        row.sync.invoice,
        f"Credit note {record.credit_note.number} created in Xero",
        source=EventSource.SYNC,
    )


def _held(client: XeroClient, record: CreditNoteSync, invoice_id: str) -> tuple[bool, str]:
    """(allocated to the invoice, the refund's PaymentID) as Xero holds the credit note."""
    held = client.credit_note(record.xero_credit_note_id) or {}
    allocated = any(
        isinstance(a, dict)
        and isinstance(a.get("Invoice"), dict)
        and normalise.text(a["Invoice"].get("InvoiceID")).lower() == invoice_id.lower()
        for a in held.get("Allocations") or []
    )
    refunds = [
        normalise.text(p.get("PaymentID"))[:64]
        for p in held.get("Payments") or []
        if isinstance(p, dict) and normalise.text(p.get("Status")) != "DELETED"
    ]
    return allocated, next((r for r in refunds if r), "")


@dataclass(frozen=True)
class Allocating:
    """One allocation of a credit note: to its own invoice, or (credit and reissue) to the
    copy that what was paid is carried to."""

    invoice: Invoice  # the CRM invoice credited
    xero_invoice_id: str
    amount: Decimal
    key_field: str  # CreditNoteSync's field for the key of a write under way
    done_field: str  # and the one that says it is done


def _allocate(client: XeroClient, row: Row, record: CreditNoteSync, to: Allocating) -> None:
    note = record.credit_note
    body = allocation_body(xero_invoice_id=to.xero_invoice_id, amount=to.amount, date=note.date)
    answer = keyed_send(
        record,
        to.key_field,
        getattr(record, to.key_field)
        or f"crm-credit-note-{note.pk}-{to.invoice.pk}-allocate-r{row.sync.retries}",
        partial(client.credit_note_allocate, record.xero_credit_note_id, body),
    )
    messages = element_messages(answer)
    if messages:
        record.save(update_fields=[to.key_field])
        raise ValidationFailed(
            [
                f"Xero would not set credit note {note.number} against invoice "
                f"{to.invoice.number}: " + "; ".join(messages)
            ]
        )
    setattr(record, to.done_field, True)
    record.save(update_fields=[to.done_field, to.key_field])
    row.moved = True
    invoice_event_record(
        row.sync.invoice,
        f"Credit note {note.number} set against invoice {to.invoice.number} in Xero "
        f"({to.amount} {to.invoice.currency})",
        source=EventSource.SYNC,
    )


def _settle(client: XeroClient, row: Row, record: CreditNoteSync, to: Allocating) -> None:
    """The allocation `to` and, on the credit note's own row, its refund: each unless done,
    and after a lost answer only once Xero has been asked what it holds."""
    note = record.credit_note
    own = to.done_field == "allocated"
    owed_allocation = to.amount > 0 and not getattr(record, to.done_field)
    owed_refund = own and note.refund_amount > 0 and not record.xero_refund_id
    if (owed_allocation and getattr(record, to.key_field)) or (owed_refund and record.refund_key):
        allocated, refund_id = _held(client, record, to.xero_invoice_id)
        if allocated:
            setattr(record, to.done_field, True)
            setattr(record, to.key_field, "")
        if refund_id and own:
            record.xero_refund_id, record.refund_key = refund_id, ""
        record.save(update_fields=[to.done_field, to.key_field, "xero_refund_id", "refund_key"])
        owed_allocation = owed_allocation and not allocated
        owed_refund = owed_refund and not record.xero_refund_id
    if owed_allocation:
        _allocate(client, row, record, to)
    if owed_refund:
        _refund(client, row, record)


def _refund(client: XeroClient, row: Row, record: CreditNoteSync) -> None:
    note, sync = record.credit_note, row.sync
    body = refund_body(
        xero_credit_note_id=record.xero_credit_note_id,
        account_id=sync.connection.payment_account_id,
        amount=note.refund_amount,
        date=note.date,
        number=note.number,
    )
    key = record.refund_key or (
        f"crm-refund-{note.pk}-" + digest([refund_request_digest(body), f"r{sync.retries}"])[:40]
    )
    answer = keyed_send(record, "refund_key", key, partial(client.refund_create, body))
    record.xero_refund_id = payment_answered(
        record, "refund_key", answer, f"Xero refused the refund of {note.number}"
    )
    record.save(update_fields=["xero_refund_id", "refund_key"])
    row.moved = True
    invoice_event_record(
        sync.invoice,
        f"Refund of {note.refund_amount} {sync.invoice.currency} for {note.number} sent to Xero",
        source=EventSource.SYNC,
    )


# A copy waiting for the credit note whose payment it carries is looked at again this soon.
CARRIED_WAIT = timedelta(seconds=5)


def _carried_in(row: Row) -> list[tuple[CreditNote, CreditNoteSync | None]]:
    """Credit notes of other invoices carrying what was paid to this one (credit and
    reissue), with their twins once their own rows have made them."""
    sync = row.sync
    if not sync.xero_invoice_id or sync.invoice.status == InvoiceStatus.DRAFT:
        return []
    notes = list(
        CreditNote.objects.filter(carried_to_id=sync.invoice_id, carried_amount__gt=0)
        .select_related("invoice")
        .order_by("id")
    )
    twins = {
        r.credit_note_id: r
        for r in CreditNoteSync.objects.filter(credit_note__in=notes).select_related("invoice_sync")
    }
    return [(note, twins.get(note.pk)) for note in notes]


def _wait_for_origin(row: Row, note: CreditNote) -> None:
    """The credit note is not in Xero yet: this copy waits for it (a little while, not as a
    failure), unless its own invoice's push needs a person, which this one then needs too."""
    origin = InvoiceSync.objects.filter(invoice_id=note.invoice_id).first()
    if origin is not None and origin.state == InvoiceSyncState.FAILED:
        row.failed = RowFailed(
            "credit_note_waiting",
            f"What was paid on invoice {note.invoice.number} is carried to this one by credit "
            f"note {note.number}, which has not reached Xero: {origin.error}",
            page_url("invoices:detail", note.invoice.account, pk=note.invoice_id),
        )
        return
    row.deferred = True
    InvoiceSync.objects.filter(pk=row.sync.pk).update(next_attempt_at=timezone.now() + CARRIED_WAIT)


def credit_notes_settle_last(client: XeroClient, row: Row) -> None:
    """Allocate and refund what is left of each credit note, and allocate to this invoice
    what credit notes of others carry to it; the last step of a row."""
    sync = row.sync
    for record in _records(row):
        if not record.xero_credit_note_id:
            continue  # not created this round (a refusal is on the row already)
        own = Allocating(
            sync.invoice,
            sync.xero_invoice_id,
            record.credit_note.amount_allocated,
            "allocation_key",
            "allocated",
        )
        _settle(client, row, record, own)
    for note, twin in _carried_in(row):
        if twin is None or not twin.xero_credit_note_id:
            _wait_for_origin(row, note)
            return
        twin.credit_note = note
        carried = Allocating(
            sync.invoice,
            sync.xero_invoice_id,
            note.carried_amount,
            "carried_key",
            "carried_allocated",
        )
        _settle(client, row, twin, carried)
    row.done = True
