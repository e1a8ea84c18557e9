"""The one door to Xero: the only code that imports xero-python. Typed methods, grouped by
the object they are about, over one private transport; our own shapes and typed errors out."""

from .answers import element_messages
from .connection import ConnectionCalls
from .contacts import ContactCalls
from .credit_notes import CreditNoteCalls
from .invoices import InvoiceCalls
from .items import ItemCalls
from .shapes import ContactGroup, LedgerAccount, Organisation, Tenant
from .transport import Transport


class XeroClient(
    ConnectionCalls, ContactCalls, CreditNoteCalls, InvoiceCalls, ItemCalls, Transport
):
    """Calls Xero for one connection. Build one per task; never share it between threads."""


__all__ = [
    "ContactGroup",
    "LedgerAccount",
    "Organisation",
    "Tenant",
    "XeroClient",
    "element_messages",
]
