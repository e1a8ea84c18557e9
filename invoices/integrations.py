"""What an integration adds to the invoice pages, registered at start-up (in its AppConfig.ready):
a panel on the invoice page (with the integration's own actions in it), a column and a filter on
the list, a notice on the edit form, a panel on the product list. This app shows what is
registered and never names an integration, its states or its URLs.

Each template is included with the page's context (`invoice`, `current_account`, ...)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from platform_crm.models import Account

from .models import Invoice


@dataclass(frozen=True)
class InvoiceListFilter:
    """A select on the invoice list: `param` is its query parameter (and the select's id)."""

    param: str
    label: str
    choices: Sequence[tuple[str, str]]
    # (invoices, the chosen value) -> the invoices matching it; called only with a value
    # among `choices`.
    apply: Callable[[QuerySet[Invoice], str], QuerySet[Invoice]]


@dataclass(frozen=True)
class InvoiceIntegration:
    name: str
    panel_template: str = ""  # on the invoice page, under its heading
    list_heading: str = ""  # the list's column for it, and the cell's template
    list_cell_template: str = ""
    list_related: tuple[str, ...] = ()  # what the list cell reads (select_related)
    list_filter: InvoiceListFilter | None = None
    form_notice_template: str = ""  # above the edit form
    products_panel_template: str = ""  # on the product list, above it
    products_heading: str = ""  # the product list's column for it, and the cell's template
    products_cell_template: str = ""
    products_prefetch: tuple[str, ...] = ()  # what the product cell reads (prefetch_related)
    # The currencies invoices may use, as the connected books have them (None: no say, e.g.
    # not connected); the form offers them and the account's own.
    currencies: Callable[[Account], list[str] | None] | None = None


_registered: dict[str, InvoiceIntegration] = {}


def invoice_integration_register(integration: InvoiceIntegration) -> None:
    """Called once per integration at start-up; registering a name again replaces it."""
    _registered[integration.name] = integration


def invoice_integrations() -> list[InvoiceIntegration]:
    return list(_registered.values())


def invoice_currency_choices(account: Account) -> list[str] | None:
    """What the integrations allow (the union), or None when none has a say."""
    allowed: list[str] | None = None
    for integration in _registered.values():
        found = integration.currencies(account) if integration.currencies else None
        if found is not None:
            allowed = [*(allowed or []), *(c for c in found if c not in (allowed or []))]
    return allowed


def invoice_list_filters() -> list[InvoiceListFilter]:
    return [i.list_filter for i in _registered.values() if i.list_filter is not None]
