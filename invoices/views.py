from django.shortcuts import render

from platform_crm.tenancy import account_view


@account_view()
def invoice_index(request, account):
    # Invoices and payments are not built yet; the page says so rather than pretending.
    return render(request, "invoices/index.html", {})
