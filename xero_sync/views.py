from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from invoices.selectors import invoice_get
from invoices.services import invoice_renumber
from platform_crm.confirmation import Confirmation, confirmation_page, confirmed
from platform_crm.forms import id_from, text_from
from platform_crm.models import Role
from platform_crm.queueing import enqueue_on_commit
from platform_crm.tenancy import account_view

from . import (
    contact_import,
    duplicates,
    invoice_sync,
    oauth,
    quarantine,
    selectors,
    services,
    tax_mapping,
    tokens,
    webhooks,
)
from .client import LedgerAccount, XeroClient
from .errors import AuthLost, NotConfigured, XeroError
from .forms import ContactFilterChoice, EarlierInvoicesForm
from .models import (
    UNFINISHED_STATUSES,
    ConnectionStatus,
    ContactImport,
    InvoiceSync,
    PossibleDuplicate,
    QuarantinedRecord,
)
from .selectors import (
    connection_get,
    invoice_sync_failure_groups,
    possible_duplicate_count,
    possible_duplicate_list,
    quarantine_count,
    quarantine_list,
    recent_calls,
    tenant_ids_held_elsewhere,
)
from .tasks import process_webhook_delivery_task

ACCOUNTS_CACHE_SECONDS = 600


def _integrations(account):
    return redirect("xero_sync:integrations", account_slug=account.slug)


@account_view(role=Role.ADMIN)
def integration_index(request, account):
    connection = connection_get(account)
    usable = connection is not None and connection.is_usable
    # Contacts not imported yet: when all of them will be (set-up left before its last step).
    due = contact_import.contacts_import_due_at(connection) if usable else None
    context = {
        "connection": connection,
        "contact_import": selectors.contact_import_last(connection) if connection else None,
        "contacts_due_at": due,
        "contacts_due_soon": due is not None and due <= timezone.now(),
        "earlier_offer": selectors.earlier_invoices_offer(account) if usable else None,
        "calls": recent_calls(account) if connection else [],
        "unmapped": tax_mapping.unmapped_tax_rates(account) if connection else [],
        "sales_account": _sales_account(connection, _chart_accounts_cached(connection))
        if connection
        else None,
        "Status": ConnectionStatus,
    }
    return render(request, "xero_sync/integrations.html", context)


@account_view(role=Role.ADMIN)
@require_POST
def xero_connect(request, account):
    """Connect and Reconnect both start here: off to Xero's consent page. One connection is
    under way at a time: an unfinished one is cancelled first."""
    connection = connection_get(account)
    if connection is not None and connection.status in UNFINISHED_STATUSES:
        services.connection_cancel(connection=connection)
    return redirect(oauth.authorization_url(request, account))


def _names(names: list[str]) -> str:
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


@login_required
def xero_callback(request):
    """Xero sends the browser back here (one fixed redirect URI for every account)."""
    try:
        account_id, verifier = oauth.authorization_claim(request, request.GET.get("state", ""))
    except oauth.StateRefused as refused:
        messages.error(request, f"Xero connection refused: {refused}")
        return redirect("home")
    membership = request.user.memberships.filter(account_id=account_id).first()
    if membership is None or not membership.is_admin:
        raise Http404("No such account")
    account = membership.account
    if request.GET.get("error"):
        messages.warning(request, "Connecting to Xero was cancelled; nothing changed.")
        return _integrations(account)
    try:
        token_set = tokens.token_exchange_code(
            code=request.GET.get("code", ""), code_verifier=verifier
        )
        connection = services.connection_authorised(
            account=account, user=request.user, token_set=token_set
        )
    except services.NoOrganisation:
        messages.error(request, "Xero did not grant access to any organisation. Try again.")
        return _integrations(account)
    except services.OrganisationTaken as taken:
        messages.error(
            request,
            f"{taken} is already connected to another Platform CRM account, so nothing was "
            "connected here. Disconnect it there first, or connect again and tick your own "
            "organisation on Xero's page.",
        )
        return _integrations(account)
    except services.WrongOrganisation as wrong:
        kept = (
            f"Xero is still connected to {wrong.linked} and syncing as before."
            if connection_get(account).is_usable  # as it was: a refused grant changes nothing
            else "Nothing changed here."
        )
        messages.error(
            request,
            f"Xero gave access to {_names(wrong.chosen)}, but this account's contacts and "
            f"invoices are linked to {wrong.linked}, so that access was not used. {kept} To "
            f"reconnect, tick {wrong.linked} on Xero's page.",
        )
        return _integrations(account)
    except (XeroError, NotConfigured) as error:
        messages.error(request, f"Could not connect to Xero: {error.message}")
        return _integrations(account)
    return _connection_next_step(request, account, connection)


