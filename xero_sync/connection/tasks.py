from celery import shared_task

from .inactivity import connections_disconnect_inactive


@shared_task(name="xero_sync.tasks.disconnect_inactive_connections_task")
def disconnect_inactive_connections_task() -> dict[str, int]:
    return connections_disconnect_inactive()
