from django.shortcuts import render

from platform_crm.models import Role
from platform_crm.tenancy import account_view


@account_view(role=Role.ADMIN)
def integration_index(request, account):
    # The Xero connection itself is not built yet; the page shows it as unavailable.
    return render(request, "xero_sync/integrations.html", {})
