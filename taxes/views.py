from django.shortcuts import render

from platform_crm.models import Role
from platform_crm.tenancy import account_view

from .selectors import tax_rate_list


@account_view(role=Role.ADMIN)
def tax_rate_index(request, account):
    return render(request, "taxes/index.html", {"tax_rates": tax_rate_list(account)})
