"""The connection's default branding theme and tracking (admins), and one invoice's own."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render

from invoices.models import Invoice, InvoiceStatus
from platform_crm.models import Account, Role
from platform_crm.tenancy import AccountRequest, account_view

from ..client.errors import XeroError
from ..connection.selectors import connection_get
from ..invoices.outbox import invoice_sync_mark_pending
from .invoice_options import (
    invoice_chosen,
    invoice_defaults_set,
    invoice_options_refresh,
    invoice_options_set,
)
from .models import InvoiceXeroOptions, OrganisationSettings
from .services import organisation_settings


def _read(request: HttpRequest, account: Account) -> OrganisationSettings | None:
    """The settings with the themes and tracking as Xero has them (read again when stale, or
    at once with ?refresh=1); None when not connected."""
    connection = connection_get(account)
    if connection is None or not connection.is_usable:
        return None
    try:
        return invoice_options_refresh(connection, force=bool(request.GET.get("refresh")))
    except XeroError as error:
        messages.error(request, f"Xero could not be read: {error.message}")
        return organisation_settings(connection)


def _tracking_posted(
    post: QueryDict, prefix: str, stored: OrganisationSettings
) -> list[dict[str, str]]:
    """One select per active category, named prefix + category id ("" for none)."""
    return [
        {"category_id": c["id"], "option_id": post.get(f"{prefix}{c['id']}", "")}
        for c in stored.tracking_categories
        if post.get(f"{prefix}{c['id']}")
    ]


@account_view(role=Role.ADMIN)
def xero_invoice_options(request: AccountRequest, account: Account) -> HttpResponse:
    stored = _read(request, account)
    if stored is None:
        return redirect("xero_sync:integrations", account_slug=account.slug)
    if request.method == "POST":
        try:
            invoice_defaults_set(
                stored,
                branding_theme_id=request.POST.get("branding_theme", ""),
                tracking=_tracking_posted(request.POST, "tracking-", stored),
            )
        except ValueError as wrong:
            messages.error(request, str(wrong))
        else:
            messages.success(request, "New invoices will carry these in Xero.")
            return redirect("xero_sync:integrations", account_slug=account.slug)
    chosen = {t["category_id"]: t["option_id"] for t in stored.default_tracking}
    return render(
        request,
        "xero_sync/invoice_options.html",
        {"stored": stored, "categories": _with_chosen(stored, chosen)},
    )


def _with_chosen(stored: OrganisationSettings, chosen: dict[str, str]) -> list[dict[str, Any]]:
    return [{**c, "chosen": chosen.get(c["id"], "")} for c in stored.tracking_categories]


@account_view()
def xero_invoice_own_options(
    request: AccountRequest, account: Account, invoice_pk: int
) -> HttpResponse:
    """An invoice's own branding theme and tracking (for it, and line by line)."""
    invoice = get_object_or_404(Invoice, account=account, pk=invoice_pk)
    stored = _read(request, account)
    if stored is None:
        return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    lines = list(invoice.lines.all())
    if request.method == "POST":
        own_tracking = request.POST.get("own_tracking") == "1"
        try:
            with transaction.atomic():
                Invoice.objects.select_for_update().filter(pk=invoice.pk).values_list("pk").get()
                invoice_options_set(
                    invoice,
                    stored,
                    branding_theme_id=request.POST.get("branding_theme", ""),
                    tracking=(
                        _tracking_posted(request.POST, "tracking-", stored)
                        if own_tracking
                        else None
                    ),
                    line_tracking={
                        line.pk: _tracking_posted(request.POST, f"line-{line.pk}-", stored)
                        for line in lines
                        if request.POST.get(f"line-{line.pk}-own") == "1"
                    },
                )
                if invoice.status != InvoiceStatus.DRAFT:
                    invoice_sync_mark_pending(invoice=invoice, change="xero_options")
        except ValueError as wrong:
            messages.error(request, str(wrong))
        else:
            messages.success(request, "Saved; the invoice goes to Xero with them.")
            return redirect("invoices:detail", account_slug=account.slug, pk=invoice.pk)
    own = InvoiceXeroOptions.objects.filter(invoice=invoice).first()
    chosen = invoice_chosen(invoice, stored)
    invoice_pairs = {t["category_id"]: t["option_id"] for t in (own.tracking if own else [])}
    return render(
        request,
        "xero_sync/invoice_own_options.html",
        {
            "invoice": invoice,
            "stored": stored,
            "own": own,
            "categories": _with_chosen(stored, invoice_pairs),
            "lines": [
                {
                    "line": line,
                    "own": own is not None and str(line.pk) in own.line_tracking,
                    "categories": _with_chosen(
                        stored, {t["category_id"]: t["option_id"] for t in chosen.lines[line.pk][0]}
                    ),
                }
                for line in lines
            ],
        },
    )
