"""The URL layout on the one port, matched case-insensitively (the SDK says /Connections)."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .accounting import (
    contacts,
    credit_notes,
    currencies,
    invoice_sending,
    invoices,
    items,
    payments,
    settings,
    tracking,
)
from .wire import Response

API = "/api.xro/2.0"
_ID = r"(?P<id>[^/]+)"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Response]
    area: str  # "api" | "identity" | "control" | "html"
    scope: str = ""  # granular scope families for API routes, space-separated: any one will do
    write: bool = False


def api(
    method: str, path: str, handler: Callable[..., Response], scope: str, write: bool = False
) -> Route:
    return Route(
        method, re.compile(f"^{re.escape(API)}{path}/?$", re.I), handler, "api", scope, write
    )


ITEMS = "accounting.settings accounting.invoices"

API_ROUTES = [
    api("GET", "/Organisation", settings.get_organisation, "accounting.settings"),
    api("GET", "/Accounts", settings.list_accounts, "accounting.settings"),
    api("GET", f"/Accounts/{_ID}", settings.get_account, "accounting.settings"),
    api("GET", "/TaxRates", settings.list_tax_rates, "accounting.settings"),
    api("GET", "/Currencies", currencies.list_currencies, "accounting.settings"),
    api("PUT", "/Currencies", currencies.create_currency, "accounting.settings", True),
    api("GET", "/BrandingThemes", settings.list_branding_themes, "accounting.settings"),
    api("GET", f"/BrandingThemes/{_ID}", settings.get_branding_theme, "accounting.settings"),
    api("GET", "/TrackingCategories", tracking.list_tracking_categories, "accounting.settings"),
    api(
        "GET",
        f"/TrackingCategories/{_ID}",
        tracking.get_tracking_category,
        "accounting.settings",
    ),
    # The spec scopes Items to accounting.settings; granular scopes put them under
    # accounting.invoices (XERO-FACTS section 2).
    api("GET", "/Items", items.list_items, ITEMS),
    api("GET", f"/Items/{_ID}", items.get_item, ITEMS),
    api("PUT", "/Items", items.write_items, ITEMS, True),
    api("POST", "/Items", items.write_items, ITEMS, True),
    api("POST", f"/Items/{_ID}", items.write_items, ITEMS, True),
    api("GET", "/Contacts", contacts.list_contacts, "accounting.contacts"),
    api("GET", f"/Contacts/{_ID}", contacts.get_contact, "accounting.contacts"),
    api("PUT", "/Contacts", contacts.write_contacts, "accounting.contacts", True),
    api("POST", "/Contacts", contacts.write_contacts, "accounting.contacts", True),
    api("POST", f"/Contacts/{_ID}", contacts.write_contacts, "accounting.contacts", True),
    api("GET", "/ContactGroups", contacts.list_groups, "accounting.contacts"),
    api("GET", f"/ContactGroups/{_ID}", contacts.get_group, "accounting.contacts"),
    api(
        "PUT",
        f"/ContactGroups/{_ID}/Contacts",
        contacts.add_group_members,
        "accounting.contacts",
        True,
    ),
    api(
        "DELETE",
        f"/ContactGroups/{_ID}/Contacts/(?P<contact_id>[^/]+)",
        contacts.remove_group_member,
        "accounting.contacts",
        True,
    ),
    api("GET", "/Invoices", invoices.list_invoices, "accounting.invoices"),
    api("GET", f"/Invoices/{_ID}", invoices.get_invoice, "accounting.invoices"),
    api("PUT", "/Invoices", invoices.write_invoices, "accounting.invoices", True),
    api("POST", "/Invoices", invoices.write_invoices, "accounting.invoices", True),
    api("POST", f"/Invoices/{_ID}", invoices.write_invoices, "accounting.invoices", True),
    api(
        "GET",
        f"/Invoices/{_ID}/OnlineInvoice",
        invoice_sending.get_online_invoice,
        "accounting.invoices",
    ),
    api(
        "POST",
        f"/Invoices/{_ID}/Email",
        invoice_sending.email_invoice,
        "accounting.invoices",
        True,
    ),
    api("GET", "/CreditNotes", credit_notes.list_credit_notes, "accounting.invoices"),
    api("GET", f"/CreditNotes/{_ID}", credit_notes.get_credit_note, "accounting.invoices"),
    api("PUT", "/CreditNotes", credit_notes.write_credit_notes, "accounting.invoices", True),
    api("POST", "/CreditNotes", credit_notes.write_credit_notes, "accounting.invoices", True),
    api(
        "POST", f"/CreditNotes/{_ID}", credit_notes.write_credit_notes, "accounting.invoices", True
    ),
    api(
        "PUT",
        f"/CreditNotes/{_ID}/Allocations",
        credit_notes.create_allocations,
        "accounting.invoices",
        True,
    ),
    api(
        "DELETE",
        f"/CreditNotes/{_ID}/Allocations/(?P<allocation_id>[^/]+)",
        credit_notes.delete_allocation,
        "accounting.invoices",
        True,
    ),
    api("GET", "/Payments", payments.list_payments, "accounting.payments"),
    api("GET", f"/Payments/{_ID}", payments.get_payment, "accounting.payments"),
    api("PUT", "/Payments", payments.create_payments, "accounting.payments", True),
    api("POST", "/Payments", payments.create_payments, "accounting.payments", True),
    api("POST", f"/Payments/{_ID}", payments.delete_payment, "accounting.payments", True),
]


def find(routes: list[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, params, path_known): path_known distinguishes 405 from 404."""
    known = False
    for route in routes:
        match = route.pattern.match(path)
        if match:
            known = True
            if route.method == method:
                return route, match.groupdict(), True
    return None, {}, known
