"""Our invoice, contact and payment bodies as xero-python's models, and the digests of them that
idempotency keys and the pushed fingerprint are made of. (The SDK's side of the mapping: it
belongs with the client.)"""

import hashlib
import json
from collections.abc import Iterable

from xero_python.accounting import Account as XAccount
from xero_python.accounting import Contact as XContact
from xero_python.accounting import Contacts as XContacts
from xero_python.accounting import CurrencyCode, LineAmountTypes, LineItem
from xero_python.accounting import Invoice as XInvoice
from xero_python.accounting import Invoices as XInvoices
from xero_python.accounting import Payment as XPayment
from xero_python.api_client.serializer import serialize

from ..client import request_body
from .mapping import ContactBody, InvoiceBody, PaymentBody


def invoice_model(body: InvoiceBody) -> XInvoice:
    if body.status_only:
        return XInvoice(invoice_id=body.invoice_id, status=body.status)
    lines = []
    for line in body.lines:
        item = LineItem(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            discount_rate=line.discount_rate,
            account_code=line.account_code,
        )
        if line.tax_type is not None:
            item.tax_type = line.tax_type
        if line.line_item_id:
            item.line_item_id = line.line_item_id
        lines.append(item)
    model = XInvoice(
        type="ACCREC",
        contact=XContact(contact_id=body.contact_id),
        invoice_number=body.number,
        reference=body.reference,
        date=body.date,
        due_date=body.due_date,
        currency_code=CurrencyCode(body.currency),
        line_amount_types=LineAmountTypes(body.line_amount_types),
        status=body.status,
        line_items=lines,
    )
    if body.invoice_id:
        model.invoice_id = body.invoice_id
    return model


def invoices_model(bodies: list[InvoiceBody]) -> XInvoices:
    return XInvoices(invoices=[invoice_model(body) for body in bodies])


def contacts_model(bodies: list[ContactBody]) -> XContacts:
    fields = (
        {
            "name": body.name,
            "first_name": body.first_name,
            "last_name": body.last_name,
            "email_address": body.email_address,
        }
        for body in bodies
    )
    # Absent fields are left out, never sent empty.
    return XContacts(contacts=[XContact(**{k: v for k, v in f.items() if v}) for f in fields])


def payment_model(body: PaymentBody) -> XPayment:
    return XPayment(
        invoice=XInvoice(invoice_id=body.invoice_id),
        account=XAccount(account_id=body.account_id),
        date=body.date,
        amount=body.amount,
        reference=body.reference,
    )


def invoice_fingerprint(body: InvoiceBody) -> str:
    """What was last written to Xero, to tell an unchanged invoice (stored per row: a change in
    how it is computed makes every invoice look changed once)."""
    return hashlib.sha256(
        json.dumps(serialize(invoice_model(body)), sort_keys=True, default=str).encode()
    ).hexdigest()


def digest(parts: Iterable[object]) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:48]


def request_digest(model: object) -> str:
    """What a request carries, for its idempotency key: a changed body is a new key."""
    return hashlib.sha256(
        json.dumps(request_body(model), sort_keys=True, default=str).encode()
    ).hexdigest()
