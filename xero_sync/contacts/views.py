"""The contact pages: choosing which Xero contacts come in, previewing and running the import,
watching it, and deciding a possible duplicate."""

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts.models import Contact
from platform_crm.forms import id_from
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..client import ContactGroup
from ..client.errors import XeroError
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..connection.selectors import connection_get
from ..connection.views import to_integrations
from ..forms import ContactFilterChoice, ContactSyncForm
from ..invoices import outbox as invoice_outbox
from ..models import XeroConnection
from . import duplicates, imports, outbox
from .models import ContactImport, ContactSync, PossibleDuplicate
from .name_links import name_match_apart, rename_message

CONTACT_GROUPS_CACHE_SECONDS = 300


def contact_groups_read(
    request: HttpRequest, connection: XeroConnection
) -> tuple[list[ContactGroup] | None, str]:
    """(the organisation's active contact groups ({id, name}), read at most every few
    minutes; why they could not be read). Groups are None, and nothing is cached, when Xero
    could not be read: the page says so, rather than that there are no groups."""
    # v2: the entries are ContactGroup (they were dicts).
    cache_key = f"xero:contact-groups:v2:{connection.pk}:{connection.tenant_id}"
    if request.GET.get("refresh"):
        cache.delete(cache_key)
    groups = cache.get(cache_key)
    if isinstance(groups, list):
        return groups, ""
    try:
        groups = xero_client_for(connection).contact_groups()
    except XeroError as error:
        return None, error.message
    cache.set(cache_key, groups, CONTACT_GROUPS_CACHE_SECONDS)
    return groups, ""


GROUPS_UNREAD = (
    "Xero's contact groups could not be read just now, so importing only some groups cannot "
    "be chosen. Try again in a moment."
)


def filter_from_post(post: QueryDict, groups: list[ContactGroup] | None) -> ContactFilterChoice:
    """The filter an admin posted; groups cannot be chosen while they could not be read."""
    choice = ContactFilterChoice.from_post(post, groups or [])
    if groups is None and choice.only_groups:
        choice.error = GROUPS_UNREAD
    return choice


def usable_connection(request: HttpRequest, account: Account) -> XeroConnection | None:
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        messages.info(request, "Connect Xero first.")
        return None
    return connection


def _contacts_page(account: Account, run: ContactImport) -> str:
    return f"{reverse('xero_sync:contacts', args=[account.slug])}?run={run.pk}"


@account_view(role=Role.ADMIN)
def xero_contacts(request: AccountRequest, account: Account) -> HttpResponse:
    """Choose what to import, preview it, run it (exactly as previewed), and watch it."""
    connection = usable_connection(request, account)
    if connection is None:
        return to_integrations(account)
    groups, groups_error = contact_groups_read(request, connection)
    runs = connection.contact_imports.all()
    choice = None
    if request.method == "POST":
        previewed = id_from(request.POST.get("previewed"))
        if previewed:  # "Import these contacts" under a preview
            preview = get_object_or_404(runs, pk=previewed, is_preview=True)
            run = imports.import_start_as_previewed(preview=preview, user=request.user)
            connection_record_activity(connection)
            return redirect(_contacts_page(account, run))
        choice = filter_from_post(request.POST, groups)
        if choice.error:
            messages.error(request, choice.error)
        else:
            run = imports.import_start(
                connection=connection,
                preview=request.POST.get("action") == "preview",
                user=request.user,
                **choice.start_kwargs(groups or []),
            )
            connection_record_activity(connection)
            return redirect(_contacts_page(account, run))
    run_id = id_from(request.GET.get("run"))
    last_import = runs.filter(is_preview=False).first()
    shown = (runs.filter(pk=run_id).first() if run_id else None) or last_import
    # The form shows the filter of the run on the page (a preview's, not a default), so what
    # is imported next is what was just counted.
    choice = choice or ContactFilterChoice.of(shown or connection)
    return render(
        request,
        "xero_sync/contacts.html",
        {
            "connection": connection,
            "groups": groups,
            "groups_error": groups_error,
            "choice": choice,
            "run": shown,
            "last_import": last_import,
        },
    )


