"""The connection's pages: connect, Xero's callback, choose the organisation, cancel, the
payment and sales accounts from the chart of accounts, disconnect, keep."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from platform_crm.confirmation import Confirmation, confirmation_page, confirmed
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..client import LedgerAccount
from ..client.errors import AuthLost, NotConfigured, XeroError
from . import ledger, oauth, services, tokens
from .calls import xero_client_for
from .models import UNFINISHED_STATUSES, ConnectionStatus, XeroConnection
from .selectors import connection_get, tenant_ids_held_elsewhere

ACCOUNTS_CACHE_SECONDS = 600


def to_integrations(account: Account) -> HttpResponseRedirect:
    return redirect("xero_sync:integrations", account_slug=account.slug)


@account_view(role=Role.ADMIN)
@require_POST
def xero_connect(request: AccountRequest, account: Account) -> HttpResponse:
    """Connect and Reconnect both start here: off to Xero's consent page. One connection is
    under way at a time: an unfinished one is cancelled first."""
    connection = connection_get(account)
    if connection is not None and connection.status in UNFINISHED_STATUSES:
        services.connection_cancel(connection=connection)
    return redirect(oauth.authorization_url(request, account))


def _names(names: list[str]) -> str:
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


@login_required
def xero_callback(request: HttpRequest) -> HttpResponse:
    """Xero sends the browser back here (one fixed redirect URI for every account)."""
    try:
        account_id, verifier = oauth.authorization_claim(request, request.GET.get("state", ""))
    except oauth.StateRefused as refused:
        messages.error(request, f"Xero connection refused: {refused}")
        return redirect("home")
    # Signed in (login_required): the user's own membership of the account, if any.
    user = cast(User, request.user)  # login_required: signed in
    membership = user.memberships.filter(account_id=account_id).first()
    if membership is None or not membership.is_admin:
        raise Http404("No such account")
    account = membership.account
    if request.GET.get("error"):
        messages.warning(request, "Connecting to Xero was cancelled; nothing changed.")
        return to_integrations(account)
    try:
        token_set = tokens.token_exchange_code(
            code=request.GET.get("code", ""), code_verifier=verifier
        )
        connection = services.connection_authorised(account=account, user=user, token_set=token_set)
    except services.NoOrganisation:
        messages.error(request, "Xero did not grant access to any organisation. Try again.")
        return to_integrations(account)
    except services.OrganisationTaken as taken:
        messages.error(
            request,
            f"{taken} is already connected to another Platform CRM account, so nothing was "
            "connected here. Disconnect it there first, or connect again and tick your own "
            "organisation on Xero's page.",
        )
        return to_integrations(account)
    except services.WrongOrganisation as wrong:
        current = connection_get(account)  # as it was: a refused grant changes nothing
        kept = (
            f"Xero is still connected to {wrong.linked} and syncing as before."
            if current is not None and current.is_usable
            else "Nothing changed here."
        )
        messages.error(
            request,
            f"Xero gave access to {_names(wrong.chosen)}, but this account's contacts and "
            f"invoices are linked to {wrong.linked}, so that access was not used. {kept} To "
            f"reconnect, tick {wrong.linked} on Xero's page.",
        )
        return to_integrations(account)
    except (XeroError, NotConfigured) as error:
        messages.error(request, f"Could not connect to Xero: {error.message}")
        return to_integrations(account)
    return _connection_next_step(request, account, connection)


def _connection_next_step(
    request: HttpRequest, account: Account, connection: XeroConnection
) -> HttpResponse:
    if connection.status == ConnectionStatus.CHOOSING_ORGANISATION:
        return redirect("xero_sync:organisation", account_slug=account.slug)
    if connection.status == ConnectionStatus.CONNECTED:
        messages.success(request, f"Reconnected to {connection.tenant_name}.")
        return to_integrations(account)
    return redirect("xero_sync:payment_account", account_slug=account.slug)


@account_view(role=Role.ADMIN)
def xero_organisation(request: AccountRequest, account: Account) -> HttpResponse:
    """Choose one of the organisations a first connection's grant covers."""
    connection = connection_get(account)
    if (
        connection is None
        or connection.status != ConnectionStatus.CHOOSING_ORGANISATION
        or connection.is_linked
    ):
        return to_integrations(account)
    try:
        tenants = xero_client_for(connection).connections(auth_event_id=connection.auth_event_id)
    except AuthLost:
        messages.error(request, "Xero's sign-in has expired; cancel and connect again.")
        return to_integrations(account)
    except XeroError as error:
        messages.error(request, f"Could not read the organisations: {error.message}")
        return to_integrations(account)
    if request.method == "POST":
        chosen = next((t for t in tenants if t.tenant_id == request.POST.get("tenant")), None)
        if chosen is None:
            messages.error(request, "Choose one of the organisations listed.")
        else:
            try:
                services.connection_choose_organisation(
                    connection=connection, tenant=chosen, others=tenants
                )
            except services.OrganisationTaken:
                messages.error(
                    request,
                    f"{chosen.tenant_name} is already connected to another Platform CRM "
                    "account. Disconnect it there first, or choose another organisation.",
                )
                return redirect("xero_sync:organisation", account_slug=account.slug)
            return _connection_next_step(request, account, connection)
    taken = tenant_ids_held_elsewhere(account, [t.tenant_id for t in tenants])
    return render(
        request,
        "xero_sync/organisation.html",
        {"tenants": tenants, "taken": taken, "connection": connection},
    )


