"""Invoices and payments as Xero sends them (its JSON), read into our own small types. Pure:
no database, no network. A record that cannot be read raises normalise.Unstorable; a payment
that cannot be read is set aside on its own, never costing its invoice."""

from dataclasses import dataclass, field
from datetime import date, datetime

from .inbound import normalise

ID_LENGTH = 64
NUMBER_LENGTH = 255
STATUS_LENGTH = 20
# Amounts as the CRM stores them (invoices.Payment.amount).
AMOUNT_DIGITS, AMOUNT_PLACES = 14, 2


@dataclass(frozen=True)
class XeroPayment:
    payment_id: str
    amount: object  # Decimal
    date: date | None
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
    updated_at: datetime | None
    payments: tuple[XeroPayment, ...] = ()
    unread_payments: tuple[UnreadPayment, ...] = ()
    line_item_ids: tuple[str, ...] = ()
    raw: object = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.number or self.invoice_id


def _id(raw: dict, key: str, *, required: bool = False) -> str:
    value = normalise.fits(raw.get(key), ID_LENGTH)
    if required and not value:
        raise normalise.Unstorable(f"Xero sent it without {key}")
    return value


def payment_from_xero(raw) -> XeroPayment:
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a payment")
    return XeroPayment(
        payment_id=_id(raw, "PaymentID", required=True),
        amount=normalise.decimal(raw.get("Amount"), max_digits=AMOUNT_DIGITS, places=AMOUNT_PLACES),
        date=normalise.day(raw.get("Date")),
        reference=normalise.text(raw.get("Reference"), 1000),
        status=normalise.text(raw.get("Status"), STATUS_LENGTH),
    )


def invoice_from_xero(raw) -> XeroInvoice:
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
    )


def invoice_label(raw) -> str:
    """What a person knows an invoice by, from whatever Xero sent."""
    if not isinstance(raw, dict):
        return ""
    return normalise.text(raw.get("InvoiceNumber"), 255) or normalise.text(raw.get("InvoiceID"))
