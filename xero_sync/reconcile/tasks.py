"""Reconciliation tasks: one run, and beat's daily start (which also finds lost runs)."""

from typing import Any

from celery import Task, shared_task

from platform_crm.queueing import RETRY_COUNTDOWN_CAP

from ..client.errors import AuthLost, RateLimited, Transient
from . import run as reconcile


@shared_task(
    name="xero_sync.tasks.reconciliation_task", bind=True, acks_late=True, max_retries=None
)
def reconciliation_task(self: Task[Any, Any], run_id: int) -> None:
    # The run keeps its checkpoint: a retry goes on from the page it stopped at.
    try:
        reconcile.reconciliation_run(run_id)
    except RateLimited as limited:
        raise self.retry(countdown=min(limited.retry_after, RETRY_COUNTDOWN_CAP)) from limited
    except Transient as transient:
        if self.request.retries >= 10:
            reconcile.reconciliation_fail(run_id, f"Xero did not answer ({transient.message}).")
            return
        raise self.retry(countdown=min(2**self.request.retries, 300)) from transient
    except AuthLost:
        reconcile.reconciliation_fail(run_id, "Xero's sign-in was lost: reconnect, then check.")


@shared_task(name="xero_sync.tasks.reconciliations_due_task")
def reconciliations_due_task() -> int:
    """Beat: each connected organisation is compared with Xero once a day, and a run whose
    task was lost is queued again (it resumes at its checkpoint)."""
    return reconcile.reconciliations_due()
