"""The account's Sync activity page: what the integration did, what failed and why, and how
much of today's Xero budget is left. Reads only, through selectors."""

from datetime import timedelta

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from platform_crm.models import Role
from platform_crm.tenancy import account_view

from .models import ConnectionStatus
from .selectors import (
    connection_get,
    contact_import_recent,
    invoice_outbox_summary,
    invoice_sync_events_recent,
    webhook_delivery_count,
    webhook_event_recent,
    xero_call_list,
    xero_day_budget,
    xero_failures_by_cause,
)

CALLS_PER_PAGE = 50
FAILURE_WINDOW = timedelta(days=7)


@account_view(role=Role.ADMIN)
def xero_activity(request, account):
    connection = connection_get(account)
    now = timezone.now()
    since = now - FAILURE_WINDOW
    context = {"connection": connection, "Status": ConnectionStatus, "window_days": 7}
    if connection is not None:
        calls = Paginator(xero_call_list(account), CALLS_PER_PAGE).get_page(request.GET.get("page"))
        context |= {
            "calls": calls,
            "events": webhook_event_recent(account, connection=connection),
            "delivery_count": webhook_delivery_count(account, connection=connection, since=since),
            "imports": contact_import_recent(account),
            "failures": xero_failures_by_cause(account, since=since),
            "budget": xero_day_budget(account, connection=connection, now=now),
            "outbox": invoice_outbox_summary(account),
            "invoice_events": invoice_sync_events_recent(account),
        }
    return render(request, "xero_sync/activity.html", context)
