"""The past-invoices page: choose a date, preview what comes in (how many, their total, which
contacts they need), bring them in exactly as previewed, and watch the progress bar."""

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from platform_crm.forms import id_from
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..connection.activity import connection_record_activity
from ..connection.views import to_integrations
from ..contacts.views import usable_connection
from ..forms import EarlierInvoicesForm
from . import past
from .models import PastInvoiceImport


def _page(account: Account, run: PastInvoiceImport) -> str:
    return f"{reverse('xero_sync:past_invoices', args=[account.slug])}?run={run.pk}"


@account_view(role=Role.ADMIN)
def xero_past_invoices(request: AccountRequest, account: Account) -> HttpResponse:
    connection = usable_connection(request, account)
    if connection is None:
        return to_integrations(account)
    runs = connection.past_invoice_imports.all()
    form = EarlierInvoicesForm(initial={"since": date(date.today().year, 1, 1)})
    if request.method == "POST":
        previewed = id_from(request.POST.get("previewed"))
        if previewed:  # "Bring these in" under a preview: the same date, whatever the form says
            preview = get_object_or_404(runs, pk=previewed, is_preview=True)
            run = past.past_import_start(
                connection=connection, since=preview.since, preview=False, user=request.user
            )
            connection_record_activity(connection)
            return redirect(_page(account, run))
        form = EarlierInvoicesForm(request.POST)
        if form.is_valid():
            run = past.past_import_start(
                connection=connection,
                since=form.cleaned_data["since"],
                preview=request.POST.get("action") != "import",
                user=request.user,
            )
            return redirect(_page(account, run))
        messages.error(request, "Choose the date the invoices are to come from.")
    run_id = id_from(request.GET.get("run"))
    shown = (runs.filter(pk=run_id).first() if run_id else None) or runs.first()
    if shown is not None and request.method != "POST":
        form = EarlierInvoicesForm(initial={"since": shown.since})
    return render(
        request,
        "xero_sync/past_invoices.html",
        {"connection": connection, "form": form, "run": shown},
    )


@account_view(role=Role.ADMIN)
def xero_past_invoices_progress(
    request: HttpRequest, account: Account, run_pk: int
) -> HttpResponse:
    """The progress fragment, polled by htmx while the run is under way."""
    run = get_object_or_404(PastInvoiceImport, connection__account=account, pk=run_pk)
    return render(request, "xero_sync/_past_invoices_progress.html", {"run": run})
