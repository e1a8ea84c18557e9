"""The reconciliation of one connection: every linked invoice, credit note and contact compared
with Xero,
each difference classified, repaired by the rule that applies or left for a person, and stored.

Reads are paged lists of a thousand: a full run reads every sales invoice and every contact
(weekly, or when no run has finished); an incremental one reads, with If-Modified-Since, what
Xero changed since the last finished run, then by id (a hundred a call) what the CRM changed
since and what differed last time. Nothing unchanged on both sides since a finished run can
have drifted, so the incremental run speaks for every linked record.

Work still queued (an invoice waiting in the outbox, a payment not yet sent) is "waiting to
sync", not a difference. Repairs go through the normal paths: what Xero changed is applied as
the invoice poll and the contact poll apply it; what the CRM issued is queued in the outbox
again; a contact changed in the CRM is marked pending in the contacts' outbox (whose push
sends it, with its pre-flight, conflict rules and failures in words). A contact whose outbox
row is pending is waiting to sync; one whose push failed is shown with its failure. The run
keeps a checkpoint (phase and page) so a run interrupted by Xero's limits resumes where it
stopped.

Credit notes are read as invoices are (paged, If-Modified-Since), after them. What the CRM
issued and has not sent (its credit note, allocation or refund, lost from the outbox) is queued
again on its invoice's outbox row, whose drain asks Xero what it holds before sending; what Xero
holds already is recorded on the twin. A credit note voided, or its allocation or refund
removed, in Xero is left for a person: the CRM cannot void or undo them."""

import logging
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import ChangeSource, ContactChange
from invoices.models import CreditNote, InvoiceStatus, Payment
from platform_crm.advisory_locks import advisory_lock, advisory_lock_free
from platform_crm.queueing import enqueue_on_commit

