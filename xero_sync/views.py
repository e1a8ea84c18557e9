from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from platform_crm.models import Account, Role
from platform_crm.queueing import enqueue_on_commit
from platform_crm.tenancy import AccountRequest, account_view

from . import (
    selectors,
)
from .connection.activity import connection_record_activity
from .connection.selectors import connection_get
from .connection.views import chart_accounts_cached, sales_account_summary, to_integrations
from .contacts import imports
from .contacts.views import contact_groups_read, filter_from_post, usable_connection
from .forms import ContactFilterChoice, EarlierInvoicesForm
from .invoices.views import send_earlier_and_say
from .models import (
    ConnectionStatus,
)
from .ops.selectors import recent_calls, xero_day_report
from .reconcile.selectors import books_summary
from .taxes.services import unmapped_tax_rates


@account_view(role=Role.ADMIN)
def integration_index(request: AccountRequest, account: Account) -> HttpResponse:
    connection = connection_get(account)
    usable = connection is not None and connection.is_usable
    # Contacts not imported yet: when all of them will be (set-up left before its last step).
    due = imports.contacts_import_due_at(connection) if connection and usable else None
    context = {
        "connection": connection,
        "contact_import": selectors.contact_import_last(connection) if connection else None,
        "contacts_due_at": due,
        "contacts_due_soon": due is not None and due <= timezone.now(),
        "earlier_offer": selectors.earlier_invoices_offer(account) if usable else None,
        "calls": recent_calls(account) if connection else [],
        "day_report": xero_day_report(account) if connection else None,
        "unmapped": unmapped_tax_rates(account) if connection else [],
        "sales_account": sales_account_summary(connection, chart_accounts_cached(connection))
        if connection
        else None,
        "books": books_summary(connection) if connection and connection.tenant_id else None,
        "Status": ConnectionStatus,
    }
    return render(request, "xero_sync/integrations.html", context)


@account_view(role=Role.ADMIN)
def xero_setup_contacts(request: AccountRequest, account: Account) -> HttpResponse:
    """Set-up's last step: which contacts come in (all unless chosen otherwise), started here,
    and the invoices written before the connection, sent if wished."""
    connection = usable_connection(request, account)
    if connection is None:
        return to_integrations(account)
    last_import = selectors.contact_import_last(connection)
    groups, groups_error = ([], "") if last_import else contact_groups_read(request, connection)
    offer = selectors.earlier_invoices_offer(account)
    choice = ContactFilterChoice()
    earlier = EarlierInvoicesForm(initial={"since": offer["first"]} if offer else None)
    if request.method == "POST":
        if last_import is None:
            choice = filter_from_post(request.POST, groups)
        send = offer is not None and "send_earlier" in request.POST
        earlier = EarlierInvoicesForm(request.POST if send else None)
        if not choice.error and (not send or earlier.is_valid()):
            if last_import is None:
                run = imports.import_start(
                    connection=connection,
                    preview=False,
                    user=request.user,
                    **choice.start_kwargs(groups or []),
                )
                messages.success(request, f"Importing contacts from Xero: {run.filter_in_words()}.")
                # Items made in Xero come in as products alongside.
                enqueue_on_commit("xero_sync.tasks.items_import_task", connection.pk)
            if send:
                send_earlier_and_say(request, connection, earlier.cleaned_data["since"])
            connection_record_activity(connection)
            return to_integrations(account)
        if choice.error:
            messages.error(request, choice.error)
    return render(
        request,
        "xero_sync/setup_contacts.html",
        {
            "connection": connection,
            "groups": groups,
            "groups_error": groups_error,
            "choice": choice,
            "last_import": last_import,
            "offer": offer,
            "earlier": earlier,
        },
    )
