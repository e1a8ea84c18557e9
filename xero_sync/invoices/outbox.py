"""The outbox: a change to an invoice marks its InvoiceSync row pending in the same transaction
and, after commit, queues one drain of the organisation's outbox (xero_sync.invoices.drain)."""

import logging
from datetime import date, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from invoices.history import invoice_event_record
from invoices.models import EventSource, Invoice, InvoiceEvent, Payment
from platform_crm.queueing import enqueue

from ..client.limits import redis_client
from ..context import applying_from_xero
from ..models import XeroConnection
from ..selectors import earlier_invoices
from .models import InvoiceSync, InvoiceSyncState, PaymentSync

log = logging.getLogger(__name__)

# Rows whose queued drain may have been lost are re-queued by the sweep after this long.
SWEEP_GRACE = timedelta(seconds=30)
# While a drain is queued and not yet started, further changes need not queue another.
QUEUED_FLAG_SECONDS = 60


def invoice_sync_mark_pending(
    *, invoice: Invoice, change: str, payment: Payment | None = None
) -> None:
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
    transaction.on_commit(partial(invoices_drain_queue, connection.pk))


def invoices_drain_queue(connection_id: int, *, behind: bool = False) -> None:
    """Queue a drain of the organisation's outbox, unless one is queued and not yet started
    (a burst of a thousand changes queues one task, not a thousand). `behind`: a drain's next
    turn, taken when no other work waits."""
    try:
        if redis_client().set(drain_queued_flag(connection_id), 1, nx=True, ex=QUEUED_FLAG_SECONDS):
            enqueue("xero_sync.tasks.invoices_push_task", connection_id, behind=behind)
    except (RedisError, KombuOperationalError):
        # The change is committed in the outbox: the beat sweep queues its drain once Redis is
        # back. Raising here would fail a save that succeeded (a 500 for a saved invoice).
        log.warning(
            "invoice drain not queued: Redis unavailable",
            exc_info=True,
            extra={"connection_id": connection_id},
        )


def drain_queued_flag(connection_id: int) -> str:
    return f"xero:invoices-push-queued:{connection_id}"


def due_rows(
    connection_id: int | None = None, *, grace: timedelta = timedelta(0)
) -> QuerySet[InvoiceSync]:
    rows = InvoiceSync.objects.filter(state=InvoiceSyncState.PENDING).filter(
        Q(next_attempt_at__lte=timezone.now() - grace) | Q(next_attempt_at=None)
    )
    return rows if connection_id is None else rows.filter(connection_id=connection_id)


def connections_due() -> list[int]:
    """Organisations with pending work whose drain may have been lost (the beat sweep)."""
    return list(
        due_rows(grace=SWEEP_GRACE).values_list("connection_id", flat=True).distinct().order_by()
    )


def invoices_resume_waiting(connection: XeroConnection) -> int:
    """After a reconnect: invoices that waited for it go."""
    resumed = InvoiceSync.objects.filter(
        connection=connection, state=InvoiceSyncState.WAITING
    ).update(state=InvoiceSyncState.PENDING, next_attempt_at=timezone.now())
    if resumed:
        transaction.on_commit(partial(invoices_drain_queue, connection.pk))
    return resumed


def invoices_resume_held(*, contact_id: int) -> int:
    """Invoices waiting for a decision about their contact (contacts.name_links) go on: the
    decision was made, or the contact changed (a name of its own). Returns how many."""
    resumed = 0
    for sync in InvoiceSync.objects.filter(
        invoice__contact_id=contact_id, state=InvoiceSyncState.HELD
    ).select_related("invoice"):
        with transaction.atomic():
            lock_invoice_then_sync(sync)
            resumed += InvoiceSync.objects.filter(pk=sync.pk, state=InvoiceSyncState.HELD).update(
                state=InvoiceSyncState.PENDING,
                attempts=0,
                next_attempt_at=timezone.now(),
                error="",
                error_cause="",
                fix_url="",
            )
            transaction.on_commit(partial(invoices_drain_queue, sync.connection_id))
    return resumed


def invoices_resume_held_of(contact_ids: list[int]) -> int:
    """invoices_resume_held for those of `contact_ids` that have held invoices (one query to
    find them): contacts just linked to Xero by an import, a webhook or a poll."""
    waiting = (
        InvoiceSync.objects.filter(invoice__contact_id__in=contact_ids, state=InvoiceSyncState.HELD)
        .order_by()
        .values_list("invoice__contact_id", flat=True)
        .distinct()
    )
    return sum(invoices_resume_held(contact_id=pk) for pk in list(waiting))


def invoices_held_say(*, contact_id: int, cause: str, message: str, fix_url: str) -> None:
    """What the contact's waiting invoices now wait for, in their words."""
    for sync in InvoiceSync.objects.filter(
        invoice__contact_id=contact_id, state=InvoiceSyncState.HELD
    ).select_related("invoice"):
        InvoiceSync.objects.filter(pk=sync.pk).update(
            error_cause=cause, error=message, fix_url=fix_url
        )
        invoice_event_record(sync.invoice, message, source=EventSource.SYNC)


def invoices_send_earlier(*, connection: XeroConnection, since: date | None) -> int:
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
            transaction.on_commit(partial(invoices_drain_queue, connection.pk))
    return len(ids)


def invoice_sync_retry(sync: InvoiceSync) -> None:
    """Retry after a fix: the row goes back to pending and is queued."""
    InvoiceSync.objects.filter(pk=sync.pk).update(
        state=InvoiceSyncState.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        retries=F("retries") + 1,
    )
    transaction.on_commit(partial(invoices_drain_queue, sync.connection_id))


def invoices_push_again(
    *, connection: XeroConnection, sync_ids: list[int], rewrite: bool = True
) -> int:
    """Send these invoices to Xero again as the CRM has them, even though their last push is
    remembered as taken (Xero changed them since: the reconciliation found them apart). Rows
    with work already pending are left as they are; returns how many were queued. Without
    `rewrite`, an invoice Xero holds as last sent is not written again: only what is owed
    after it (its credit notes' steps) goes."""
    again: dict[str, object] = {"pushed_fingerprint": ""} if rewrite else {}
    queued = (
        InvoiceSync.objects.filter(
            connection=connection, pk__in=sync_ids, state=InvoiceSyncState.SYNCED
        )
        .exclude(xero_invoice_id="")
        .update(
            state=InvoiceSyncState.PENDING,
            version=F("version") + 1,
            attempts=0,
            next_attempt_at=timezone.now(),
            **again,
        )
    )
    if queued:
        transaction.on_commit(partial(invoices_drain_queue, connection.pk))
    return queued


def lock_invoice_then_sync(sync: InvoiceSync) -> None:
    """Row locks in the order the invoices app takes them (the invoice, then its sync row, as a
    payment or an issue does through invoice_sync_mark_pending): a drain or a change from Xero
    that locked the sync row first would deadlock against staff saving the invoice."""
    Invoice.objects.select_for_update().filter(pk=sync.invoice_id).values_list("pk").get()
    InvoiceSync.objects.select_for_update().filter(pk=sync.pk).values_list("pk").get()