from ..client import XeroClient
from ..connection.calls import xero_client_for
from ..contacts.apply import page_apply
from ..contacts.mapping import ContactFilter
from ..contacts.models import ContactSync, ContactSyncState
from ..contacts.outbox import contact_sync_mark_pending, goes_to_xero
from ..contacts.pull import contact_filter
from ..inbound import normalise
from ..invoices.from_xero import invoices_apply
from ..invoices.models import CreditNoteSync
from ..invoices.outbox import invoices_push_again
from ..models import (
    ConnectionStatus,
    InvoiceSync,
    InvoiceSyncState,
    PaymentSync,
    XeroConnection,
    XeroContact,
)
from . import compare
from .compare import PERSON, PULL, PUSH, Gap
from .models import (
    Direction,
    ReconciliationDifference,
    ReconciliationRun,
    Repair,
    RunPhase,
    RunStatus,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Xero's largest page, for invoices and contacts alike
IDS_PER_CALL = 100  # records asked for by id in one call (the URL stays short)
FULL_EVERY = timedelta(days=7)
# Xero's clock and ours may differ a little, and commits are not instant.
OVERLAP = timedelta(minutes=5)
ACCREC = 'Type=="ACCREC"'
ACCRECCREDIT = 'Type=="ACCRECCREDIT"'
REPAIRS = {PULL: Repair.PULLED, PUSH: Repair.PUSHED, PERSON: Repair.PERSON}
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
# An outbox row in these states is work under way: its contact is waiting to sync.
WAITING_STATES = (ContactSyncState.PENDING, ContactSyncState.WAITING)


def reconciliation_start(
    *, connection: XeroConnection, user: User | None = None, full: bool | None = None
) -> ReconciliationRun:
    """Queue a run (after commit); a run already queued or under way is returned instead.
    Full when asked, or when no full run has finished in the last week."""
    with transaction.atomic():
        XeroConnection.objects.select_for_update().filter(pk=connection.pk).values_list("pk").get()
        under_way = ReconciliationRun.objects.filter(connection=connection, status__in=ACTIVE)
        run = under_way.first()
        if run is not None:
            return run
        finished = ReconciliationRun.objects.filter(connection=connection, status=RunStatus.DONE)
        last = finished.first()
        if full is None:
            full = (
                last is None
                or not finished.filter(
                    full=True, started_at__gte=timezone.now() - FULL_EVERY
                ).exists()
            )
        started = last.started_at if last is not None else None
        run = ReconciliationRun.objects.create(
            connection=connection,
            full=full or started is None,
            since=None if full or started is None else started - OVERLAP,
            started_by=user,
        )
        enqueue_on_commit("xero_sync.tasks.reconciliation_task", run.pk)
    return run


def reconciliation_lock(connection_id: int) -> AbstractContextManager[bool]:
    """One run per connection at a time; a killed worker's lock dies with its session."""
    return advisory_lock(f"xero-reconcile:{connection_id}")


def reconciliation_run(run_id: int) -> ReconciliationRun | None:
    """Run (or resume) one reconciliation. Xero's waits (RateLimited, Transient) are raised
    with the checkpoint saved; the task retries and the run goes on from there."""
    run = ReconciliationRun.objects.select_related("connection__account").get(pk=run_id)
    with reconciliation_lock(run.connection_id) as mine:
        if not mine:
            return None  # another copy runs it
        run.refresh_from_db()
        if run.status not in ACTIVE:
            return run
        if run.connection.status != ConnectionStatus.CONNECTED:
            _run_fail(run, "Xero is not connected: the comparison waits for the connection.")
            return run
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.progressed_at = timezone.now()
        run.save(update_fields=["status", "started_at", "progressed_at"])
        Comparison(run).go()
    return run


def _run_fail(run: ReconciliationRun, error: str) -> None:
    run.status, run.error, run.finished_at = RunStatus.FAILED, error, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def reconciliation_fail(run_id: int, error: str) -> None:
    run = ReconciliationRun.objects.get(pk=run_id)
    if run.status in ACTIVE:
        _run_fail(run, error)


@dataclass
class Found:
    """A page's differences, before they are stored."""

    kind: str
    object_id: int
    xero_id: str
    label: str
    gap: Gap
    direction: str


@dataclass
class Comparison:
    run: ReconciliationRun
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    @cached_property
    def connection(self) -> XeroConnection:
        return self.run.connection

    @cached_property
    def client(self) -> XeroClient:
        return xero_client_for(self.connection)

    @cached_property
    def region(self) -> str:
        return self.connection.account.country

    @cached_property
    def earlier(self) -> dict[tuple[str, int, str], ReconciliationDifference]:
        """The last finished run's differences, by (kind, object, field): what survives."""
        last = (
            ReconciliationRun.objects.filter(connection=self.connection, status=RunStatus.DONE)
            .exclude(pk=self.run.pk)
            .first()
        )
        if last is None:
            return {}
        return {d.key: d for d in last.found.all()}

    @cached_property
    def contact_filter(self) -> ContactFilter:
        self._count(len(self.connection.contact_group_ids or ()))
        return contact_filter(self.client, self.connection)

    def _count(self, calls: int = 1) -> None:
        self.run.xero_calls += calls

    # --- the phases ------------------------------------------------------------------------------
    def go(self) -> None:
        run = self.run
        if run.phase == RunPhase.INVOICES:
            self._pages(self._invoices_page, self._invoices_check)
            self._phase(RunPhase.CREDIT_NOTES)
        if run.phase == RunPhase.CREDIT_NOTES:
            self._pages(self._credit_notes_page, self._credit_notes_check)
            self._phase(RunPhase.CONTACTS)
        if run.phase == RunPhase.CONTACTS:
            self._pages(self._contacts_page, self._contacts_check)
            self._phase(RunPhase.NAMED)
        if run.phase == RunPhase.NAMED:
            self._named()
            self._finish()

    def _phase(self, phase: str) -> None:
        self.run.phase, self.run.next_page = phase, 1
        self._save()

    def _save(self) -> None:
        self.run.progressed_at = timezone.now()
        self.run.save()

    def _pages(
        self,
        read: Callable[[int], tuple[list[object], bool]],
        check: Callable[[list[object]], None],
    ) -> None:
        while True:
            raws, last = read(self.run.next_page)
            self._count()
            with transaction.atomic():
                check(raws)
                self.run.next_page += 1
                self._save()
            if last:
                return

    def _invoices_page(self, page: int) -> tuple[list[object], bool]:
        raws = list(
            self.client.invoices_page(
                page, page_size=PAGE_SIZE, where=ACCREC, modified_since=self.run.since
            )
        )
        return raws, len(raws) < PAGE_SIZE

    def _credit_notes_page(self, page: int) -> tuple[list[object], bool]:
        raws = list(
            self.client.credit_notes_page(
                page, page_size=PAGE_SIZE, where=ACCRECCREDIT, modified_since=self.run.since
            )
        )
        return raws, len(raws) < PAGE_SIZE

    def _contacts_page(self, page: int) -> tuple[list[object], bool]:
        """A page of contacts; Xero's page count says when it is the last (no empty page)."""
        contacts, pagination = self.client.contacts_page(
            page, page_size=PAGE_SIZE, modified_since=self.run.since, include_archived=True
        )
        count = pagination.get("pageCount")
        return contacts, len(contacts) < PAGE_SIZE or (count is not None and page >= count)

    def _named(self) -> None:
        """By id: what the CRM changed since the last run (incremental runs) and what differed
        last time, unless this run has read it already."""
        earlier = self.earlier.values()
        invoice_ids = {d.xero_id.lower() for d in earlier if d.kind == "invoice"}
        contact_ids = {d.xero_id.lower() for d in earlier if d.kind == "contact"}
        if self.run.since is not None:
            invoice_ids |= set(
                InvoiceSync.objects.filter(
                    connection=self.connection,
                    state=InvoiceSyncState.SYNCED,
                    invoice__updated_at__gte=self.run.since,
                )
                .exclude(xero_invoice_id="")
                .values_list(Lower("xero_invoice_id"), flat=True)
            )
            contact_ids |= set(
                XeroContact.objects.filter(
                    connection=self.connection, contact__updated_at__gte=self.run.since
                ).values_list(Lower("xero_contact_id"), flat=True)
            )
        for ids, read, check in (
            (invoice_ids - self.seen["invoice"], self.client.invoices_by_ids, self._invoices_check),
            (contact_ids - self.seen["contact"], self.client.contacts_by_ids, self._contacts_check),
        ):
            ordered = sorted(ids)
            for start in range(0, len(ordered), IDS_PER_CALL):
                raws = list(read(ordered[start : start + IDS_PER_CALL]))
                self._count()
                with transaction.atomic():
                    check(raws)
                    self._save()
        self._credit_notes_named(
            {d.xero_id.lower() for d in earlier if d.kind == CREDIT and d.xero_id}
        )

    # --- invoices --------------------------------------------------------------------------------
    def _invoices_check(self, raws: list[object]) -> None:
        by_id = {_xero_id(raw, "InvoiceID"): raw for raw in raws}
        by_id.pop("", None)
        self.seen["invoice"] |= set(by_id)
        syncs = list(
            InvoiceSync.objects.filter(connection=self.connection, xero_invoice_id__in=by_id)
            .select_related("invoice")
            .annotate(line_count=Count("invoice__lines"))
        )
        if not syncs:
            return
        payments = _payment_twins([s.pk for s in syncs])
        unsent = _payments_unsent([s.invoice_id for s in syncs], payments)
        links = dict(
            XeroContact.objects.filter(
                connection=self.connection,
                contact_id__in={s.invoice.contact_id for s in syncs if s.invoice.contact_id},
            ).values_list("contact_id", "xero_contact_id")
        )
        found: list[Found] = []
        pull: list[object] = []
        push: list[int] = []
        for sync in syncs:
            raw = by_id[sync.xero_invoice_id.lower()]
            self.run.invoices_read += 1
            twins = payments.get(sync.pk, [])
            if (
                sync.state != InvoiceSyncState.SYNCED
                or unsent.get(sync.invoice_id)
                or any(p.deleted_in_crm and not p.deleted_in_xero for p in twins)
            ):
                self.run.waiting += 1
                continue
            invoice = sync.invoice
            crm = compare.CrmInvoice(
                status=invoice.status,
                total=invoice.total,
                amount_paid=invoice.amount_paid,
                currency=invoice.currency,
                line_count=sync.line_count,
                contact_xero_id=links.get(invoice.contact_id or 0, ""),
                xero_payment_ids=frozenset(
                    p.xero_payment_id.lower()
                    for p in twins
                    if p.xero_payment_id and not (p.deleted_in_crm or p.deleted_in_xero)
                ),
                payments_unsent=unsent.get(sync.invoice_id, 0),
            )
            try:
                gaps = compare.invoice_gaps(crm, raw)
            except normalise.Unstorable as unstorable:
                gaps = [Gap("record", "", str(unstorable), PERSON, compare.NO_RULE)]
            if not gaps:
                continue
            xero_updated = compare.invoice_xero_updated(raw)
            polled = self.connection.invoices_synced_until
            for gap in gaps:
                if gap.repair == PULL:
                    ahead = polled is None or (xero_updated is not None and xero_updated > polled)
                    direction = Direction.XERO_AHEAD if ahead else Direction.DRIFT
                elif gap.repair == PUSH:
                    changed = sync.synced_at is None or invoice.updated_at > sync.synced_at
                    direction = Direction.CRM_AHEAD if changed else Direction.DRIFT
                else:
                    direction = Direction.DRIFT
                found.append(
                    Found(
                        "invoice", invoice.pk, sync.xero_invoice_id, invoice.number, gap, direction
                    )
                )
            repairs = {gap.repair for gap in gaps}
            if PULL in repairs:
                pull.append(raw)
            elif PUSH in repairs:  # after a pull, the next run looks again
                push.append(sync.pk)
        if pull:
            invoices_apply(self.connection, pull, source="reconciliation")
        if push:
            invoices_push_again(connection=self.connection, sync_ids=push)
        self._store(found)

    # --- credit notes ----------------------------------------------------------------------------
    def _credit_notes_check(self, raws: list[object]) -> None:
        by_id = {_xero_id(raw, "CreditNoteID"): raw for raw in raws}
        by_id.pop("", None)
        self.seen[CREDIT] |= set(by_id)
        twins = CreditNoteSync.objects.filter(invoice_sync__connection=self.connection)
        records = list(
            twins.filter(xero_credit_note_id__in=by_id).select_related(
                "credit_note__invoice", "invoice_sync"
            )
        )
        # A twin that lost its CreditNoteID (its create's answer lost, say) is known by number.
        linked = {r.xero_credit_note_id.lower() for r in records}
        by_number = {
            normalise.text(raw.get("CreditNoteNumber")).lower(): (xero_id, raw)
            for xero_id, raw in by_id.items()
            if xero_id not in linked and isinstance(raw, dict)
        }
        by_number.pop("", None)
        unlinked: list[tuple[CreditNoteSync, str]] = []
        if by_number:
            for record in twins.filter(
                xero_credit_note_id="", credit_note__number__in=list(by_number)
            ).select_related("credit_note__invoice", "invoice_sync"):
                xero_id, _ = by_number.pop(record.credit_note.number.lower(), ("", None))
                if xero_id:
                    unlinked.append((record, xero_id))
        pairs = [(r, r.xero_credit_note_id.lower()) for r in records] + unlinked
        if not pairs:
            return
        contacts = dict(
            XeroContact.objects.filter(
                connection=self.connection,
                contact_id__in={
                    r.credit_note.invoice.contact_id for r, _ in pairs if r.credit_note.invoice
                },
            ).values_list("contact_id", "xero_contact_id")
        )
        found: list[Found] = []
        push: list[CreditNoteSync] = []
        for record, xero_id in pairs:
            self.run.credit_notes_read += 1
            note, sync = record.credit_note, record.invoice_sync
            if sync.state != InvoiceSyncState.SYNCED:
                self.run.waiting += 1  # its invoice's outbox row is still under way
                continue
            label = f"{note.number} ({note.invoice.number})"
            try:
                held = compare.credit_note_held(by_id[xero_id], sync.xero_invoice_id)
            except normalise.Unstorable as unstorable:
                gap = Gap("record", "", str(unstorable), PERSON, compare.NO_RULE)
                found.append(Found(CREDIT, note.pk, xero_id, label, gap, Direction.DRIFT))
                continue
            caught_up = _twin_catch_up(record, xero_id, held)
            if caught_up:
                gap = Gap("sent", "Not recorded as sent", caught_up, PULL, TWIN_RULE)
                found.append(Found(CREDIT, note.pk, xero_id, label, gap, Direction.DRIFT))
            crm = compare.CrmCreditNote(
                total=note.total,
                amount_allocated=note.amount_allocated,
                refund_amount=note.refund_amount,
                carried_amount=note.carried_amount,
                currency=note.invoice.currency,
                contact_xero_id=contacts.get(note.invoice.contact_id or 0, ""),
                invoice_xero_id=sync.xero_invoice_id,
                allocation_sent=record.allocated or note.amount_allocated <= 0,
                refund_sent=bool(record.xero_refund_id) or note.refund_amount <= 0,
            )
            gaps = compare.credit_note_gaps(crm, held)
            for gap in gaps:
                if gap.repair == PUSH:
                    direction = Direction.CRM_AHEAD
                elif gap.why in XERO_MOVED_RULES:
                    direction = Direction.XERO_AHEAD
                else:
                    direction = Direction.DRIFT
                found.append(Found(CREDIT, note.pk, xero_id, label, gap, direction))
            if any(gap.repair == PUSH for gap in gaps):
                push.append(record)
        self._credit_notes_push(push)
        self._store(found)

    def _credit_notes_push(self, records: list[CreditNoteSync]) -> None:
        """Queue on their invoices' outbox rows the credit notes whose create, allocation or
        refund never reached Xero. Each step still owed is marked as a write whose answer was
        lost, so the drain asks Xero what it holds before it sends (never twice)."""
        for record in records:
            note = record.credit_note
            if not record.xero_credit_note_id:
                record.outcome_unknown = True
            if note.amount_allocated > 0 and not record.allocated and not record.allocation_key:
                record.allocation_key = (
                    f"crm-credit-note-{note.pk}-{note.invoice_id}-allocate-check-{self.run.pk}"
                )
            if note.refund_amount > 0 and not record.xero_refund_id and not record.refund_key:
                record.refund_key = f"crm-refund-{note.pk}-check-{self.run.pk}"
            record.save(update_fields=["outcome_unknown", "allocation_key", "refund_key"])
        if records:
            invoices_push_again(
                connection=self.connection,
                sync_ids=[r.invoice_sync_id for r in records],
                rewrite=False,  # Xero refuses to rewrite an invoice with credit set against it
            )

    def _credit_notes_named(self, differed: set[str]) -> None:
        """Credit notes that differed last time, and those the CRM issued whose twin says a
        step never reached Xero (their invoice's row has no work queued), unless read already:
        by id, one a call (Xero's GET /CreditNotes takes no list of ids). One Xero does not
        hold at all, as far as the CRM knows, is queued again without a read."""
        owed = [
            record
            for record in CreditNoteSync.objects.filter(
                invoice_sync__connection=self.connection,
                invoice_sync__state=InvoiceSyncState.SYNCED,
            )
            .filter(Q(xero_credit_note_id="") | Q(allocated=False) | Q(xero_refund_id=""))
            .select_related("credit_note__invoice", "invoice_sync")
            if _twin_owes(record)
        ]
        ids = differed | {r.xero_credit_note_id.lower() for r in owed if r.xero_credit_note_id}
        for xero_id in sorted(ids - self.seen[CREDIT]):
            raw = self.client.credit_note(xero_id)
            self._count()
            with transaction.atomic():
                self._credit_notes_check([raw] if raw is not None else [])
                self._save()
        # Issued in the CRM on an invoice Xero has, and not in Xero: no twin, or one with no id.
        unsent = [r for r in owed if not r.xero_credit_note_id]
        unsent += [
            CreditNoteSync(invoice_sync=sync, credit_note=note)
            for note, sync in _credit_notes_untwinned(self.connection)
        ]
        if not unsent:
            return
        found = []
        with transaction.atomic():
            for record in unsent:
                note = record.credit_note
                self.run.credit_notes_read += 1
                if record.pk is None:
                    record.save()
                gap = Gap("sent", "Issued", "Not in Xero", PUSH, compare.NOT_SENT_RULE)
                label = f"{note.number} ({note.invoice.number})"
                found.append(Found(CREDIT, note.pk, "", label, gap, Direction.CRM_AHEAD))
            self._credit_notes_push(unsent)
            self._store(found)
            self._save()

    # --- contacts --------------------------------------------------------------------------------
    def _contacts_check(self, raws: list[object]) -> None:
        by_id = {_xero_id(raw, "ContactID"): raw for raw in raws}
        by_id.pop("", None)
        self.seen["contact"] |= set(by_id)
        links = list(
            XeroContact.objects.filter(
                connection=self.connection, xero_contact_id__in=by_id
            ).select_related("contact")
        )
        contact_ids = [link.contact_id for link in links]
        # When people last changed each contact (changes from Xero are not theirs).
        edited = dict(
            ContactChange.objects.filter(contact_id__in=contact_ids, source=ChangeSource.USER)
            .values("contact_id")
            .annotate(last=Max("changed_at"))
            .values_list("contact_id", "last")
        )
        outbox = {
            sync.contact_id: sync
            for sync in ContactSync.objects.filter(
                connection=self.connection, contact_id__in=contact_ids
            )
        }
        found: list[Found] = []
        pull: list[object] = []
        push: list[XeroContact] = []
        gaps_of: dict[int, list[Gap]] = {}
        for link in links:
            raw = by_id[link.xero_contact_id.lower()]
            contact = link.contact
            self.run.contacts_read += 1
            sync = outbox.get(contact.pk)
            if sync is not None and (sync.state in WAITING_STATES or sync.outcome_unknown):
                self.run.waiting += 1  # the outbox's work, still under way
                continue
            try:
                gaps = compare.contact_gaps(
                    contact,
                    raw,
                    base=link.payload,
                    region=self.region,
                    crm_changed_since_sync=link.synced_at < edited.get(contact.pk, link.synced_at),
                )
            except normalise.Unstorable as unstorable:
                gaps = [Gap("record", "", str(unstorable), PERSON, compare.NO_RULE)]
            if not gaps:
                continue
            gaps = self._contact_waits(link, sync, gaps)
            directions = {"xero": Direction.XERO_AHEAD, "crm": Direction.CRM_AHEAD}
            repairs = {gap.repair for gap in gaps}
            if PULL in repairs:
                pull.append(raw)
            elif PUSH in repairs:  # queued in the outbox again, as a CRM edit is
                push.append(link)
                gaps_of[contact.pk] = [gap for gap in gaps if gap.repair == PUSH]
            for gap in gaps:
                found.append(
                    Found(
                        "contact",
                        contact.pk,
                        link.xero_contact_id,
                        contact.display_name,
                        gap,
                        directions.get(gap.moved, Direction.DRIFT),
                    )
                )
        if pull:
            page_apply(self.connection, pull, self.contact_filter, source="reconciliation")
        for link in push:
            fields = [f for g in gaps_of[link.contact_id] for f in compare.COMPARED[g.field]]
            at = edited.get(link.contact_id) or timezone.now()
            contact_sync_mark_pending(contact=link.contact, fields=fields, at=at)
        self._store(found)

    def _contact_waits(
        self, link: XeroContact, sync: ContactSync | None, gaps: list[Gap]
    ) -> list[Gap]:
        """What the outbox cannot repair is left for a person, with the reason: a change whose
        push failed (its failure, not queued again: Retry is on the contact's page), or a
        connection that does not send contact changes to Xero."""
        if sync is not None and sync.state == ContactSyncState.FAILED:
            why = ("Not sent to Xero: " + (sync.error or "the push failed"))[:300]
        elif not goes_to_xero(self.connection, link.contact, linked=True):
            why = "Changed in the CRM; this connection does not send contact changes to Xero"
        else:
            return gaps
        return [
            Gap(g.field, g.crm, g.xero, PERSON, why, g.moved) if g.repair == PUSH else g
            for g in gaps
        ]

    # --- storing and finishing -------------------------------------------------------------------
    def _store(self, found: list[Found]) -> None:
        rows = []
        for item in found:
            earlier = self.earlier.get((item.kind, item.object_id, item.gap.field))
            rows.append(
                ReconciliationDifference(
                    run=self.run,
                    kind=item.kind,
                    object_id=item.object_id,
                    xero_id=item.xero_id,
                    label=item.label[:300],
                    field=item.gap.field,
                    crm_value=item.gap.crm[:300],
                    xero_value=item.gap.xero[:300],
                    direction=item.direction,
                    repair=REPAIRS[item.gap.repair],
                    why=item.gap.why[:300],
                    first_run_id=(earlier.first_run_id or earlier.run_id)
                    if earlier
                    else self.run.pk,
                    told_at=earlier.told_at if earlier else None,
                )
            )
        # A record read twice in one run (resumed, or named again) counts once.
        ReconciliationDifference.objects.filter(
            run=self.run, kind__in={r.kind for r in rows}, object_id__in={r.object_id for r in rows}
        ).delete()
        ReconciliationDifference.objects.bulk_create(rows)

    def _finish(self) -> None:
        from .notify import survivors_tell

        run = self.run
        counts = run.found.aggregate(
            differences=Count("pk"),
            left=Count("pk", filter=Q(repair=Repair.PERSON)),
        )
        run.differences = counts["differences"]
        run.left = counts["left"]
        run.repaired = run.differences - run.left
        run.invoices_linked = (
            InvoiceSync.objects.filter(connection=self.connection)
            .exclude(xero_invoice_id="")
            .count()
        )
        run.credit_notes_linked = (
            CreditNoteSync.objects.filter(invoice_sync__connection=self.connection)
            .exclude(xero_credit_note_id="")
            .count()
        )
        run.contacts_linked = XeroContact.objects.filter(connection=self.connection).count()
        run.phase = RunPhase.FINISHED
        run.status = RunStatus.DONE
        run.finished_at = timezone.now()
        self._save()
        survivors_tell(run)


CREDIT = "credit"  # a difference's kind for a credit note
TWIN_RULE = "Xero holds what the CRM sent; the CRM's record of sending it was brought up to date"
XERO_MOVED_RULES = (
    compare.CREDIT_VOIDED_RULE,
    compare.ALLOCATION_REMOVED_RULE,
    compare.REFUND_REMOVED_RULE,
)


def _twin_owes(record: CreditNoteSync) -> bool:
    """Does the twin say a step of what the CRM issued never reached Xero?"""
    note = record.credit_note
    return (
        not record.xero_credit_note_id
        or (note.amount_allocated > 0 and not record.allocated)
        or (note.refund_amount > 0 and not record.xero_refund_id)
    )


def _twin_catch_up(record: CreditNoteSync, xero_id: str, held: compare.XeroCreditNote) -> str:
    """Record on the twin what Xero holds of the steps it says were never sent (an answer lost
    with its retry forgotten); what was recorded, in words ("" if nothing)."""
    note, caught = record.credit_note, []
    if not record.xero_credit_note_id:
        record.xero_credit_note_id, record.outcome_unknown = xero_id, False
        caught.append("credit note")
    if not record.allocated and note.amount_allocated > 0 and held.allocated > 0:
        record.allocated, record.allocation_key = True, ""
        caught.append("allocation")
    if not record.xero_refund_id and note.refund_amount > 0 and held.refund_id:
        record.xero_refund_id, record.refund_key = held.refund_id, ""
        caught.append("refund")
    if not caught:
        return ""
    record.save(
        update_fields=[
            "xero_credit_note_id",
            "outcome_unknown",
            "allocated",
            "allocation_key",
            "xero_refund_id",
            "refund_key",
        ]
    )
    return "Held in Xero: " + ", ".join(caught)


def _credit_notes_untwinned(connection: XeroConnection) -> list[tuple[CreditNote, InvoiceSync]]:
    """CRM credit notes with no twin on an invoice Xero holds whose row has no work queued."""
    syncs = {
        s.invoice_id: s
        for s in InvoiceSync.objects.filter(
            connection=connection,
            state=InvoiceSyncState.SYNCED,
            invoice__credit_notes__xero_sync__isnull=True,
        )
        .exclude(xero_invoice_id="")
        .exclude(invoice__status=InvoiceStatus.DRAFT)
        .distinct()
    }
    notes = CreditNote.objects.filter(
        invoice_id__in=list(syncs), xero_sync__isnull=True
    ).select_related("invoice")
    return [(note, syncs[note.invoice_id]) for note in notes]


def _xero_id(raw: object, key: str) -> str:
    return normalise.text(raw.get(key))[:64].lower() if isinstance(raw, dict) else ""


def _payment_twins(sync_ids: list[int]) -> dict[int, list[PaymentSync]]:
    twins: dict[int, list[PaymentSync]] = defaultdict(list)
    for twin in PaymentSync.objects.filter(invoice_sync_id__in=sync_ids):
        twins[twin.invoice_sync_id].append(twin)
    return twins


def _payments_unsent(invoice_ids: list[int], twins: dict[int, list[PaymentSync]]) -> dict[int, int]:
    """CRM payments with no Xero twin yet, by invoice: work still queued."""
    sent = {t.payment_id for ts in twins.values() for t in ts if t.xero_payment_id}
    unsent: dict[int, int] = defaultdict(int)
    for pk, invoice_id in Payment.objects.filter(invoice_id__in=invoice_ids).values_list(
        "pk", "invoice_id"
    ):
        if pk not in sent:
            unsent[invoice_id] += 1
    return unsent


# A run under way that has not moved for this long, with no live holder of its lock, was lost.
STALLED_AFTER = timedelta(minutes=10)


def reconciliations_due(now: datetime | None = None) -> int:
    """Beat: start a run for every connected organisation whose last run began a day ago or
    more (or never ran), and queue again any run whose task was lost. Returns how many."""
    now = now or timezone.now()
    recent = ReconciliationRun.objects.filter(created_at__gt=now - timedelta(days=1))
    due = (
        XeroConnection.objects.filter(status=ConnectionStatus.CONNECTED)
        .exclude(tenant_id="")
        .exclude(payment_account_id="")
        .exclude(pk__in=recent.values("connection_id"))
    )
    started = 0
    for connection in due:
        reconciliation_start(connection=connection)
        started += 1
    stalled = ReconciliationRun.objects.filter(
        status__in=ACTIVE, progressed_at__lt=now - STALLED_AFTER
    )
    for run in stalled:
        if advisory_lock_free(f"xero-reconcile:{run.connection_id}"):
            ReconciliationRun.objects.filter(pk=run.pk).update(progressed_at=now)
            enqueue_on_commit("xero_sync.tasks.reconciliation_task", run.pk)
            started += 1
    return started
