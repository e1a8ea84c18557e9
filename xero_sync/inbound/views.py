"""Retry of a record held in quarantine (listed on Sync failures)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from platform_crm.models import Account, Role
from platform_crm.tenancy import account_view

from . import quarantine
from .models import QuarantinedRecord


@account_view(role=Role.ADMIN)
@require_POST
def xero_quarantine_retry(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    record = get_object_or_404(
        QuarantinedRecord, connection__account=account, pk=pk, resolved_at=None
    )
    quarantine.quarantine_retry(record=record)
    what = record.label or record.xero_id or "the record"
    messages.success(
        request,
        f"Fetching {record.get_kind_display().lower()} {what} from Xero again; it leaves this "
        "list once it is stored.",
    )
    return redirect("xero_sync:failures", account_slug=account.slug)
