"""What the resumable runs through Xero's pages share (the contact import, the past-invoice
import, and their previews): their state and checkpoint columns, the checkpoint taken as each
page commits, the task's waits for Xero, and the sweep's test for a run whose task was lost."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from platform_crm.advisory_locks import advisory_lock_free
from platform_crm.queueing import RETRY_COUNTDOWN_CAP

from .client.errors import AuthLost, RateLimited, Transient


class ImportStatus(models.TextChoices):
    PREVIEWING = "previewing", "Counting"
    PREVIEWED = "previewed", "Ready to import"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


UNDER_WAY = [ImportStatus.PREVIEWING, ImportStatus.QUEUED, ImportStatus.RUNNING]
FINISHED = (ImportStatus.DONE, ImportStatus.PREVIEWED, ImportStatus.FAILED)


class ResumableRun(models.Model):
    """A run (or a preview) paged through Xero, resumable at its checkpoint."""

    status = models.CharField(max_length=20, choices=ImportStatus.choices)
    is_preview = models.BooleanField(default=False)
    # Checkpoint: the next Xero page to read; pages before it are fully applied.
    next_page = models.PositiveIntegerField(default=1)
    page_count = models.PositiveIntegerField(null=True, blank=True)  # as Xero reported it
    item_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When it last moved: created, or a page applied.
    progressed_at = models.DateTimeField(default=timezone.now)
    # When its task is next due to start: queued now, or retried after a wait for Xero.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def begin(self, *, connected: bool) -> bool:
        """Whether the run goes on now: not once finished, nor while Xero is not connected
        (said on the run; a reconnect resumes it). A queued run is now running."""
        if self.status in FINISHED:
            return False
        if not connected:
            self.error = "Waiting for Xero to be reconnected."
            self.save(update_fields=["error"])
            return False
        if self.status == ImportStatus.QUEUED:
            self.status, self.error = ImportStatus.RUNNING, ""
            self.save(update_fields=["status", "error"])
        return True

    def page_done(
        self, *, received: int, page_size: int, paging: dict[str, int], final: bool = True
    ) -> bool:
        """The checkpoint after a page is applied (the caller saves it in the page's
        transaction). True on the last page: a short one, or a full one when Xero's pagination
        says so (100,000 records are 100 calls, not 101 with an empty page at the end). A run
        of several parts is finished by its `final` part's last page only."""
        self.next_page += 1
        self.page_count = paging.get("pageCount", self.page_count)
        self.item_count = paging.get("itemCount", self.item_count)
        last = received < page_size or self.next_page > paging.get("pageCount", self.next_page)
        now = timezone.now()
        if last and final:
            self.status = ImportStatus.PREVIEWED if self.is_preview else ImportStatus.DONE
            self.finished_at = now
        self.progressed_at = now
        return last


def runs_stalled(runs: QuerySet[Any], lock_name: Callable[[int], str]) -> list[int]:
    """Runs under way with no live task: neither moved nor due to start for a while
    (settings.XERO_STALLED_AFTER), and nobody holds the run's lock. Runs waiting for a
    reconnect are left to it."""
    cutoff = timezone.now() - timedelta(seconds=settings.XERO_STALLED_AFTER)
    candidates = runs.filter(
        Q(status__in=UNDER_WAY)
        & Q(next_attempt_at__lt=cutoff)
        & Q(progressed_at__lt=cutoff)
        & Q(connection__status="connected")
    ).values_list("pk", flat=True)
    return [pk for pk in candidates if advisory_lock_free(lock_name(pk))]


def run_wait(runs: QuerySet[Any], run_id: int, seconds: float) -> None:
    """The run's task retries in `seconds` (Xero asked us to wait): the sweep leaves it be
    until then."""
    runs.filter(pk=run_id).update(next_attempt_at=timezone.now() + timedelta(seconds=seconds))


def run_waiting_for_xero(
    task: Task[Any, Any],
    run_id: int,
    run: Callable[[int], object],
    runs: QuerySet[Any],
    failed: Callable[[int, str], None],
) -> None:
    """A run's task body: waits Xero asks for (and transient failures, backing off) are
    retries, each also written on the run so the sweep leaves it be until then and finds it
    if the retry's message is lost."""

    def wait(seconds: float) -> None:
        run_wait(runs, run_id, seconds)

    try:
        run(run_id)
    except RateLimited as limited:
        countdown = min(limited.retry_after, RETRY_COUNTDOWN_CAP)
        wait(countdown)
        raise task.retry(countdown=countdown) from limited
    except Transient as transient:
        if task.request.retries >= 10:
            failed(run_id, transient.message)
            return
        countdown = min(2**task.request.retries, 300)
        wait(countdown)
        raise task.retry(countdown=countdown) from transient
    except AuthLost:
        pass  # the connection is marked; the run resumes after a reconnect
