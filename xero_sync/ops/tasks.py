from celery import shared_task

from .failure_mail import failure_digests_send


@shared_task(name="xero_sync.tasks.failure_digests_task")
def failure_digests_task() -> int:
    """Beat: one digest per account for invoice failures not yet emailed."""
    return failure_digests_send()