def _connection_next_step(request, account, connection):
    if connection.status == ConnectionStatus.CHOOSING_ORGANISATION:
        return redirect("xero_sync:organisation", account_slug=account.slug)
    if connection.status == ConnectionStatus.CONNECTED:
        messages.success(request, f"Reconnected to {connection.tenant_name}.")
        return _integrations(account)
    return redirect("xero_sync:payment_account", account_slug=account.slug)


@account_view(role=Role.ADMIN)
def xero_organisation(request, account):
    """Choose one of the organisations a first connection's grant covers."""
    connection = connection_get(account)
    if (
        connection is None
        or connection.status != ConnectionStatus.CHOOSING_ORGANISATION
        or connection.is_linked
    ):
        return _integrations(account)
    try:
        tenants = XeroClient(connection).connections(auth_event_id=connection.auth_event_id)
    except AuthLost:
        messages.error(request, "Xero's sign-in has expired; cancel and connect again.")
        return _integrations(account)
    except XeroError as error:
        messages.error(request, f"Could not read the organisations: {error.message}")
        return _integrations(account)
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
def xero_cancel(request, account):
    """Cancel a connection under way: back to where the account was before it started."""
    connection = connection_get(account)
    if connection is None or connection.status not in UNFINISHED_STATUSES:
        messages.info(request, "No connection to Xero is under way; nothing to cancel.")
        return _integrations(account)
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
    return _integrations(account)


def _chart_key(connection) -> str:
    # A reconnect (new connected_at) or another organisation starts a fresh cache entry.
    since = connection.connected_at.timestamp() if connection.connected_at else 0
    return f"xero:chart-of-accounts:{connection.pk}:{connection.tenant_id}:{since}"


def _chart_of_accounts(request, connection) -> list[LedgerAccount] | None:
    """The organisation's chart of accounts, read once for the payment and sales account pages
    (Refresh reads it again); None, with a message, when Xero could not be read."""
    key = _chart_key(connection)
    if request.GET.get("refresh"):
        cache.delete(key)
    accounts = cache.get(key)
    if accounts is None:
        try:
            accounts = XeroClient(connection).ledger_accounts()
        except XeroError as error:
            messages.error(request, f"Could not read the chart of accounts: {error.message}")
            return None
        cache.set(key, accounts, ACCOUNTS_CACHE_SECONDS)
        services.connection_chart_read(connection=connection, accounts=accounts)
    return accounts


def _chart_accounts_cached(connection) -> list[LedgerAccount] | None:
    """The chart as last read, without asking Xero (pages that only mention it)."""
    return cache.get(_chart_key(connection))


def _connection_and_chart(request, account):
    """For the account pickers: the connection and its chart of accounts, or (…, None) when
    there is nothing to choose from (not connected, or Xero could not be read)."""
    connection = connection_get(account)
    if connection is None or connection.status not in (
        ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
        ConnectionStatus.CONNECTED,
    ):
        return connection, None
    return connection, _chart_of_accounts(request, connection)


@account_view(role=Role.ADMIN)
def xero_payment_account(request, account):
    connection, accounts = _connection_and_chart(request, account)
    if accounts is None:
        return _integrations(account)
    choices = services.payment_account_choices(accounts)
    if request.method == "POST":
        chosen = next((a for a in choices if a.account_id == request.POST.get("account")), None)
        if chosen is None:
            messages.error(request, "Choose one of the accounts listed.")
        else:
            first_setup = connection.status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
            services.connection_choose_payment_account(connection=connection, account=chosen)
            messages.success(request, f"Payments will be recorded against {chosen.name}.")
            if first_setup:  # the setup flow goes on to the tax mapping
                return redirect("xero_sync:tax_mapping", account_slug=account.slug)
            return _integrations(account)
    return render(
        request,
        "xero_sync/payment_account.html",
        {"choices": choices, "connection": connection},
    )


