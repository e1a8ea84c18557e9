"""Contact tasks: the import runs, the beat jobs that start and sweep them, and the poll."""

from functools import partial
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from platform_crm.queueing import RETRY_COUNTDOWN_CAP

from ..client.errors import AuthLost, RateLimited, Transient
from ..models import ConnectionStatus, XeroConnection
from ..runs import run_waiting_for_xero
from . import imports, outbox, pull, push
from .models import ContactImport


@shared_task(
    name="xero_sync.tasks.contact_import_task", bind=True, acks_late=True, max_retries=None
)
def contact_import_task(self: Task[Any, Any], import_id: int) -> None:
    run_waiting_for_xero(
        self,
        import_id,
        partial(imports.import_run, turn_seconds=settings.XERO_TASK_TURN_SECONDS),
        ContactImport.objects.all(),
        imports.import_failed,
    )


@shared_task(name="xero_sync.tasks.contact_imports_at_connection_task")
def contact_imports_at_connection_task() -> int:
    """Beat: connections whose set-up stopped before the contacts step import all contacts."""
    return imports.imports_start_where_setup_stopped()


@shared_task(name="xero_sync.tasks.contact_imports_sweep_task")
def contact_imports_sweep_task() -> int:
    """Beat: re-queue contact imports and previews whose task was lost; they resume at their
    checkpoint."""
    return imports.imports_sweep()


@shared_task(name="xero_sync.tasks.contacts_poll_task", acks_late=True)
def contacts_poll_task() -> None:
    """Beat: one poll per connected organisation, each as its own task (which retries; this
    one only sends them)."""
    for connection_id in XeroConnection.objects.filter(
        status=ConnectionStatus.CONNECTED, contacts_synced_until__isnull=False
    ).values_list("pk", flat=True):
        contacts_poll_connection_task.delay(connection_id)


@shared_task(
    name="xero_sync.tasks.contacts_poll_connection_task", bind=True, acks_late=True, max_retries=5
)
def contacts_poll_connection_task(self: Task[Any, Any], connection_id: int) -> None:
    try:
        pull.contacts_poll(XeroConnection.objects.get(pk=connection_id))
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        raise self.retry(countdown=30) from transient
    except AuthLost:
        pass


# Contact pushes wait for Xero in the database; only short waits are also countdowns.
PUSH_RETRY_COUNTDOWN_CAP = 5 * 60


@shared_task(name="xero_sync.tasks.contacts_push_task", bind=True, acks_late=True, max_retries=None)
def contacts_push_task(self: Task[Any, Any], connection_id: int) -> None:
    """Push one organisation's contact changes to Xero (xero_sync.contacts.push)."""
    result = push.contacts_push(connection_id)
    if result.retry_in and result.retry_in <= PUSH_RETRY_COUNTDOWN_CAP:
        raise self.retry(countdown=result.retry_in)


@shared_task(name="xero_sync.tasks.contacts_push_sweep_task")
def contacts_push_sweep_task() -> int:
    """Beat: re-queue pushes for contact changes whose message was lost, or whose wait for
    Xero's limits is over."""
    due = outbox.connections_due()
    for connection_id in due:
        contacts_push_task.delay(connection_id)
    return len(due)
