"""Pure mapping between Xero's invoices and ours: no database, no network.

To Xero: what we send is built from our own data gathered first (InvoiceFacts, a contact, a
payment) into our own small bodies (InvoiceBody, ContactBody, PaymentBody); the client turns them
into the SDK's models.
From Xero: invoices and payments as Xero sends them (its JSON), read into our own small types. A
record that cannot be read raises normalise.Unstorable; a payment that cannot be read is set
aside on its own, never costing its invoice."""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from contacts.models import Contact
from invoices.models import NUMBER_MAX_LENGTH as CRM_NUMBER_LENGTH
from invoices.models import ZERO, InvoiceStatus, Payment, TaxMode

from ..client.shapes import (
    AllocationBody,
    ContactBody,
    CreditNoteBody,
    InvoiceBody,
    LineBody,
    LineTracking,
    PaymentBody,
    RefundBody,
)
from ..contacts.mapping import address_of
from ..inbound import normalise

# --- to Xero -------------------------------------------------------------------------------------
# The CRM's tax modes as Xero's LineAmountTypes.
LINE_AMOUNT_TYPES = {
    TaxMode.EXCLUSIVE: "Exclusive",
    TaxMode.INCLUSIVE: "Inclusive",
    TaxMode.NO_TAX: "NoTax",
}


@dataclass(frozen=True)
class LineFacts:
    """One CRM invoice line, with the Xero tax type its tax rate is mapped to."""

    line_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal | None
    xero_tax_type: str | None  # None: the line has no tax rate
    tracking: tuple[LineTracking, ...] = ()
    item_code: str = ""  # the Xero ItemCode of the line's product ("": free text)
    account_code: str = ""  # the line's own sales account ("": the invoice's)


@dataclass(frozen=True)
class InvoiceFacts:
    """What the body of an invoice for Xero is made of, read from the database beforehand."""

    status: str  # the CRM's InvoiceStatus
    number: str
    name: str
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str
    tax_mode: str
    lines: tuple[LineFacts, ...]
    sales_account_code: str
    contact_id: str  # Xero's ContactID
    xero_invoice_id: str = ""  # Xero's InvoiceID, once it has one
    xero_status: str = ""  # the status Xero last gave it
    xero_line_ids: Mapping[str, str] = field(default_factory=dict)  # our line id -> LineItemID
    branding_theme_id: str = ""  # "": Xero applies the organisation's default


def xero_status(status: str, xero_status: str) -> str:
    """The status Xero is to hold for a CRM invoice of `status` (Xero's last word on it being
    `xero_status`): a void invoice Xero never approved is deleted there, not voided."""
    if status == InvoiceStatus.VOID:
        approved = xero_status not in ("", "DRAFT", "SUBMITTED")
        return "VOIDED" if approved else "DELETED"
    return "DRAFT" if status == InvoiceStatus.DRAFT else "AUTHORISED"


def invoice_body(facts: InvoiceFacts) -> InvoiceBody:
    """ACCREC, our number as InvoiceNumber, the title as Reference; lines Xero already holds
    keep their LineItemID, so an edit updates them in place."""
    status = xero_status(facts.status, facts.xero_status)
    if status in InvoiceBody.STATUS_ONLY:
        return InvoiceBody(status=status, invoice_id=facts.xero_invoice_id)
    taxed = facts.tax_mode != TaxMode.NO_TAX
    return InvoiceBody(
        status=status,
        invoice_id=facts.xero_invoice_id,
        contact_id=facts.contact_id,
        number=facts.number,
        reference=facts.name or None,
        date=facts.issue_date,
        due_date=facts.due_date,
        currency=facts.currency,
        line_amount_types=LINE_AMOUNT_TYPES[TaxMode(facts.tax_mode)],
        lines=line_bodies(facts.lines, facts.sales_account_code, taxed, facts.xero_line_ids),
        branding_theme_id=facts.branding_theme_id,
    )


