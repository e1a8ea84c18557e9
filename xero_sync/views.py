from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from invoices.selectors import invoice_get
from invoices.services import invoice_renumber
from platform_crm.forms import id_from
from platform_crm.models import Role
from platform_crm.tenancy import account_view

from . import (
    selectors,
)
from .client.errors import XeroError
from .connection.activity import connection_record_activity
from .connection.selectors import connection_get
from .connection.views import chart_accounts_cached, sales_account_summary, to_integrations
from .contacts import imports
from .contacts.views import contact_groups_read, filter_from_post, usable_connection
from .forms import ContactFilterChoice, EarlierInvoicesForm
from .invoices import outbox as invoice_outbox
from .models import (
    ConnectionStatus,
    InvoiceSync,
)
from .ops.selectors import recent_calls
from .taxes import services as tax_mapping


@account_view(role=Role.ADMIN)
def integration_index(request, account):
    connection = connection_get(account)
    usable = connection is not None and connection.is_usable
    # Contacts not imported yet: when all of them will be (set-up left before its last step).
    due = imports.contacts_import_due_at(connection) if usable else None
    context = {
        "connection": connection,
        "contact_import": selectors.contact_import_last(connection) if connection else None,
        "contacts_due_at": due,
        "contacts_due_soon": due is not None and due <= timezone.now(),
        "earlier_offer": selectors.earlier_invoices_offer(account) if usable else None,
        "calls": recent_calls(account) if connection else [],
        "unmapped": tax_mapping.unmapped_tax_rates(account) if connection else [],
        "sales_account": sales_account_summary(connection, chart_accounts_cached(connection))
        if connection
        else None,
        "Status": ConnectionStatus,
    }
    return render(request, "xero_sync/integrations.html", context)


@account_view(role=Role.ADMIN)
def xero_tax_mapping(request, account):
    connection = connection_get(account)
    if connection is None or connection.status not in (
        ConnectionStatus.CONNECTED,
        ConnectionStatus.NEEDS_RECONNECT,
    ):
        messages.info(request, "Connect Xero first; tax rates are mapped to its organisation.")
        return to_integrations(account)
    refresh = request.method == "POST" and "refresh" in request.POST
    if refresh or (connection.is_usable and not connection.tax_rates.exists()):
        try:
            tax_mapping.xero_tax_rates_refresh(connection)
            connection_record_activity(connection)
        except XeroError as error:
            messages.error(request, f"Could not read Xero's tax rates: {error.message}")
        if refresh:
            return redirect("xero_sync:tax_mapping", account_slug=account.slug)
    elif request.method == "POST":
        chosen = {
            pk: value
            for key, value in request.POST.items()
            # id_from: a key of 100,000 digits is no id (int() of it raises).
            if key.startswith("map-") and (pk := id_from(key.removeprefix("map-")))
        }
        saved = tax_mapping.tax_mappings_save(
            connection=connection, chosen=chosen, user=request.user
        )
        for refused in saved.refused:
            messages.error(request, refused)
        if saved.mapped or saved.cleared:
            done = [f"mapped {', '.join(saved.mapped)}"] if saved.mapped else []
            if saved.cleared:
                done.append(f"{', '.join(saved.cleared)} no longer mapped")
            messages.success(request, f"Saved: {'; '.join(done)}.")
            connection_record_activity(connection)
        elif not saved.refused:
            messages.info(request, "Nothing changed.")
        return redirect("xero_sync:tax_mapping", account_slug=account.slug)
    rows = tax_mapping.mapping_rows(connection)
    fetched = connection.tax_rates.order_by("-fetched_at").values_list("fetched_at", flat=True)
    return render(
        request,
        "xero_sync/tax_mapping.html",
        {
            "rows": rows,
            "connection": connection,
            "fetched_at": fetched.first(),
            # Set-up goes on to its contacts step until contacts have started coming in.
            "setting_up": connection.is_usable
            and selectors.contact_import_last(connection) is None,
        },
    )


@account_view(role=Role.ADMIN)
def xero_setup_contacts(request, account):
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
            if send:
                _send_earlier(request, connection, earlier.cleaned_data["since"])
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


def _send_earlier(request, connection, since) -> None:
    sent = invoice_outbox.invoices_send_earlier(connection=connection, since=since)
    if sent:
        messages.success(
            request,
            f"Sending {sent} earlier invoice{pluralize(sent)} to Xero, "
            f"dated from {since:%-d %b %Y}.",
        )
    else:
        messages.info(request, f"No invoice dated from {since:%-d %b %Y} is left to send.")


@account_view(role=Role.ADMIN)
def xero_earlier_invoices(request, account):
    """ "Send N earlier invoices to Xero": GET counts those dated from ?since= (the button's
    words, for htmx), POST sends them."""
    connection = usable_connection(request, account)
    if connection is None:
        return to_integrations(account)
    form = EarlierInvoicesForm(request.POST or request.GET)
    if request.method == "POST":
        if form.is_valid():
            _send_earlier(request, connection, form.cleaned_data["since"])
            connection_record_activity(connection)
        else:
            messages.error(request, "Give the date from which to send invoices.")
        return to_integrations(account)
    since = form.cleaned_data["since"] if form.is_valid() else None
    count = selectors.earlier_invoices(account, since=since).count()
    return HttpResponse(f"{count} earlier invoice{pluralize(count)}")


@account_view()
@require_POST
def invoice_sync_retry(request, account, pk):
    """Staff press Retry on an invoice that did not reach Xero (after fixing the cause)."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    invoice_outbox.invoice_sync_retry(sync)
    messages.success(request, "Sending the invoice to Xero again.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view()
def invoice_sync_badge(request, account, invoice_pk):
    """The invoice page's Xero badge alone: polled by htmx while the push is under way."""
    invoice = invoice_get(account, invoice_pk)
    return render(request, "xero_sync/invoice_badge.html", {"invoice": invoice})


@account_view()
@require_POST
def invoice_sync_renumber(request, account, pk):
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
