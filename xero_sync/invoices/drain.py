"""The drain: every due row of one organisation, in batches (xero_sync.invoices.batch), under the
organisation's push lock (a PostgreSQL advisory lock, freed if the worker dies). Waits for Xero's
limits stay in the database (next_attempt_at), never as long countdowns; a beat sweep re-queues
due rows whose message was lost. Changes that come from Xero are never pushed back."""

import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from invoices.history import invoice_event_record
from invoices.models import EventSource
from platform_crm.advisory_locks import advisory_lock

from ..client.errors import OUTAGES, AuthLost, RateLimited, Transient, XeroError
from ..client.limits import redis_client
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..models import ConnectionStatus, XeroConnection
from ..ops.failure_mail import failure_key, failure_notify
from .batch import batch_claim, batch_send
from .models import InvoiceSync, InvoiceSyncState
from .outbox import drain_queued_flag, due_rows, lock_invoice_then_sync
from .refusals import RowFailed, RowHeld, is_definite
from .rows import Row

log = logging.getLogger(__name__)

# After this many transient failures in a row (about an hour of backoff) a person is told.
MAX_TRANSIENT_ATTEMPTS = 12


@dataclass
class DrainResult:
    batches: int = 0
    synced: int = 0
    failed: int = 0
    retry_in: float = 0.0  # > 0: rows are pending, due again in this many seconds
    turn_over: bool = False  # due rows remain: the caller queues the next turn


def invoices_drain(connection_id: int, *, turn_seconds: float | None = None) -> DrainResult:
    """Push every due row of one organisation, in batches, until none is left, or until
    `turn_seconds` have passed (then `turn_over`: the caller queues the next turn, after the
    lock is let go). Rate limits and transient errors defer the rows in the database and end
    the drain with `retry_in`; a lost connection parks them until reconnect."""
    redis_client().delete(drain_queued_flag(connection_id))
    drain = DrainResult()
    turn_ends = None if turn_seconds is None else time.monotonic() + turn_seconds
    while True:
        with _drain_lock(connection_id) as mine:
            if not mine:
                return drain  # another worker drains this organisation
            _drain_batches(connection_id, drain, turn_ends)
        # A change committed while we held the lock may have found its drain refused: look
        # once more after letting go.
        if drain.retry_in or drain.turn_over:
            return drain
        if not due_rows(connection_id).exists():
            # Rows still backing off from an earlier batch's failure come back when due,
            # not only when the sweep finds them.
            drain.retry_in = _seconds_to_next_due(connection_id)
            return drain


def _drain_lock(connection_id: int) -> AbstractContextManager[bool]:
    """A session-level PostgreSQL advisory lock for the whole drain (HTTP included): one drain
    per organisation at a time, and a killed worker's lock dies with its database session."""
    return advisory_lock(f"xero-invoices-push:{connection_id}")


def _drain_batches(connection_id: int, drain: DrainResult, turn_ends: float | None) -> None:
    while True:
        connection = XeroConnection.objects.get(pk=connection_id)
        if connection.status != ConnectionStatus.CONNECTED:
            due_rows(connection_id).update(state=InvoiceSyncState.WAITING)
            return
        rows = batch_claim(connection)
        if not rows:
            return
        client = xero_client_for(connection)
        try:
            try:
                batch_send(client, connection, rows)
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
            _streak_restarted([r for r in charged if r.moved])
            _interrupted(connection, charged, interrupted, drain)
            return
        _finish(rows, drain)
        _activity_if_moved(connection, rows)
        drain.batches += 1
        if turn_ends is not None and time.monotonic() >= turn_ends:
            # At least one batch a turn; the next turn goes behind others' work.
            drain.turn_over = due_rows(connection_id).exists()
            return


