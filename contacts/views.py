from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render

from platform_crm.forms import SearchForm
from platform_crm.models import Account
from platform_crm.tenancy import AccountRequest, account_view

from .forms import ContactForm
from .models import Contact
from .selectors import contact_get, contact_history, contact_list, contact_matches
from .services import contact_create, contact_update
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
