"""Check now: an admin starts a comparison with Xero from the Integrations page."""

from django.contrib import messages
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..connection.activity import connection_record_activity
from ..connection.selectors import connection_get
from ..connection.views import to_integrations
from .run import reconciliation_start


@account_view(role=Role.ADMIN)
@require_POST
def xero_reconcile(request: AccountRequest, account: Account) -> HttpResponse:
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        messages.error(request, "Connect to Xero first: there is nothing to compare yet.")
        return to_integrations(account)
    run = reconciliation_start(connection=connection, user=request.user)
    connection_record_activity(connection)
    messages.success(
        request,
        "Comparing the CRM with Xero"
        + (" (every invoice and contact)" if run.full else " (what changed since the last check)")
        + ": this page shows the result when it is done.",
    )
    return to_integrations(account)
