from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from platform_crm.forms import id_from
from platform_crm.models import Account, Role
from platform_crm.tenancy import account_view

from .. import selectors
from ..client.errors import XeroError
from ..connection.activity import connection_record_activity
from ..connection.selectors import connection_get
from ..connection.views import to_integrations
from ..models import ConnectionStatus
from . import services as tax_mapping


@account_view(role=Role.ADMIN)
def xero_tax_mapping(request: HttpRequest, account: Account) -> HttpResponse:
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
            pk: str(value)
            for key, value in request.POST.items()
            # id_from: a key of 100,000 digits is no id (int() of it raises).
            if key.startswith("map-") and (pk := id_from(key.removeprefix("map-")))
        }
        saved = tax_mapping.tax_mappings_save(
            connection=connection,
            chosen=chosen,
            user=request.user if isinstance(request.user, User) else None,
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
