from celery import shared_task

from . import services, webhooks


@shared_task(acks_late=True)
def process_webhook_delivery_task(delivery_id: int) -> None:
    webhooks.delivery_process(delivery_id)


@shared_task
def disconnect_inactive_connections_task() -> dict[str, int]:
    return services.connections_disconnect_inactive()
