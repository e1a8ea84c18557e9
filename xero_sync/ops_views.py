"""Platform health for the people who run Platform CRM (superusers only): every account's Xero
connection, how long it has been quiet, what failed in the last day and the oldest work still
waiting. Mounted at /ops/ by platform_crm/urls.py, which includes this module's urlpatterns."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from platform_crm.models import Account

from .models import ConnectionStatus, XeroConnection
from .selectors import connection_health_list

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

    @property
    def needs_attention(self) -> bool:
        return bool(
            self.failed_calls
            or self.failed_events
            or (self.connection and self.connection.status == ConnectionStatus.NEEDS_RECONNECT)
        )


def _health(account: Account, now: datetime) -> AccountHealth:
    connection = getattr(account, "xero_connection", None)
    last = connection and (connection.last_activity_at or connection.connected_at)
    return AccountHealth(
        account=account,
        connection=connection,
        inactive_days=(now - last).days if last else None,
        failed_calls=account.failed_calls,
        failed_events=account.failed_events,
        oldest_pending_import_at=account.oldest_pending_import_at,
    )


def ops_health(request):
    if not request.user.is_superuser:
        raise Http404("No such page")  # the page's existence is not advertised
    now = timezone.now()
    page = Paginator(connection_health_list(since=now - HEALTH_WINDOW), ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "rows": [_health(account, now) for account in page],
        "now": now,
        "Status": ConnectionStatus,
    }
    return render(request, "ops/health.html", context)


app_name = "ops"
urlpatterns = [path("health/", ops_health, name="health")]
