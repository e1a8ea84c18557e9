from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render

from platform_crm.forms import SearchForm
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from .duplicates import contacts_merge, duplicate_group_find, duplicate_groups, duplicates_dismiss
from .forms import ContactForm
from .models import Contact
from .selectors import contact_get, contact_history, contact_list, contact_matches
from .services import contact_create, contact_update
from .signals import duplicate_review_panels
from .widgets import ContactPicker, safe_name

PAGE_SIZE = 50


@account_view()
def contact_index(request: AccountRequest, account: Account) -> HttpResponse:
    search_form = SearchForm(request.GET)
    search = request.GET.get("q", "")
    archived = request.GET.get("archived") == "1"
    contacts = contact_list(account, search=search_form.search(), archived=archived)
    paginator = Paginator(contacts, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "search_form": search_form, "archived": archived}
    # Live search swaps only the results table.
    template = "contacts/_results.html" if request.htmx else "contacts/index.html"
    return render(request, template, context)


@account_view()
def contact_detail(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    contact = contact_get(account, pk)
    context = {
        "contact": contact,
        "history": contact_history(contact),
        # The Xero link, when the contact has one (kept by xero_sync; shown, never edited here).
        "xero_link": getattr(contact, "xero_link", None),
    }
    return render(request, "contacts/detail.html", context)


def _save(
    request: AccountRequest, form: ContactForm, save: Callable[[dict[str, Any]], Contact]
) -> Contact | None:
    if form.is_valid():
        try:
            return save(form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
    return None


@account_view()
def contact_new(request: AccountRequest, account: Account) -> HttpResponse:
    form = ContactForm(request.POST or None, account=account)
    if request.method == "POST":
        contact = _save(
            request, form, lambda data: contact_create(account=account, by=request.user, **data)
        )
        if contact:
            return redirect("contacts:detail", account_slug=account.slug, pk=contact.pk)
    return render(request, "contacts/form.html", {"form": form, "contact": None})


@account_view()
def contact_edit(request: AccountRequest, account: Account, pk: int) -> HttpResponse:
    contact = contact_get(account, pk)
    form = ContactForm(request.POST or None, instance=contact, account=account)
    if request.method == "POST":
        # The form already wrote cleaned values onto `contact`; the service re-validates and saves.
        saved = _save(
            request, form, lambda data: contact_update(contact=contact, by=request.user, **data)
        )
        if saved:
            return redirect("contacts:detail", account_slug=account.slug, pk=contact.pk)
    return render(request, "contacts/form.html", {"form": form, "contact": contact})


@account_view()
def contact_pick(request: AccountRequest, account: Account) -> HttpResponse:
    """For the contact picker (htmx): the matches for what is typed (?q=), or, with ?chosen=
    or ?change=1, the picker itself again, showing the chosen contact or an empty search."""
    name = safe_name(request.GET.get("name"), "contact")
    element_id = safe_name(request.GET.get("id"), f"id_{name}")
    if "chosen" in request.GET or "change" in request.GET:
        picker = ContactPicker(account=account, attrs={"autofocus": True})
        html = picker.render(name, request.GET.get("chosen"), attrs={"id": element_id})
        return HttpResponse(html)
    search = request.GET.get("q", "")
    contacts, more = contact_matches(account, search=search)
    context = {
        "contacts": contacts,
        "more": more,
        "search": search.strip(),
        "name": name,
        "element_id": element_id,
    }
    return render(request, "contacts/_pick_results.html", context)


@account_view(role=Role.ADMIN)
def contact_duplicates(request: AccountRequest, account: Account) -> HttpResponse:
    """Possible duplicates: contacts here that look like one, and what integrations add (say,
    two Xero contacts matching one contact here). A person decides each; nothing is merged by
    itself."""
    if request.method == "POST":
        return _duplicate_decide(request, account)
    panels = [
        answer
        for _, answer in duplicate_review_panels.send(
            sender=Contact, request=request, account=account
        )
        if answer
    ]
    context = {"groups": duplicate_groups(account), "panels": panels}
    return render(request, "contacts/duplicates.html", context)


def _duplicate_decide(request: AccountRequest, account: Account) -> HttpResponse:
    key = request.POST.get("key", "")
    ids = [int(i) for i in request.POST.getlist("member") if i.isdecimal() and len(i) < 18]
    group = duplicate_group_find(account, key, ids)
    if group is None:
        messages.error(request, "That group has changed since the page was drawn; look again.")
        return redirect("contacts:duplicates", account_slug=account.slug)
    if request.POST.get("decision") == "not_duplicates":
        duplicates_dismiss(account=account, group=group, by=request.user)
        names = ", ".join(c.display_name for c in group.contacts)
        messages.success(request, f"Kept apart: {names}. They are not listed again.")
        return redirect("contacts:duplicates", account_slug=account.slug)
    survivor = next((c for c in group.contacts if str(c.pk) == request.POST.get("survivor")), None)
    if survivor is None:
        messages.error(request, "Choose the contact the others are merged into.")
        return redirect("contacts:duplicates", account_slug=account.slug)
    others = [c for c in group.contacts if c.pk != survivor.pk]
    contacts_merge(account=account, survivor=survivor, merged=others, by=request.user)
    messages.success(
        request,
        f"Merged into {survivor.display_name}: its invoices, payments, history and links now "
        "include those of " + ", ".join(c.display_name for c in others) + ".",
    )
    return redirect("contacts:duplicates", account_slug=account.slug)
