"""xero_sync's tasks. Each part's own tasks are imported here so that Celery's autodiscovery,
which reads this module, finds them; their names stay "xero_sync.tasks.<function>" wherever
they live (messages in flight and beat's stored schedule name them)."""

from celery import shared_task

from . import (
    invoice_from_xero,
    invoice_sync,
)
from .client.errors import AuthLost, RateLimited, Transient
from .connection import tasks as connection_tasks  # noqa: F401
from .contacts import tasks as contacts_tasks  # noqa: F401
from .inbound import tasks as inbound_tasks  # noqa: F401
from .models import ConnectionStatus, XeroConnection
from .ops import tasks as ops_tasks  # noqa: F401
from .webhooks import tasks as webhooks_tasks  # noqa: F401

# Invoice pushes wait for Xero in the database; only short waits are also countdowns.
INVOICE_RETRY_COUNTDOWN_CAP = 5 * 60


@shared_task(bind=True, acks_late=True, max_retries=None)
def invoices_push_task(self, connection_id: int) -> None:
    """Drain one organisation's invoice outbox. Waits Xero asks for are kept in the rows; a
    short one is also a countdown, a long one (a day limit) is left to the beat sweep, never a
    countdown beyond the broker's visibility timeout."""
    drain = invoice_sync.invoices_push(connection_id)
    if drain.retry_in and drain.retry_in <= INVOICE_RETRY_COUNTDOWN_CAP:
        raise self.retry(countdown=drain.retry_in)


@shared_task
def invoices_sweep_task() -> int:
    """Beat: re-queue drains for pending work whose message was lost (broker or worker died
    between commit and publish) or whose wait for Xero's limits is over."""
    due = invoice_sync.connections_due()
    for connection_id in due:
        invoices_push_task.delay(connection_id)
    return len(due)


@shared_task
def invoices_poll_task() -> None:
    """Beat: one invoice poll per connected organisation, each as its own task."""
    for connection_id in XeroConnection.objects.filter(
        status=ConnectionStatus.CONNECTED
    ).values_list("pk", flat=True):
        invoices_poll_connection_task.delay(connection_id)


@shared_task(bind=True, acks_late=True, max_retries=5)
def invoices_poll_connection_task(self, connection_id: int) -> None:
    try:
        invoice_from_xero.invoices_poll(XeroConnection.objects.get(pk=connection_id))
    except RateLimited as limited:
        if limited.retry_after <= INVOICE_RETRY_COUNTDOWN_CAP:
            raise self.retry(countdown=limited.retry_after) from limited
    except Transient as transient:
        raise self.retry(countdown=30) from transient
    except AuthLost:
        pass
