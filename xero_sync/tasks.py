from celery import shared_task

from . import contact_import, invoice_sync, services, webhooks
from .errors import AuthLost, RateLimited, Transient
from .models import ConnectionStatus, XeroConnection

# Longer waits than this are not countdowns (the broker's visibility timeout is an hour).
RETRY_COUNTDOWN_CAP = 50 * 60


@shared_task(acks_late=True)
def process_webhook_delivery_task(delivery_id: int) -> None:
    webhooks.delivery_process(delivery_id)


@shared_task
def disconnect_inactive_connections_task() -> dict[str, int]:
    return services.connections_disconnect_inactive()


@shared_task(bind=True, acks_late=True, max_retries=None)
def contact_import_task(self, import_id: int) -> None:
    try:
        contact_import.import_run(import_id)
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        if self.request.retries >= 10:
            contact_import.import_failed(import_id, transient.message)
            return
        raise self.retry(countdown=min(2**self.request.retries, 300)) from transient
    except AuthLost:
        pass  # the connection is marked; the import resumes after reconnect


@shared_task(bind=True, acks_late=True, max_retries=5)
def contacts_poll_task(self) -> None:
    """Beat: one poll per connected organisation, each as its own task."""
    for connection_id in XeroConnection.objects.filter(
        status=ConnectionStatus.CONNECTED, contacts_synced_until__isnull=False
    ).values_list("pk", flat=True):
        contacts_poll_connection_task.delay(connection_id)


@shared_task(bind=True, acks_late=True, max_retries=5)
def contacts_poll_connection_task(self, connection_id: int) -> None:
    try:
        contact_import.contacts_poll(XeroConnection.objects.get(pk=connection_id))
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        raise self.retry(countdown=30) from transient
    except AuthLost:
        pass


@shared_task(bind=True, acks_late=True, max_retries=None)
def invoice_push_task(self, invoice_id: int) -> None:
    """Transient errors and rate limits retry with backoff (no email); a lost connection
    parks the row until reconnect; permanent errors are recorded by the service."""
    try:
        invoice_sync.invoice_push(invoice_id)
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        raise self.retry(countdown=min(2 ** min(self.request.retries, 8), 300)) from transient
    except AuthLost:
        pass


@shared_task
def invoices_sweep_task() -> int:
    """Beat: re-queue pending pushes whose message was lost between commit and publish."""
    due = invoice_sync.invoices_due()
    for invoice_id in due:
        invoice_push_task.delay(invoice_id)
    return len(due)
