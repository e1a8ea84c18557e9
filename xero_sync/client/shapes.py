"""Our own shapes of what the client takes and returns: small frozen dataclasses, no SDK types."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar


@dataclass(frozen=True)
class Tenant:
    """One organisation a grant reaches (an entry of Xero's /connections)."""

    xero_connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str


@dataclass(frozen=True)
class LedgerAccount:
    """An account in the organisation's chart of accounts."""

    account_id: str
    code: str
    name: str
    type: str
    status: str
    enable_payments: bool

    @property
    def can_take_payments(self) -> bool:
        """What the payment-account picker offers: active, payments enabled, not a bank."""
        return self.status == "ACTIVE" and self.enable_payments and self.type != "BANK"


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str
    short_code: str
    # Xero refuses to approve a document dated on or before either (None: not set).
    period_lock_date: datetime.date | None = None
    end_of_year_lock_date: datetime.date | None = None


@dataclass(frozen=True)
class Currency:
    """A currency the organisation has enabled (its base currency among them)."""

    code: str
    description: str


@dataclass(frozen=True)
class TrackingOption:
    id: str
    name: str


@dataclass(frozen=True)
class TrackingCategory:
    """An active tracking category of the organisation, with its active options."""

    id: str
    name: str
    options: tuple[TrackingOption, ...]


@dataclass(frozen=True)
class BrandingTheme:
    id: str
    name: str


@dataclass(frozen=True)
class LineTracking:
    """A line's option of one tracking category, as sent (IDs, with the names Xero shows)."""

    category_id: str
    category_name: str
    option_id: str
    option_name: str


@dataclass(frozen=True)
class ContactGroup:
    """An active contact group of the organisation."""

    id: str
    name: str


# --- what we write -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineBody:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    account_code: str
    tax_type: str | None = None
    line_item_id: str | None = None
    tracking: tuple[LineTracking, ...] = ()
    item_code: str = ""  # Xero's ItemCode of the line's item ("": none)


@dataclass(frozen=True)
class ItemBody:
    """A price-list item as we create it in Xero: sold, with its sales details. Absent
    details are left out (Xero then leaves them empty on the item)."""

    code: str
    name: str
    description: str = ""
    unit_price: Decimal | None = None
    account_code: str = ""
    tax_type: str = ""


@dataclass(frozen=True)
class InvoiceBody:
    """An invoice as we send it to Xero. A void (or deleted) one carries only its id and status."""

    STATUS_ONLY: ClassVar[tuple[str, ...]] = ("VOIDED", "DELETED")  # voided as it stands

    status: str
    invoice_id: str = ""
    contact_id: str = ""
    number: str = ""
    reference: str | None = None
    date: datetime.date | None = None
    due_date: datetime.date | None = None
    currency: str = ""
    line_amount_types: str = ""
    lines: tuple[LineBody, ...] = ()
    branding_theme_id: str = ""  # "": Xero applies the organisation's default

    @property
    def status_only(self) -> bool:
        return self.status in self.STATUS_ONLY


@dataclass(frozen=True)
class ContactBody:
    """A contact as we create it in Xero (or, with its ContactID, update it there); absent
    fields are left out, never sent empty."""

    name: str
    first_name: str = ""
    last_name: str = ""
    email_address: str = ""
    contact_id: str = ""
    # Ours, on the contacts we create (Xero's ContactNumber: an API-only key): a contact
    # found by name later is known as ours by it, not by the name.
    contact_number: str = ""
    # The billing (POBOX) address, as ContactChanges.address; None: none to send.
    address: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ContactChanges:
    """Changes to a contact in Xero, by its ContactID (none: a new contact). Only the fields
    set (not None) are sent; "" clears one."""

    contact_id: str = ""
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_address: str | None = None
    phone: tuple[str, str] | None = None  # (PhoneType, number as typed)
    status: str | None = None  # ACTIVE, ARCHIVED
    # The billing (POBOX) address: AddressLine1-4, City, Region, PostalCode, Country.
    address: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PaymentBody:
    invoice_id: str  # Xero's InvoiceID
    account_id: str  # Xero's AccountID of the payment account
    date: datetime.date
    amount: Decimal
    reference: str


@dataclass(frozen=True)
class CreditNoteBody:
    """A sales credit note (ACCRECCREDIT) as we create it in Xero, approved."""

    contact_id: str
    number: str
    reference: str
    date: datetime.date
    currency: str
    line_amount_types: str
    lines: tuple[LineBody, ...]
    branding_theme_id: str = ""  # the invoice's; Xero applies its default when none


@dataclass(frozen=True)
class AllocationBody:
    invoice_id: str  # Xero's InvoiceID the credit is set against
    amount: Decimal
    date: datetime.date


@dataclass(frozen=True)
class RefundBody:
    """A refund: a payment out of the payment account against a credit note."""

    credit_note_id: str
    account_id: str
    date: datetime.date
    amount: Decimal
    reference: str