@account_view(role=Role.ADMIN)
@require_POST
def xero_cancel(request: AccountRequest, account: Account) -> HttpResponse:
    """Cancel a connection under way: back to where the account was before it started."""
    connection = connection_get(account)
    if connection is None or connection.status not in UNFINISHED_STATUSES:
        messages.info(request, "No connection to Xero is under way; nothing to cancel.")
        return to_integrations(account)
    reached = services.connection_cancel(connection=connection)
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        messages.warning(request, connection.last_error)
    else:
        messages.success(request, "Connecting to Xero was cancelled. Xero is not connected.")
    if not reached:
        messages.warning(
            request,
            "Xero could not be reached to remove the access it gave; you can remove "
            "Platform CRM under Connected apps in Xero.",
        )
    return to_integrations(account)


def _chart_key(connection: XeroConnection) -> str:
    # A reconnect (new connected_at) or another organisation starts a fresh cache entry.
    since = connection.connected_at.timestamp() if connection.connected_at else 0
    return f"xero:chart-of-accounts:{connection.pk}:{connection.tenant_id}:{since}"


def _chart_of_accounts(
    request: HttpRequest, connection: XeroConnection
) -> list[LedgerAccount] | None:
    """The organisation's chart of accounts, read once for the payment and sales account pages
    (Refresh reads it again); None, with a message, when Xero could not be read."""
    key = _chart_key(connection)
    if request.GET.get("refresh"):
        cache.delete(key)
    accounts: list[LedgerAccount] | None = cache.get(key)
    if accounts is None:
        try:
            accounts = xero_client_for(connection).ledger_accounts()
        except XeroError as error:
            messages.error(request, f"Could not read the chart of accounts: {error.message}")
            return None
        cache.set(key, accounts, ACCOUNTS_CACHE_SECONDS)
        ledger.connection_chart_read(connection=connection, accounts=accounts)
    return accounts


def chart_accounts_cached(connection: XeroConnection) -> list[LedgerAccount] | None:
    """The chart as last read, without asking Xero (pages that only mention it)."""
    accounts: list[LedgerAccount] | None = cache.get(_chart_key(connection))
    return accounts


def _connection_and_chart(
    request: HttpRequest, account: Account
) -> tuple[XeroConnection, list[LedgerAccount]] | None:
    """For the account pickers: the connection and its chart of accounts, or None when there
    is nothing to choose from (not connected, or Xero could not be read)."""
    connection = connection_get(account)
    if connection is None or connection.status not in (
        ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
        ConnectionStatus.CONNECTED,
    ):
        return None
    accounts = _chart_of_accounts(request, connection)
    return None if accounts is None else (connection, accounts)


