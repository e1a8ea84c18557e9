"""The Sync failures page: invoices that did not reach Xero, by cause, with Retry all; records
from Xero that could not be stored; and possible duplicate contacts."""

from typing import cast

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from platform_crm.forms import text_from
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..models import InvoiceSync
from ..selectors import (
    possible_duplicate_count,
    possible_duplicate_list,
    quarantine_count,
    quarantine_list,
)
from .failure_groups import invoice_sync_failure_groups
from .services import invoice_syncs_retry_failed

FAILURES_PER_GROUP = 50
# A cause longer than its column names no failed invoice (CharField: always has a max_length).
MAX_CAUSE_LENGTH = cast(int, InvoiceSync.error_cause.field.max_length)


@account_view(role=Role.ADMIN)
def xero_failures(request: AccountRequest, account: Account) -> HttpResponse:
    """Invoices that did not reach Xero, by cause, each cause with its fix and Retry all; then
    records from Xero that could not be stored, and Xero contacts that may be a CRM contact
    twice, each with what a person can do about it."""
    context = {
        "groups": invoice_sync_failure_groups(account, limit=FAILURES_PER_GROUP),
        "quarantined": quarantine_list(account, limit=FAILURES_PER_GROUP),
        "quarantined_count": quarantine_count(account),
        "duplicates": possible_duplicate_list(account, limit=FAILURES_PER_GROUP),
        "duplicates_count": possible_duplicate_count(account),
    }
    return render(request, "xero_sync/failures.html", context)


@account_view(role=Role.ADMIN)
@require_POST
def xero_failures_retry(request: AccountRequest, account: Account) -> HttpResponse:
    cause = text_from(request.POST.get("cause"), max_length=MAX_CAUSE_LENGTH)
    queued = 0 if cause is None else invoice_syncs_retry_failed(account=account, cause=cause)
    if queued:
        messages.success(request, f"Sending {queued} invoice{pluralize(queued)} to Xero again.")
    else:
        messages.info(request, "No failed invoices of that kind are left to retry.")
    return redirect("xero_sync:failures", account_slug=account.slug)