@account_view(role=Role.ADMIN)
def xero_contact_import_progress(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    """The progress fragment, polled by htmx while the run is under way."""
    run = get_object_or_404(ContactImport, connection__account=account, pk=pk)
    return render(request, "xero_sync/_import_progress.html", {"run": run})


@account_view(role=Role.ADMIN)
@require_POST
def xero_duplicate_resolve(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    duplicate = get_object_or_404(PossibleDuplicate, connection__account=account, pk=pk)
    decision = request.POST.get("decision")
    name = duplicate.xero_name or duplicate.xero_contact_id
    if duplicate.matched_by == "name":
        _name_match_resolve(request, duplicate, decision)
    elif decision == "separate":
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
    elif decision == "link_instead":
        before = getattr(duplicate.contact, "xero_link", None)
        was = (before.payload.get("Name") if before else "") or "the Xero contact it had"
        if duplicates.possible_duplicate_link_instead(duplicate=duplicate, user=request.user):
            messages.success(
                request,
                f"{duplicate.contact.display_name} is now linked to {name} in Xero; {was} is "
                "left alone.",
            )
        else:
            messages.info(request, f"{name} was already decided, or is linked to another contact.")
    else:
        messages.error(request, "Choose whether they are the same contact or not.")
    back = request.POST.get("back")
    if back == "duplicates":
        return redirect("contacts:duplicates", account_slug=account.slug)
    return redirect("xero_sync:failures", account_slug=account.slug)


def _name_match_resolve(
    request: AccountRequest, duplicate: PossibleDuplicate, decision: str | None
) -> None:
    """A Xero contact sharing only its name with a contact here whose invoice waits: the same
    (linked, and the invoice goes on) or different (the contact here needs its own name)."""
    contact, name = duplicate.contact, duplicate.xero_name or duplicate.xero_contact_id
    if decision == "same":
        if duplicates.possible_duplicate_link_instead(duplicate=duplicate, user=request.user):
            resumed = invoice_outbox.invoices_resume_held(contact_id=contact.pk)
            messages.success(
                request,
                f"{contact.display_name} is now linked to {name} in Xero"
                + (f"; {resumed} waiting invoice(s) go to Xero now." if resumed else "."),
            )
        elif (
            merged := duplicates.name_match_merge(duplicate=duplicate, user=request.user)
        ) is not None:
            messages.success(
                request,
                f"{name} in Xero was already {merged.display_name} (#{merged.pk}) here: merged "
                f"into {contact.display_name}, now linked to it; its waiting invoices go to Xero.",
            )
        else:
            messages.info(request, f"{name} was already decided.")
    elif decision in ("different", "separate"):
        if name_match_apart(duplicate=duplicate, user=request.user):
            invoice_outbox.invoices_held_say(
                contact_id=contact.pk,
                cause="contact_rename",
                message=rename_message(name),
                fix_url=_edit_url(contact),
            )
            messages.success(
                request,
                f"Kept apart. Xero needs contact names to be unique: give {contact.display_name} "
                "a name of its own, and its waiting invoices go to Xero.",
            )
        else:
            messages.info(request, f"{name} was already decided.")
    else:
        messages.error(request, "Choose whether they are the same contact or not.")


def _edit_url(contact: Contact) -> str:
    return reverse("contacts:edit", args=[contact.account.slug, contact.pk])


@account_view(role=Role.ADMIN)
def xero_contact_sync(request: AccountRequest, account: Account) -> HttpResponse:
    """Which contacts go to Xero, and the conflict rule."""
    connection = connection_get(account)
    if connection is None or not connection.tenant_id:
        return to_integrations(account)
    form = ContactSyncForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request,
            f"Contacts to Xero: {connection.get_contact_push_mode_display().lower()}; "
            f"{connection.get_contact_conflict_rule_display().lower()}.",
        )
        return to_integrations(account)
    return render(request, "xero_sync/contact_sync.html", {"form": form, "connection": connection})


@account_view()
@require_POST
def contact_push_retry(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    """Send a contact's changes again after a fix (staff may, as for an invoice)."""
    sync = get_object_or_404(ContactSync, pk=pk, contact__account=account)
    outbox.contact_sync_retry(sync)
    messages.success(request, "Sending the contact's changes to Xero again.")
    return redirect("contacts:detail", account_slug=account.slug, pk=sync.contact_id)


def duplicates_panel(request: HttpRequest, account: Account) -> str:
    """For the Possible duplicates page: Xero contacts that match a contact here which already
    has its Xero twin, each with the choices an admin has."""
    held = list(
        PossibleDuplicate.objects.filter(connection__account=account, resolved_at=None)
        .select_related("contact", "contact__xero_link")
        .order_by("contact__sort_name", "found_at")[:100]
    )
    if not held and connection_get(account) is None:
        return ""
    return render_to_string("xero_sync/_duplicates_panel.html", {"held": held}, request=request)
