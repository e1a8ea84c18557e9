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
from platform_crm.tenancy import account_view

from .. import selectors
from ..connection.activity import connection_record_activity
from ..connection.selectors import connection_get
from ..connection.views import to_integrations
from ..forms import EarlierInvoicesForm
from ..models import XeroConnection
from . import outbox
from .models import InvoiceSync


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