def _finish(rows: list[Row], drain: "DrainResult") -> None:
    for row in rows:
        if row.deferred:  # due again at once, its attempt not counted
            InvoiceSync.objects.filter(pk=row.sync.pk).update(attempts=F("attempts") - 1)
            continue
        if isinstance(row.failed, RowHeld):
            row_hold(row, row.failed)
            continue
        if row.failed is not None:
            row_fail(row, row.failed)
            drain.failed += 1
            continue
        drain.synced += 1
        with transaction.atomic():
            current = InvoiceSync.objects.select_for_update().get(pk=row.sync.pk)
            current.pushed_version = row.version
            current.synced_at = timezone.now()
            current.error = current.error_cause = current.fix_url = current.failure_told = ""
            current.waiting_for = ""
            # A change made while we pushed leaves the row pending for the next round.
            if current.version == row.version:
                current.state = InvoiceSyncState.SYNCED
            current.save()


def _streak_restarted(rows: list[Row]) -> None:
    """Rows that got something into Xero this round (an invoice, a payment, a credit note, an
    allocation, a refund) before a later call of theirs failed: Xero took their work, so they
    are not failing "in a row". Their count starts again at this round's failure (backoff 2 s,
    not 2**attempts). Each step that succeeds is remembered and never sent again, so a row
    moves only a bounded number of times: an outage still backs off and is told at
    MAX_TRANSIENT_ATTEMPTS."""
    if not rows:
        return
    InvoiceSync.objects.filter(pk__in=[r.sync.pk for r in rows]).update(attempts=1)
    for row in rows:
        row.sync.attempts = 1


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
            row_fail(row, row.failed)
            continue
        seconds = min(2 ** min(row.sync.attempts, 8), 300)
        InvoiceSync.objects.filter(pk=row.sync.pk, state=InvoiceSyncState.PENDING).update(
            next_attempt_at=now + timedelta(seconds=seconds), waiting_for=""
        )


def _seconds_to_next_due(connection_id: int) -> float:
    """0 when nothing is pending (no retry needed), else at least a second."""
    soonest = InvoiceSync.objects.filter(
        connection_id=connection_id, state=InvoiceSyncState.PENDING
    ).aggregate(soonest=Min("next_attempt_at"))["soonest"]
    if soonest is None:
        return 0.0
    waited: float = (soonest - timezone.now()).total_seconds()
    return max(waited, 1.0)


def _defer_all(connection: XeroConnection, seconds: float, *, waiting_for: str) -> None:
    """Xero's limits say wait: every pending row of the organisation waits in the database,
    knowing for which limit (the invoice page says so, with the time it resumes)."""
    until = timezone.now() + timedelta(seconds=seconds)
    due_rows(connection.pk).update(next_attempt_at=until, waiting_for=waiting_for[:20])


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


def _interrupted(
    connection: XeroConnection, rows: list[Row], error: Exception, drain: DrainResult
) -> None:
    if isinstance(error, RateLimited):
        _defer_all(connection, error.retry_after, waiting_for=error.problem)
        drain.retry_in = error.retry_after
    elif isinstance(error, Transient):
        _after_transient([r for r in rows if r.live], error)
        # Each row backs off on its own: come back when the first pending row is due, so the
        # rest of the outbox does not wait behind this batch's longest backoff.
        drain.retry_in = _seconds_to_next_due(connection.pk)
    else:  # AuthLost: the connection is marked; everything waits for the reconnect
        due_rows(connection.pk).update(state=InvoiceSyncState.WAITING)


def row_hold(row: Row, held: RowHeld) -> None:
    """The row waits for a person's decision, saying which on the invoice (and in its history
    once): not a failure, so nobody is emailed an error. A row changed in the CRM meanwhile
    stays pending."""
    sync = row.sync
    with transaction.atomic():
        lock_invoice_then_sync(sync)
        turned = (
            InvoiceSync.objects.filter(pk=sync.pk, version=row.version)
            .exclude(state=InvoiceSyncState.HELD, error=held.message)
            .update(
                state=InvoiceSyncState.HELD,
                error_cause=held.cause,
                error=held.message,
                fix_url=held.fix_url,
                failed_at=None,
            )
        )
        if turned:
            invoice_event_record(sync.invoice, held.message, source=EventSource.SYNC)
    log.info(
        "invoice sync held",
        extra={"invoice_id": sync.invoice_id, "connection_id": sync.connection_id},
    )


def row_fail(row: Row, failure: RowFailed) -> None:
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
