"""Refresh items from Xero: a person brings in what was made there since, from the products
page (the panel xero_sync registers on it)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from platform_crm.models import Account
from platform_crm.tenancy import AccountRequest, account_view

from ..client.errors import XeroError
from ..connection.activity import connection_record_activity
from ..connection.selectors import connection_get
from .pull import items_import


@account_view()
@require_POST
def xero_items_refresh(request: AccountRequest, account: Account) -> HttpResponse:
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        messages.error(request, "Xero is not connected: there is nothing to refresh from.")
    else:
        try:
            result = items_import(connection)
        except XeroError as error:
            messages.error(request, f"Xero's items could not be read: {error.message}")
        else:
            connection_record_activity(connection)
            messages.success(request, f"Items from Xero: {result.in_words()}.")
    return redirect("invoices:products", account_slug=account.slug)