def _sales_account(connection, accounts: list[LedgerAccount] | None) -> dict:
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
            for a in services.sales_account_choices(accounts)
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
def xero_sales_account(request, account):
    """Which revenue account invoice lines are coded to in Xero."""
    connection, accounts = _connection_and_chart(request, account)
    if accounts is None:
        return _integrations(account)
    choices = services.sales_account_choices(accounts)
    if request.method == "POST":
        chosen = next((a for a in choices if a.code == request.POST.get("code")), None)
        if chosen is None:
            messages.error(request, "Choose one of the active sales accounts listed.")
        else:
            services.connection_choose_sales_account(connection=connection, account=chosen)
            messages.success(
                request, f"Invoice lines will be coded to {chosen.code} {chosen.name}."
            )
            return _integrations(account)
    return render(
        request,
        "xero_sync/sales_account.html",
        {
            "choices": choices,
            "connection": connection,
            "sales_account": _sales_account(connection, accounts),
        },
    )


@account_view(role=Role.ADMIN)
def xero_tax_mapping(request, account):
    connection = connection_get(account)
    if connection is None or connection.status not in (
        ConnectionStatus.CONNECTED,
        ConnectionStatus.NEEDS_RECONNECT,
    ):
        messages.info(request, "Connect Xero first; tax rates are mapped to its organisation.")
        return _integrations(account)
    refresh = request.method == "POST" and "refresh" in request.POST
    if refresh or (connection.is_usable and not connection.tax_rates.exists()):
        try:
            tax_mapping.xero_tax_rates_refresh(connection)
            services.connection_record_activity(connection)
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
            services.connection_record_activity(connection)
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


CONTACT_GROUPS_CACHE_SECONDS = 300


def _contact_groups(request, connection) -> list[dict]:
    """The organisation's active contact groups ({id, name}), read at most every few minutes."""
    cache_key = f"xero:contact-groups:{connection.pk}:{connection.tenant_id}"
    if request.GET.get("refresh"):
        cache.delete(cache_key)
    groups = cache.get(cache_key)
    if groups is None:
        try:
            groups = XeroClient(connection).contact_groups()
            cache.set(cache_key, groups, CONTACT_GROUPS_CACHE_SECONDS)
        except XeroError as error:
            # Not cached: the next visit asks Xero again.
            messages.error(request, f"Could not read Xero's contact groups: {error.message}")
            groups = []
    return groups


def _usable_connection(request, account):
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        messages.info(request, "Connect Xero first.")
        return None
    return connection


def _contacts_page(account, run) -> str:
    return f"{reverse('xero_sync:contacts', args=[account.slug])}?run={run.pk}"


@account_view(role=Role.ADMIN)
def xero_contacts(request, account):
    """Choose what to import, preview it, run it (exactly as previewed), and watch it."""
    connection = _usable_connection(request, account)
    if connection is None:
        return _integrations(account)
    groups = _contact_groups(request, connection)
    runs = connection.contact_imports.all()
    choice = None
    if request.method == "POST":
        previewed = id_from(request.POST.get("previewed"))
        if previewed:  # "Import these contacts" under a preview
            preview = get_object_or_404(runs, pk=previewed, is_preview=True)
            run = contact_import.import_start_as_previewed(preview=preview, user=request.user)
            services.connection_record_activity(connection)
            return redirect(_contacts_page(account, run))
        choice = ContactFilterChoice.from_post(request.POST, groups)
        if choice.error:
            messages.error(request, choice.error)
        else:
            run = contact_import.import_start(
                connection=connection,
                preview=request.POST.get("action") == "preview",
                user=request.user,
                **choice.start_kwargs(groups),
            )
            services.connection_record_activity(connection)
            return redirect(_contacts_page(account, run))
    run_id = id_from(request.GET.get("run"))
    run = runs.filter(pk=run_id).first() if run_id else None
    last_import = runs.filter(is_preview=False).first()
    run = run or last_import
    # The form shows the filter of the run on the page (a preview's, not a default), so what
    # is imported next is what was just counted.
    choice = choice or ContactFilterChoice.of(run or connection)
    return render(
        request,
        "xero_sync/contacts.html",
        {
            "connection": connection,
            "groups": groups,
            "choice": choice,
            "run": run,
            "last_import": last_import,
        },
    )


