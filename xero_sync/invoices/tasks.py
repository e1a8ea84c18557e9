from typing import Any

from celery import Task, shared_task
from django.conf import settings

from ..client.errors import AuthLost, RateLimited, Transient
from ..models import ConnectionStatus, XeroConnection
from ..runs import run_waiting_for_xero
from . import credit_notes_from_xero, drain, from_xero, in_xero, outbox, past
from .models import PastInvoiceImport

# Invoice pushes wait for Xero in the database; only short waits are also countdowns.
INVOICE_RETRY_COUNTDOWN_CAP = 5 * 60


@shared_task(name="xero_sync.tasks.invoices_push_task", bind=True, acks_late=True, max_retries=None)
def invoices_drain_task(self: Task[Any, Any], connection_id: int) -> None:
    """Drain one organisation's invoice outbox, for one turn (settings.XERO_TASK_TURN_SECONDS)
    at a time. Waits Xero asks for are kept in the rows; a short one is also a countdown, a
    long one (a day limit) is left to the beat sweep, never a countdown beyond the broker's
    visibility timeout."""
    result = drain.invoices_drain(connection_id, turn_seconds=settings.XERO_TASK_TURN_SECONDS)
    if result.turn_over:
        # Its turn is over: the next is taken once no other work waits (lost, the beat sweep
        # finds the due rows).
        outbox.invoices_drain_queue(connection_id, behind=True)
    elif result.retry_in and result.retry_in <= INVOICE_RETRY_COUNTDOWN_CAP:
        raise self.retry(countdown=result.retry_in)


@shared_task(name="xero_sync.tasks.invoices_sweep_task")
def invoices_sweep_task() -> int:
    """Beat: re-queue drains for pending work whose message was lost (broker or worker died
    between commit and publish) or whose wait for Xero's limits is over."""
    due = outbox.connections_due()
    for connection_id in due:
        invoices_drain_task.delay(connection_id)
    return len(due)


@shared_task(name="xero_sync.tasks.invoices_poll_task", acks_late=True)
def invoices_poll_task() -> None:
    """Beat: one invoice (then credit note) poll per connected organisation, each as its own
    task."""
    for connection_id in XeroConnection.objects.filter(
        status=ConnectionStatus.CONNECTED
    ).values_list("pk", flat=True):
        invoices_poll_connection_task.delay(connection_id)


@shared_task(
    name="xero_sync.tasks.invoices_poll_connection_task",
    bind=True,
    acks_late=True,
    max_retries=5,
)
def invoices_poll_connection_task(self: Task[Any, Any], connection_id: int) -> None:
    try:
        connection = XeroConnection.objects.get(pk=connection_id)
        from_xero.invoices_poll(connection)
        # After the invoices, so a credit note finds the invoice it is set against.
        credit_notes_from_xero.credit_notes_poll(connection)
    except RateLimited as limited:
        if limited.retry_after <= INVOICE_RETRY_COUNTDOWN_CAP:
            raise self.retry(countdown=limited.retry_after) from limited
    except Transient as transient:
        raise self.retry(countdown=30) from transient
    except AuthLost:
        pass


@shared_task(
    name="xero_sync.tasks.past_invoice_import_task", bind=True, acks_late=True, max_retries=None
)
def past_invoice_import_task(self: Task[Any, Any], import_id: int) -> None:
    run_waiting_for_xero(
        self,
        import_id,
        past.past_import_run,
        PastInvoiceImport.objects.all(),
        past.past_import_failed,
    )


@shared_task(name="xero_sync.tasks.past_invoice_imports_sweep_task")
def past_invoice_imports_sweep_task() -> int:
    """Beat: re-queue past-invoice imports and previews whose task was lost."""
    return past.past_imports_sweep()


EMAIL_MAX_RETRIES = 8


@shared_task(
    name="xero_sync.tasks.invoice_email_task",
    bind=True,
    acks_late=True,
    max_retries=EMAIL_MAX_RETRIES,
)
def invoice_email_task(self: Task[Any, Any], sync_id: int) -> None:
    """One press of "Email from Xero"; its retries are the same request (one email)."""
    try:
        in_xero.invoice_email_send(sync_id)
    except (RateLimited, Transient) as interrupted:
        if self.request.retries >= EMAIL_MAX_RETRIES:
            in_xero.invoice_email_failed(sync_id, interrupted.message)
            return
        wait = getattr(interrupted, "retry_after", 0) or min(2**self.request.retries, 300)
        raise self.retry(countdown=min(wait, INVOICE_RETRY_COUNTDOWN_CAP)) from interrupted
    except AuthLost as lost:
        in_xero.invoice_email_failed(sync_id, lost.message)
