"""Platform health for the people who run Platform CRM (superusers only): every account's Xero
connection, how long it has been quiet, what failed in the last day, the oldest work still
waiting and how far its invoice outbox lags. Mounted at /ops/ (xero_sync.ops.urls)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timesince

from platform_crm.models import Account

from ..models import ConnectionStatus, XeroConnection
from ..reconcile.models import ReconciliationRun
from ..reconcile.selectors import checked_ago, last_runs
from .selectors import connection_health_list, invoice_outbox_total

if TYPE_CHECKING:
    from .selectors import AccountWithHealth

ACCOUNTS_PER_PAGE = 100
HEALTH_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class AccountHealth:
    account: Account
    connection: XeroConnection | None
    inactive_days: int | None
    failed_calls: int
    failed_events: int
    oldest_pending_import_at: datetime | None
    invoices_pending: int
    invoices_failed: int
    invoices_waiting: int
    invoices_held: int  # waiting for an admin's decision about their contact
    outbox_lag: timedelta | None  # since the oldest pending invoice push became due
    quarantined: int  # records from Xero that could not be stored, still held
    bytes_today: int = 0  # received from Xero since midnight (data egress)
    reconciliation: ReconciliationRun | None = None  # the last finished comparison with Xero

    @property
    def needs_attention(self) -> bool:
        return bool(
            self.failed_calls
            or self.failed_events
            or self.invoices_failed
            or self.invoices_held
            or self.quarantined
            or (self.reconciliation and self.reconciliation.left)
            or (self.connection and self.connection.status == ConnectionStatus.NEEDS_RECONNECT)
        )

    @property
    def reconciled_text(self) -> str:
        """ "2 hours ago (full)", or "never"."""
        run = self.reconciliation
        if run is None or run.finished_at is None:
            return "never"
        return checked_ago(run.finished_at, timezone.now()) + (" (full)" if run.full else "")

    @property
    def outbox_lag_text(self) -> str:
        return lag_text(self.outbox_lag)


@dataclass(frozen=True)
class OutboxTotal:
    """The platform's invoice outbox: pushes pending and the lag of the oldest."""

    pending: int
    lag: timedelta | None

    @property
    def lag_text(self) -> str:
        return lag_text(self.lag)


def _lag(due_at: datetime | None, now: datetime) -> timedelta | None:
    """How long work has been due and not done; a retry scheduled for later is not late yet."""
    return max(now - due_at, timedelta(0)) if due_at else None


def lag_text(lag: timedelta | None) -> str:
    """ "3 hours, 5 minutes"; "—" when nothing is pending."""
    if lag is None:
        return "—"
    reference = datetime(2000, 1, 1, tzinfo=UTC)  # any instant: only the difference is shown
    return timesince(reference, reference + lag)


def _health(
    account: "AccountWithHealth", now: datetime, runs: dict[int, ReconciliationRun]
) -> AccountHealth:
    connection = getattr(account, "xero_connection", None)
    last = connection and (connection.last_activity_at or connection.connected_at)
    return AccountHealth(
        account=account,
        connection=connection,
        inactive_days=(now - last).days if last else None,
        failed_calls=account.failed_calls,
        failed_events=account.failed_events,
        oldest_pending_import_at=account.oldest_pending_import_at,
        invoices_pending=account.invoices_pending,
        invoices_failed=account.invoices_failed,
        invoices_waiting=account.invoices_waiting,
        invoices_held=account.invoices_held,
        outbox_lag=_lag(account.oldest_invoice_due_at, now),
        quarantined=account.quarantined,
        bytes_today=account.bytes_today,
        reconciliation=runs.get(connection.pk) if connection else None,
    )


def ops_health(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise Http404("No such page")  # the page's existence is not advertised
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    accounts = connection_health_list(since=now - HEALTH_WINDOW, today_from=midnight)
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    total = invoice_outbox_total()
    connections = [a.xero_connection.pk for a in page if getattr(a, "xero_connection", None)]
    runs = last_runs(connections)
    context = {
        "outbox": OutboxTotal(pending=total["pending"], lag=_lag(total["oldest_due_at"], now)),
        "page": page,
        "rows": [_health(account, now, runs) for account in page],
        "now": now,
        "Status": ConnectionStatus,
    }
    return render(request, "ops/health.html", context)
