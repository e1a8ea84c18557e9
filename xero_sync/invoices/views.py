"""Sending the invoices written before the connection, and the invoice page's badge with its
actions (Retry, Use the next free number)."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from invoices.selectors import invoice_get
from invoices.services import invoice_renumber
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from .. import selectors
from ..client.errors import XeroError
from ..connection.activity import connection_record_activity
from ..connection.selectors import connection_get
from ..connection.views import to_integrations
from ..forms import EarlierInvoicesForm
from ..models import XeroConnection
from ..organisation.services import currency_add, organisation_settings_refresh
from . import outbox
from .in_xero import invoice_email_request, invoice_online_link_read
from .models import InvoiceSync

# Failures whose fix may be made in Xero: its settings are read again on Retry.
SETTINGS_CAUSES = ("currency", "lock_date", "branding_theme", "tracking")


def send_earlier_and_say(request: HttpRequest, connection: XeroConnection, since: date) -> None:
    sent = outbox.invoices_send_earlier(connection=connection, since=since)
    if sent:
        messages.success(
            request,
            f"Sending {sent} earlier invoice{pluralize(sent)} to Xero, "
            f"dated from {since:%-d %b %Y}.",
        )
    else:
        messages.info(request, f"No invoice dated from {since:%-d %b %Y} is left to send.")


@account_view(role=Role.ADMIN)
def xero_earlier_invoices(request: HttpRequest, account: Account) -> HttpResponse:
    """ "Send N earlier invoices to Xero": GET counts those dated from ?since= (the button's
    words, for htmx), POST sends them."""
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        messages.info(request, "Connect Xero first.")
        return to_integrations(account)
    form = EarlierInvoicesForm(request.POST or request.GET)
    if request.method == "POST":
        if form.is_valid():
            send_earlier_and_say(request, connection, form.cleaned_data["since"])
            connection_record_activity(connection)
        else:
            messages.error(request, "Give the date from which to send invoices.")
        return to_integrations(account)
    since = form.cleaned_data["since"] if form.is_valid() else None
    count = selectors.earlier_invoices(account, since=since).count()
    return HttpResponse(f"{count} earlier invoice{pluralize(count)}")


@account_view()
@require_POST
def invoice_sync_retry(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    """Staff press Retry on an invoice that did not reach Xero (after fixing the cause)."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    if sync.error_cause in SETTINGS_CAUSES:
        # The fix may have been made in Xero (a lock date moved, a currency added there).
        organisation_settings_refresh(sync.connection, force=True)
    outbox.invoice_sync_retry(sync)
    messages.success(request, "Sending the invoice to Xero again.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view()
def invoice_sync_badge(request: HttpRequest, account: Account, invoice_pk: int) -> HttpResponse:
    """The invoice page's Xero badge alone: polled by htmx while the push is under way."""
    invoice = invoice_get(account, invoice_pk)
    return render(request, "xero_sync/invoice_badge.html", {"invoice": invoice})


@account_view()
@require_POST
def invoice_sync_renumber(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    """ "Use the next free number" on an invoice whose number Xero already holds."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    invoice = sync.invoice
    old = invoice.number
    try:
        invoice_renumber(invoice=invoice)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Invoice {old} is now {invoice.number}; sending it to Xero.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view(role=Role.ADMIN)
@require_POST
def invoice_sync_add_currency(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    """An admin adds the invoice's currency to Xero, on purpose (Xero cannot remove one), from
    the invoice's failure; the invoice is then sent again."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    code = sync.invoice.currency
    try:
        currency_add(connection=sync.connection, code=code, user=request.user)
    except ValueError:
        messages.error(request, f"{code} is not a currency Xero knows; change the invoice's.")
    except XeroError as error:
        messages.error(request, f"Xero did not add {code}: {error.message}")
    else:
        outbox.invoice_sync_retry(sync)
        messages.success(request, f"{code} is now enabled in Xero; sending the invoice again.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view()
@require_POST
def invoice_sync_email(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    """ "Email from Xero": Xero sends its own email of the invoice to the contact."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    try:
        invoice_email_request(sync=sync, user=request.user)
    except ValidationError as refused:
        for message in refused.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Xero is emailing the invoice to the contact.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view()
@require_POST
def invoice_sync_online_link(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    """ "Get the online link": read once from Xero and kept, to copy to the customer."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    try:
        found = invoice_online_link_read(sync)
    except ValidationError as refused:
        for message in refused.messages:
            messages.error(request, message)
    except XeroError as error:
        messages.error(request, f"Xero did not give the online link: {error.message}")
    else:
        if found:
            messages.success(request, "The invoice's online link is ready to copy.")
        else:
            messages.error(request, "Xero answered without an online link; try again later.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)