@account_view(role=Role.ADMIN)
def xero_payment_account(request: AccountRequest, account: Account) -> HttpResponse:
    found = _connection_and_chart(request, account)
    if found is None:
        return to_integrations(account)
    connection, accounts = found
    choices = ledger.payment_account_choices(accounts)
    if request.method == "POST":
        chosen = next((a for a in choices if a.account_id == request.POST.get("account")), None)
        if chosen is None:
            messages.error(request, "Choose one of the accounts listed.")
        else:
            first_setup = connection.status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
            ledger.connection_choose_payment_account(connection=connection, account=chosen)
            messages.success(request, f"Payments will be recorded against {chosen.name}.")
            if first_setup:  # the setup flow goes on to the tax mapping
                return redirect("xero_sync:tax_mapping", account_slug=account.slug)
            return to_integrations(account)
    return render(
        request,
        "xero_sync/payment_account.html",
        {"choices": choices, "connection": connection},
    )


def sales_account_summary(
    connection: XeroConnection, accounts: list[LedgerAccount] | None
) -> dict[str, object]:
    """What the pages say about the current sales account: its name (from the chart when it is
    at hand, else as last read), and whether it is still an active sales account there
    (unknown without the chart)."""
    if accounts is None:
        return {
            "code": connection.sales_account_code,
            "known": False,
            "name": connection.sales_account_name,
        }
    current = next(
        (
            a
            for a in ledger.sales_account_choices(accounts)
            if a.code == connection.sales_account_code
        ),
        None,
    )
    return {
        "code": connection.sales_account_code,
        "known": True,
        "name": current.name if current else "",
        "usable": current is not None,
    }


@account_view(role=Role.ADMIN)
def xero_sales_account(request: AccountRequest, account: Account) -> HttpResponse:
    """Which revenue account invoice lines are coded to in Xero."""
    found = _connection_and_chart(request, account)
    if found is None:
        return to_integrations(account)
    connection, accounts = found
    choices = ledger.sales_account_choices(accounts)
    if request.method == "POST":
        chosen = next((a for a in choices if a.code == request.POST.get("code")), None)
        if chosen is None:
            messages.error(request, "Choose one of the active sales accounts listed.")
        else:
            ledger.connection_choose_sales_account(connection=connection, account=chosen)
            messages.success(
                request, f"Invoice lines will be coded to {chosen.code} {chosen.name}."
            )
            return to_integrations(account)
    return render(
        request,
        "xero_sync/sales_account.html",
        {
            "choices": choices,
            "connection": connection,
            "sales_account": sales_account_summary(connection, accounts),
        },
    )


def _disconnect_confirmation(account: Account, connection: XeroConnection) -> Confirmation:
    org = connection.tenant_name or "the Xero organisation"
    return Confirmation(
        title="Disconnect Xero?",
        question=f"Disconnect Platform CRM from {org} in Xero?",
        button="Disconnect Xero",
        cancel_url=reverse("xero_sync:integrations", args=[account.slug]),
        here=[
            "Your contacts, invoices and payments stay, with their links to Xero.",
            "Invoices and payments you change while disconnected wait here, and go to Xero "
            "when you reconnect to the same organisation.",
            "Changes made in Xero meanwhile (contacts, payments, voids) come in after you "
            "reconnect, not before.",
        ],
        elsewhere=[
            (
                "Xero",
                [
                    f"Platform CRM's access to {org} is removed: it leaves Xero's list of "
                    "connected apps.",
                    "Nothing in Xero is deleted: the contacts, invoices and payments already "
                    "sent stay as they are.",
                ],
            )
        ],
    )


@account_view(role=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def xero_disconnect(request: AccountRequest, account: Account) -> HttpResponse:
    connection = connection_get(account)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return to_integrations(account)
    if not confirmed(request):
        return confirmation_page(request, _disconnect_confirmation(account, connection))
    services.connection_disconnect(
        connection=connection, reason=f"Disconnected by {request.user.get_username()}."
    )
    messages.success(
        request,
        "Xero is disconnected. Your contacts, invoices and their links are kept; "
        "reconnecting picks up where it left off.",
    )
    return to_integrations(account)


@account_view(role=Role.ADMIN)
@require_POST
def xero_keep(request: AccountRequest, account: Account) -> HttpResponse:
    connection = connection_get(account)
    if connection is not None and connection.is_usable:
        try:
            services.connection_keep(connection)
            messages.success(request, "Thanks: the Xero connection stays.")
        except XeroError as error:
            messages.error(request, f"Xero could not be reached: {error.message}")
    return to_integrations(account)
