"""What the Integrations page and /ops/health/ show of the reconciliation."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.timesince import timesince

from ..models import XeroConnection
from .models import ReconciliationDifference, ReconciliationRun, RunStatus

DIFFERENCES_SHOWN = 50


def checked_ago(when: datetime, now: datetime) -> str:
    """ "just now", "2 hours ago"."""
    if now - when < timedelta(minutes=1):
        return "just now"
    return f"{timesince(when, now).split(',')[0]} ago".replace("\xa0", " ")


def agreement_sentence(run: ReconciliationRun, now: datetime) -> str:
    """ "CRM and Xero agree: checked 2 hours ago, 10,234 invoices and 3,120 contacts, 0
    differences" (with "…, 12 credit notes and …" where there are some), or how many differ."""
    when = checked_ago(run.finished_at or run.created_at, now)
    counted = _many(run.invoices_linked, "invoice")
    if run.credit_notes_linked:  # "10,234 invoices, 12 credit notes and 3,120 contacts"
        counted += f", {_many(run.credit_notes_linked, 'credit note')}"
    counted += f" and {_many(run.contacts_linked, 'contact')}"
    if run.differences == 0:
        return f"CRM and Xero agree: checked {when}, {counted}, 0 differences"
    return f"CRM and Xero differ: checked {when}, {counted}, {_many(run.differences, 'difference')}"


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class BooksSummary:
    last: ReconciliationRun | None  # the last finished run
    under_way: ReconciliationRun | None
    sentence: str
    differences: list[ReconciliationDifference]
    failed: ReconciliationRun | None = None  # the latest run, when it could not finish


def books_summary(connection: XeroConnection) -> BooksSummary:
    runs = ReconciliationRun.objects.filter(connection=connection)
    last = runs.filter(status=RunStatus.DONE).first()
    under_way = runs.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).first()
    differences = list(last.found.all()[:DIFFERENCES_SHOWN]) if last else []
    sentence = agreement_sentence(last, timezone.now()) if last else ""
    latest = runs.first()
    failed = latest if latest is not None and latest.status == RunStatus.FAILED else None
    return BooksSummary(last, under_way, sentence, differences, failed)


def last_runs(connection_ids: list[int]) -> dict[int, ReconciliationRun]:
    """Each connection's last finished run, in one query (for /ops/health/'s page of accounts)."""
    runs: QuerySet[ReconciliationRun] = (
        ReconciliationRun.objects.filter(connection_id__in=connection_ids, status=RunStatus.DONE)
        .order_by("connection_id", "-created_at", "-id")
        .distinct("connection_id")
    )
    return {run.connection_id: run for run in runs}
