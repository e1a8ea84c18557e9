import logging
from typing import Any

from celery import Task, shared_task

from ..client.errors import RateLimited, Transient
from ..models import XeroConnection
from .pull import items_import

log = logging.getLogger(__name__)


@shared_task(name="xero_sync.tasks.items_import_task", bind=True, acks_late=True, max_retries=5)
def items_import_task(self: Task[Any, Any], connection_id: int) -> None:
    """At connection: the items made in Xero come in as products. Safe to run twice (each
    item is linked once)."""
    connection = XeroConnection.objects.filter(pk=connection_id).first()
    if connection is None or not connection.is_usable:
        return
    try:
        result = items_import(connection)
    except RateLimited as wait:
        raise self.retry(countdown=wait.retry_after) from wait
    except Transient as error:
        raise self.retry(countdown=60) from error
    log.info("items imported: %s", result.in_words(), extra={"connection_id": connection_id})
