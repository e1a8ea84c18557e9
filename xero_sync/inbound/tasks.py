"""A person's Retry of a record held in quarantine."""

from typing import Any

from celery import Task, shared_task

from platform_crm.queueing import RETRY_COUNTDOWN_CAP

from ..client.errors import AuthLost, RateLimited, Transient
from . import refetch


@shared_task(name="xero_sync.tasks.quarantine_retry_task", bind=True, acks_late=True, max_retries=5)
def quarantine_retry_task(self: Task[Any, Any], record_id: int) -> None:
    """A person's Retry of a record from Xero held in quarantine."""
    try:
        refetch.quarantine_refetch(record_id)
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        raise self.retry(countdown=30) from transient
    except AuthLost:
        pass  # the connection is marked; Retry again after reconnecting
