from celery import shared_task

from .dispatch import delivery_process
from .own_writes import own_writes_forget
from .store import deliveries_sweep


@shared_task(name="xero_sync.tasks.process_webhook_delivery_task", acks_late=True)
def process_webhook_delivery_task(delivery_id: int) -> None:
    delivery_process(delivery_id)


@shared_task(name="xero_sync.tasks.webhook_deliveries_sweep_task")
def webhook_deliveries_sweep_task() -> int:
    """Beat: queue again deliveries stored but never processed (their message was lost), and
    forget our own writes whose webhook event never came."""
    own_writes_forget()
    return deliveries_sweep()