@account_view(role=Role.ADMIN)
def xero_setup_contacts(request, account):
    """Set-up's last step: which contacts come in (all unless chosen otherwise), started here,
    and the invoices written before the connection, sent if wished."""
    connection = _usable_connection(request, account)
    if connection is None:
        return _integrations(account)
    last_import = selectors.contact_import_last(connection)
    groups = [] if last_import else _contact_groups(request, connection)
    offer = selectors.earlier_invoices_offer(account)
    choice = ContactFilterChoice()
    earlier = EarlierInvoicesForm(initial={"since": offer["first"]} if offer else None)
    if request.method == "POST":
        if last_import is None:
            choice = ContactFilterChoice.from_post(request.POST, groups)
        send = offer is not None and "send_earlier" in request.POST
        earlier = EarlierInvoicesForm(request.POST if send else None)
        if not choice.error and (not send or earlier.is_valid()):
            if last_import is None:
                run = contact_import.import_start(
                    connection=connection,
                    preview=False,
                    user=request.user,
                    **choice.start_kwargs(groups),
                )
                messages.success(request, f"Importing contacts from Xero: {run.filter_in_words()}.")
            if send:
                _send_earlier(request, connection, earlier.cleaned_data["since"])
            services.connection_record_activity(connection)
            return _integrations(account)
        if choice.error:
            messages.error(request, choice.error)
    return render(
        request,
        "xero_sync/setup_contacts.html",
        {
            "connection": connection,
            "groups": groups,
            "choice": choice,
            "last_import": last_import,
            "offer": offer,
            "earlier": earlier,
        },
    )


def _send_earlier(request, connection, since) -> None:
    sent = invoice_sync.invoices_send_earlier(connection=connection, since=since)
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
    connection = _usable_connection(request, account)
    if connection is None:
        return _integrations(account)
    form = EarlierInvoicesForm(request.POST or request.GET)
    if request.method == "POST":
        if form.is_valid():
            _send_earlier(request, connection, form.cleaned_data["since"])
            services.connection_record_activity(connection)
        else:
            messages.error(request, "Give the date from which to send invoices.")
        return _integrations(account)
    since = form.cleaned_data["since"] if form.is_valid() else None
    count = selectors.earlier_invoices(account, since=since).count()
    return HttpResponse(f"{count} earlier invoice{pluralize(count)}")


@account_view(role=Role.ADMIN)
def xero_contact_import_progress(request, account, pk):
    """The progress fragment, polled by htmx while the run is under way."""
    run = get_object_or_404(ContactImport, connection__account=account, pk=pk)
    return render(request, "xero_sync/_import_progress.html", {"run": run})


@account_view()
@require_POST
def invoice_sync_retry(request, account, pk):
    """Staff press Retry on an invoice that did not reach Xero (after fixing the cause)."""
    sync = get_object_or_404(InvoiceSync, invoice__account=account, invoice_id=pk)
    invoice_sync.invoice_sync_retry(sync)
    messages.success(request, "Sending the invoice to Xero again.")
    return redirect("invoices:detail", account_slug=account.slug, pk=pk)


@account_view()
def invoice_sync_badge(request, account, invoice_pk):
    """The invoice page's Xero badge alone: polled by htmx while the push is under way."""
    invoice = invoice_get(account, invoice_pk)
    return render(request, "invoices/_sync_badge.html", {"invoice": invoice})


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


