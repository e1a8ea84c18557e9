"""Invoice numbers as Xero sees them: the numbers the organisation already holds (the index
XeroInvoiceNumber, kept by the invoice poll and by our own writes), so the CRM never hands one
out again, and whether an invoice's number is fixed because Xero knows the invoice by it.

The invoices app asks through its signals (invoices.signals); the receivers are in
xero_sync.receivers."""

from collections.abc import Iterable

from invoices.models import Invoice
from platform_crm.models import Account

from ..models import XeroConnection
from .models import InvoiceSync, XeroInvoiceNumber


def numbers_xero_holds(account: Account, numbers: Iterable[str]) -> dict[str, str]:
    """{number: why} for those of `numbers` the organisation already uses (Xero compares them
    case-insensitively, and so does the index)."""
    connection = XeroConnection.objects.filter(account=account).exclude(tenant_id="").first()
    if connection is None or not numbers:
        return {}
    by_key = {number.lower(): number for number in numbers}
    held = XeroInvoiceNumber.objects.filter(connection=connection, number__in=by_key)
    return {
        by_key[key]: f"Xero already has an invoice numbered {by_key[key]}."
        for key in held.values_list("number", flat=True)
    }


def number_fixed_by_xero(invoice: Invoice) -> str:
    """Why the number can no longer change: Xero has the invoice under it, or may have (a write
    whose answer was lost is looked up by this number)."""
    sync = (
        InvoiceSync.objects.filter(invoice=invoice)
        .only("xero_invoice_id", "outcome_unknown")
        .first()
    )
    if sync is None:
        return ""
    if sync.xero_invoice_id:
        return "the invoice is in Xero under this number."
    if sync.outcome_unknown:
        return "the invoice may already be in Xero under this number (its last answer was lost)."
    return ""


def number_taken_remember(connection: XeroConnection, number: str) -> None:
    """Xero refused `number` as taken before the poll had seen it: remember it as held (the
    poll fills in Xero's id later), so it is never handed out again."""
    XeroInvoiceNumber.objects.get_or_create(
        connection=connection, number=number.lower(), defaults={"xero_invoice_id": ""}
    )