def line_bodies(
    lines: tuple[LineFacts, ...],
    account_code: str,
    taxed: bool,
    xero_line_ids: Mapping[str, str] | None = None,
) -> tuple[LineBody, ...]:
    """Lines as Xero takes them on invoices and credit notes; those Xero already holds keep
    their LineItemID."""
    return tuple(
        LineBody(
            description=line.description or "-",
            quantity=line.quantity,
            unit_amount=line.unit_price,
            discount_rate=line.discount_rate if line.discount_rate else None,
            account_code=line.account_code or account_code,
            tax_type=line.xero_tax_type if taxed else None,
            line_item_id=(xero_line_ids or {}).get(str(line.line_id)) or None,
            tracking=line.tracking,
            item_code=line.item_code,
        )
        for line in lines
    )


def contact_number(contact: Contact) -> str:
    """The ContactNumber a contact the CRM creates in Xero carries."""
    return f"crm-contact-{contact.pk}"


def contact_body(contact: Contact) -> ContactBody:
    return ContactBody(
        name=contact.company_name or contact.display_name,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email_address=contact.email,
        contact_number=contact_number(contact),
        address=address_of(contact) if any(address_of(contact)) else None,
    )


def payment_body(payment: Payment, *, xero_invoice_id: str, account_id: str) -> PaymentBody:
    return PaymentBody(
        invoice_id=xero_invoice_id,
        account_id=account_id,
        date=payment.date,
        amount=Decimal(payment.amount),
        reference=payment.reference or f"CRM payment {payment.pk}",
    )


@dataclass(frozen=True)
class CreditNoteFacts:
    """What a CRM credit note's body for Xero is made of."""

    number: str
    reason: str
    date: dt.date
    currency: str
    tax_mode: str
    lines: tuple[LineFacts, ...]
    contact_id: str
    sales_account_code: str
    branding_theme_id: str = ""


REFERENCE_LENGTH = 255


def credit_note_body(facts: CreditNoteFacts) -> CreditNoteBody:
    """ACCRECCREDIT, approved (only an approved credit note can be allocated or refunded), our
    number as CreditNoteNumber, the reason as Reference; lines as the invoice's are sent."""
    taxed = facts.tax_mode != TaxMode.NO_TAX
    return CreditNoteBody(
        contact_id=facts.contact_id,
        number=facts.number,
        reference=facts.reason[:REFERENCE_LENGTH],
        date=facts.date,
        currency=facts.currency,
        line_amount_types=LINE_AMOUNT_TYPES[TaxMode(facts.tax_mode)],
        lines=line_bodies(facts.lines, facts.sales_account_code, taxed),
        branding_theme_id=facts.branding_theme_id,
    )


def allocation_body(*, xero_invoice_id: str, amount: Decimal, date: dt.date) -> AllocationBody:
    return AllocationBody(invoice_id=xero_invoice_id, amount=Decimal(amount), date=date)


def refund_body(
    *, xero_credit_note_id: str, account_id: str, amount: Decimal, date: dt.date, number: str
) -> RefundBody:
    return RefundBody(
        credit_note_id=xero_credit_note_id,
        account_id=account_id,
        date=date,
        amount=Decimal(amount),
        reference=f"Refund of {number}",
    )


# --- from Xero -----------------------------------------------------------------------------------
ID_LENGTH = 64
NUMBER_LENGTH = 255
STATUS_LENGTH = 20
# Amounts as the CRM stores them (invoices.Payment.amount).
AMOUNT_DIGITS, AMOUNT_PLACES = 14, 2


@dataclass(frozen=True)
class XeroPayment:
    payment_id: str
    amount: Decimal
    date: dt.date | None
    reference: str
    status: str


@dataclass(frozen=True)
class UnreadPayment:
    """A payment on an invoice that could not be read, with the reason."""

    raw: object
    payment_id: str
    reason: str


@dataclass(frozen=True)
class XeroInvoice:
    invoice_id: str
    type: str
    number: str
    status: str
    contact_id: str
    updated_at: dt.datetime | None
    payments: tuple[XeroPayment, ...] = ()
    unread_payments: tuple[UnreadPayment, ...] = ()
    line_item_ids: tuple[str, ...] = ()
    raw: object = field(default=None, repr=False, compare=False)
    currency_rate: Decimal | None = None

    @property
    def label(self) -> str:
        return self.number or self.invoice_id