FAILURES_PER_GROUP = 50
MAX_CAUSE_LENGTH = InvoiceSync._meta.get_field("error_cause").max_length


@account_view(role=Role.ADMIN)
def xero_failures(request, account):
    """Invoices that did not reach Xero, by cause, each cause with its fix and Retry all; then
    records from Xero that could not be stored, and Xero contacts that may be a CRM contact
    twice, each with what a person can do about it."""
    context = {
        "groups": invoice_sync_failure_groups(account, limit=FAILURES_PER_GROUP),
        "quarantined": quarantine_list(account, limit=FAILURES_PER_GROUP),
        "quarantined_count": quarantine_count(account),
        "duplicates": possible_duplicate_list(account, limit=FAILURES_PER_GROUP),
        "duplicates_count": possible_duplicate_count(account),
    }
    return render(request, "xero_sync/failures.html", context)


@account_view(role=Role.ADMIN)
@require_POST
def xero_quarantine_retry(request, account, pk):
    record = get_object_or_404(
        QuarantinedRecord, connection__account=account, pk=pk, resolved_at=None
    )
    quarantine.quarantine_retry(record=record)
    what = record.label or record.xero_id or "the record"
    messages.success(
        request,
        f"Fetching {record.get_kind_display().lower()} {what} from Xero again; it leaves this "
        "list once it is stored.",
    )
    return redirect("xero_sync:failures", account_slug=account.slug)


@account_view(role=Role.ADMIN)
@require_POST
def xero_duplicate_resolve(request, account, pk):
    duplicate = get_object_or_404(PossibleDuplicate, connection__account=account, pk=pk)
    decision = request.POST.get("decision")
    name = duplicate.xero_name or duplicate.xero_contact_id
    if decision == "separate":
        if duplicates.possible_duplicate_create(duplicate=duplicate, user=request.user):
            messages.success(request, f"{name} from Xero is now a contact of its own.")
        else:
            messages.info(request, f"{name} was already decided.")
    elif decision == "same":
        if duplicates.possible_duplicate_keep_one(duplicate=duplicate, user=request.user):
            messages.success(
                request,
                f"{duplicate.contact.display_name} stays one contact; {name} in Xero is left "
                "alone.",
            )
        else:
            messages.info(request, f"{name} was already decided.")
    else:
        messages.error(request, "Choose whether they are the same contact or not.")
    return redirect("xero_sync:failures", account_slug=account.slug)


@account_view(role=Role.ADMIN)
@require_POST
def xero_failures_retry(request, account):
    cause = text_from(request.POST.get("cause"), max_length=MAX_CAUSE_LENGTH)
    queued = (
        0 if cause is None else services.invoice_syncs_retry_failed(account=account, cause=cause)
    )
    if queued:
        messages.success(request, f"Sending {queued} invoice{pluralize(queued)} to Xero again.")
    else:
        messages.info(request, "No failed invoices of that kind are left to retry.")
    return redirect("xero_sync:failures", account_slug=account.slug)


def _disconnect_confirmation(account, connection) -> Confirmation:
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
def xero_disconnect(request, account):
    connection = connection_get(account)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED:
        return _integrations(account)
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
    return _integrations(account)


@account_view(role=Role.ADMIN)
@require_POST
def xero_keep(request, account):
    connection = connection_get(account)
    if connection is not None and connection.is_usable:
        try:
            services.connection_keep(connection)
            messages.success(request, "Thanks: the Xero connection stays.")
        except XeroError as error:
            messages.error(request, f"Xero could not be reached: {error.message}")
    return _integrations(account)


@csrf_exempt
@require_POST
def xero_webhook(request):
    """Xero's webhook endpoint: 401 when the signature is wrong, else 200 with an empty body,
    at once; the work happens in a task."""
    body = request.body
    if not webhooks.signature_valid(body, request.headers.get("x-xero-signature", "")):
        return HttpResponse(status=401)
    delivery = webhooks.delivery_store(body)
    enqueue_on_commit(process_webhook_delivery_task, delivery.pk)
    response = HttpResponse(status=200)
    del response["Content-Type"]
    return response
