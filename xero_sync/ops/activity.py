"""The account's Sync activity page: in plain words, what the integration did, what went wrong
and how much of today's Xero budget is left; and, one click away for ops, the technical detail
(every call with its operation and idempotency key, webhook events, Xero ids). Reads only,
through selectors, in a fixed number of queries."""

from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..connection.models import XeroConnection
from ..connection.selectors import connection_get
from ..contacts.selectors import (
    contact_conflicts_recent,
    contact_outbox_summary,
    contact_syncs_failed,
)
from .selectors import (
    activity_problems,
    contact_import_recent,
    invoice_outbox_summary,
    invoice_sync_events,
    invoice_sync_list,
    webhook_delivery_count,
    webhook_event_recent,
    xero_call_list,
    xero_call_summary,
    xero_day_budget,
    xero_failures_by_cause,
)

EVENTS_PER_PAGE = 20
CALLS_PER_PAGE = 50
WINDOW = timedelta(days=7)


def _window(
    account: Account,
) -> tuple[XeroConnection | None, datetime, datetime, dict[str, object]]:
    """The connection, now, the start of the window looked back on, and the base context."""
    connection = connection_get(account)
    now = timezone.now()
    return connection, now, now - WINDOW, {"connection": connection, "window_days": WINDOW.days}


@account_view(role=Role.ADMIN)
def xero_activity(request: AccountRequest, account: Account) -> HttpResponse:
    connection, now, since, context = _window(account)
    if connection is not None:
        events = Paginator(invoice_sync_events(account), EVENTS_PER_PAGE)
        context |= {
            "problems": activity_problems(account, connection=connection, since=since),
            "budget": xero_day_budget(account, connection=connection, now=now),
            "calls": xero_call_summary(account, since=since),
            "outbox": invoice_outbox_summary(account),
            "invoice_events": events.get_page(request.GET.get("page")),
            "imports": contact_import_recent(account, limit=5),
            "contact_outbox": contact_outbox_summary(account, since=since),
            "contact_conflicts": contact_conflicts_recent(account),
            "contacts_not_sent": contact_syncs_failed(account),
        }
    return render(request, "xero_sync/activity.html", context)


@account_view(role=Role.ADMIN)
def xero_activity_technical(request: AccountRequest, account: Account) -> HttpResponse:
    connection, _, since, context = _window(account)
    if connection is not None:
        calls = Paginator(xero_call_list(account), CALLS_PER_PAGE).get_page(request.GET.get("page"))
        context |= {
            "calls": calls,
            "failures": xero_failures_by_cause(account, since=since),
            "events": webhook_event_recent(account, connection=connection),
            "delivery_count": webhook_delivery_count(account, connection=connection, since=since),
            "invoice_syncs": invoice_sync_list(account)[:EVENTS_PER_PAGE],
        }
    return render(request, "xero_sync/activity_technical.html", context)