def currency_rate_from_xero(raw: object) -> Decimal | None:
    """Xero's CurrencyRate of a document (6 dp); None when absent, not a positive number or
    beyond what the column holds: the rate is only shown, never worth losing the invoice for."""
    value = raw.get("CurrencyRate") if isinstance(raw, dict) else None
    if value is None:
        return None
    try:
        rate = normalise.decimal(value, max_digits=18, places=6)
    except normalise.Unstorable:
        return None
    return rate if rate > 0 else None


def _id(raw: dict[str, object], key: str, *, required: bool = False) -> str:
    value = normalise.fits(raw.get(key), ID_LENGTH)
    if required and not value:
        raise normalise.Unstorable(f"Xero sent it without {key}")
    return value


def payment_from_xero(raw: object) -> XeroPayment:
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a payment")
    return XeroPayment(
        payment_id=_id(raw, "PaymentID", required=True),
        amount=normalise.decimal(raw.get("Amount"), max_digits=AMOUNT_DIGITS, places=AMOUNT_PLACES),
        date=normalise.day(raw.get("Date")),
        reference=normalise.text(raw.get("Reference"), 1000),
        status=normalise.text(raw.get("Status"), STATUS_LENGTH),
    )


def invoice_from_xero(raw: object) -> XeroInvoice:
    """One invoice of Xero's JSON. Raises normalise.Unstorable when it has no usable
    InvoiceID; its payments are read one by one."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not an invoice")
    payments, unread = [], []
    listed = raw.get("Payments")
    for payment in listed if isinstance(listed, list) else []:
        try:
            payments.append(payment_from_xero(payment))
        except normalise.Unstorable as unstorable:
            payment_id = payment.get("PaymentID") if isinstance(payment, dict) else ""
            unread.append(UnreadPayment(payment, normalise.text(payment_id)[:64], str(unstorable)))
    contact = raw.get("Contact")
    lines = raw.get("LineItems")
    return XeroInvoice(
        invoice_id=_id(raw, "InvoiceID", required=True),
        type=normalise.text(raw.get("Type"), STATUS_LENGTH),
        number=normalise.text(raw.get("InvoiceNumber"), NUMBER_LENGTH),
        status=normalise.text(raw.get("Status"), STATUS_LENGTH),
        contact_id=_id(contact, "ContactID") if isinstance(contact, dict) else "",
        updated_at=normalise.moment(raw.get("UpdatedDateUTC")),
        payments=tuple(payments),
        unread_payments=tuple(unread),
        line_item_ids=tuple(  # in Xero's order, a place kept for a line it sent oddly
            normalise.text(line.get("LineItemID"))[:ID_LENGTH] if isinstance(line, dict) else ""
            for line in (lines if isinstance(lines, list) else [])
        ),
        raw=raw,
        currency_rate=currency_rate_from_xero(raw),
    )


def invoice_label(raw: object) -> str:
    """What a person knows an invoice by, from whatever Xero sent."""
    if not isinstance(raw, dict):
        return ""
    return normalise.text(raw.get("InvoiceNumber"), 255) or normalise.text(raw.get("InvoiceID"))


# --- from Xero: the whole of an invoice made there -----------------------------------------------
# Xero's LineAmountTypes as the CRM's tax modes.
TAX_MODES = {value: mode for mode, value in LINE_AMOUNT_TYPES.items()}
CURRENCY = re.compile(r"[A-Z]{3}")
NAME_LENGTH = 255  # invoices.Invoice.name
DESCRIPTION_LENGTH = 4000
# Line amounts as the CRM stores them (invoices.InvoiceLine).
QUANTITY_DIGITS, UNIT_DIGITS, UNIT_PLACES = 12, 14, 4


@dataclass(frozen=True)
class XeroLine:
    line_item_id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal
    tax_type: str  # "" when Xero sent none


@dataclass(frozen=True)
class XeroInvoiceContent:
    """What a CRM invoice made in Xero holds, read from Xero's JSON, with Xero's totals to
    check ours against."""

    number: str
    reference: str
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str
    tax_mode: str  # the CRM's TaxMode
    lines: tuple[XeroLine, ...]
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal


def _amount(raw: dict[str, object], key: str, digits: int, places: int, where: str) -> Decimal:
    try:
        return normalise.decimal(raw.get(key, 0), max_digits=digits, places=places)
    except normalise.Unstorable as unstorable:
        raise normalise.Unstorable(f"{where}{key}: {unstorable}") from None


def line_from_xero(raw: object, n: int) -> XeroLine:
    where = f"line {n}: "
    if not isinstance(raw, dict):
        raise normalise.Unstorable(f"{where}Xero sent something that is not a line")
    discount = _amount(raw, "DiscountRate", 5, 2, where) if raw.get("DiscountRate") else ZERO
    if not ZERO <= discount <= 100:
        raise normalise.Unstorable(f"{where}a discount of {discount}% (0 to 100 expected)")
    quantity = raw.get("Quantity")
    return XeroLine(
        line_item_id=normalise.fits(raw.get("LineItemID"), ID_LENGTH),
        description=normalise.text(raw.get("Description"), DESCRIPTION_LENGTH, lines=True),
        quantity=(
            _amount(raw, "Quantity", QUANTITY_DIGITS, UNIT_PLACES, where)
            if quantity is not None
            else Decimal(1)
        ),
        unit_amount=_amount(raw, "UnitAmount", UNIT_DIGITS, UNIT_PLACES, where),
        discount_rate=discount,
        tax_type=normalise.fits(raw.get("TaxType"), 50),
    )


def _whole(raw: dict[str, object], key: str, limit: int) -> str:
    try:
        return normalise.fits(raw.get(key), limit)
    except normalise.Unstorable as unstorable:
        raise normalise.Unstorable(f"{key}: {unstorable}") from None


def invoice_content_from_xero(raw: object) -> XeroInvoiceContent:
    """The header, lines and totals of a sales invoice as Xero sent them. Raises
    normalise.Unstorable, with the reason, for what the CRM could not hold as Xero has it (a
    currency that is not a currency code, a number longer than the CRM's, odd amounts)."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not an invoice")
    currency = normalise.text(raw.get("CurrencyCode"), 10)
    if not CURRENCY.fullmatch(currency):
        raise normalise.Unstorable(f"its currency {currency[:10]!r} is not a currency code")
    number = normalise.text(raw.get("InvoiceNumber"))
    if not number:
        raise normalise.Unstorable("Xero sent it without an InvoiceNumber")
    if len(number) > CRM_NUMBER_LENGTH:
        raise normalise.Unstorable(
            f"its number has {len(number)} characters; the CRM holds at most {CRM_NUMBER_LENGTH}"
        )
    amount_types = normalise.text(raw.get("LineAmountTypes")) or "Exclusive"
    if amount_types not in TAX_MODES:
        raise normalise.Unstorable(f"its LineAmountTypes {amount_types[:20]!r} is not one Xero has")
    listed = raw.get("LineItems")
    if not isinstance(listed, list) or not listed:
        raise normalise.Unstorable("Xero sent it without lines")
    return XeroInvoiceContent(
        number=number,
        reference=_whole(raw, "Reference", NAME_LENGTH),
        issue_date=normalise.day(raw.get("Date")),
        due_date=normalise.day(raw.get("DueDate")),
        currency=currency,
        tax_mode=TAX_MODES[amount_types],
        lines=tuple(line_from_xero(line, n) for n, line in enumerate(listed, start=1)),
        subtotal=_amount(raw, "SubTotal", AMOUNT_DIGITS, AMOUNT_PLACES, ""),
        total_tax=_amount(raw, "TotalTax", AMOUNT_DIGITS, AMOUNT_PLACES, ""),
        total=_amount(raw, "Total", AMOUNT_DIGITS, AMOUNT_PLACES, ""),
    )
