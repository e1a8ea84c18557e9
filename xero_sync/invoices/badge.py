"""What the sync adds to the invoice pages (invoices.integrations): the badge on the invoice page
with its actions (Retry, Use the next free number, Void and reissue), the Xero column and filter
on the list, and the warning on the edit form of an invoice Xero can no longer change."""

from django.db.models import QuerySet

from invoices.integrations import (
    InvoiceIntegration,
    InvoiceListFilter,
    invoice_integration_register,
)
from invoices.models import Invoice

from ..organisation.services import invoice_currencies
from .models import InvoiceSyncState

NOT_IN_XERO = "none"
LIST_FILTER_CHOICES = [
    (InvoiceSyncState.SYNCED.value, "In Xero"),
    (InvoiceSyncState.PENDING.value, "Sending to Xero"),
    (InvoiceSyncState.FAILED.value, "Not sent: needs a fix"),
    (InvoiceSyncState.WAITING.value, "Waiting for a reconnect"),
    (InvoiceSyncState.HELD.value, "Waiting for a decision"),
    (NOT_IN_XERO, "Not in Xero"),
]


def invoices_by_sync_state(invoices: QuerySet[Invoice], state: str) -> QuerySet[Invoice]:
    if state == NOT_IN_XERO:
        return invoices.filter(xero_sync__isnull=True)
    return invoices.filter(xero_sync__state=state)


def invoice_badge_register() -> None:
    invoice_integration_register(
        InvoiceIntegration(
            name="xero",
            panel_template="xero_sync/invoice_badge.html",
            list_heading="Xero",
            list_cell_template="xero_sync/invoice_list_cell.html",
            list_related=("xero_sync",),
            list_filter=InvoiceListFilter(
                param="sync",
                label="Xero",
                choices=LIST_FILTER_CHOICES,
                apply=invoices_by_sync_state,
            ),
            form_notice_template="xero_sync/invoice_form_notice.html",
            products_panel_template="xero_sync/_items_panel.html",
            products_heading="Xero",
            products_cell_template="xero_sync/_product_item_cell.html",
            products_prefetch=("xero_items",),
            currencies=invoice_currencies,
        )
    )
