"""Typed calls about invoices and their payments: our bodies (client.shapes) in, built into the
SDK's models here only, Xero's JSON out."""

import hashlib
import json
from datetime import datetime
from typing import Any

from xero_python.accounting import Account as XAccount
from xero_python.accounting import Contact as XContact
from xero_python.accounting import (
    CurrencyCode,
    LineAmountTypes,
    LineItem,
    LineItemTracking,
    RequestEmpty,
)
from xero_python.accounting import Invoice as XInvoice
from xero_python.accounting import Invoices as XInvoices
from xero_python.accounting import Payment as XPayment
from xero_python.api_client.serializer import serialize

from ..inbound import normalise
from .answers import JsonObject, pagination
from .errors import BadAnswer, NotFound
from .shapes import InvoiceBody, LineBody, PaymentBody
from .transport import Transport, request_body, request_digest, xero_bool


def line_items(lines: tuple[LineBody, ...]) -> list[LineItem]:
    items = []
    for line in lines:
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
        if line.item_code:
            item.item_code = line.item_code
        if line.tracking:
            item.tracking = [
                LineItemTracking(
                    tracking_category_id=t.category_id,
                    tracking_option_id=t.option_id,
                    name=t.category_name,
                    option=t.option_name,
                )
                for t in line.tracking
            ]
        items.append(item)
    return items


def _invoice_model(body: InvoiceBody) -> XInvoice:
    if body.status_only:
        return XInvoice(invoice_id=body.invoice_id, status=body.status)
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
        line_items=line_items(body.lines),
    )
    if body.invoice_id:
        model.invoice_id = body.invoice_id
    if body.branding_theme_id:
        model.branding_theme_id = body.branding_theme_id
    return model


def _payment_model(body: PaymentBody) -> XPayment:
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
        json.dumps(serialize(_invoice_model(body)), sort_keys=True, default=str).encode()
    ).hexdigest()


def invoices_request(bodies: list[InvoiceBody]) -> JsonObject:
    """POST /Invoices' body as Xero receives it."""
    return request_body(XInvoices(invoices=[_invoice_model(body) for body in bodies]))


def invoices_request_digest(bodies: list[InvoiceBody]) -> str:
    return request_digest(XInvoices(invoices=[_invoice_model(body) for body in bodies]))


def payment_request(body: PaymentBody) -> JsonObject:
    """POST /Payments' body as Xero receives it."""
    return request_body(_payment_model(body))


def payment_request_digest(body: PaymentBody) -> str:
    return request_digest(_payment_model(body))


def page_query(
    page: int, page_size: int, modified_since: datetime | None, where: str
) -> dict[str, Any]:
    """A paged list's arguments, oldest change first (If-Modified-Since when given)."""
    kwargs: dict[str, Any] = {"page": page, "page_size": page_size, "order": "UpdatedDateUTC ASC"}
    if where:
        kwargs["where"] = where
    if modified_since is not None:
        kwargs["if_modified_since"] = modified_since
    return kwargs


class InvoiceCalls(Transport):
    def invoices_page(
        self,
        page: int,
        *,
        page_size: int = 100,
        modified_since: datetime | None = None,
        where: str = "",
    ) -> list[Any]:
        """One page of invoices (with their payments), oldest change first."""
        kwargs = page_query(page, page_size, modified_since, where)
        return self._list(
            "invoices.page",
            lambda acc, ident, **o: acc.get_invoices(self.connection.tenant_id, **kwargs, **o),
            "Invoices",
        )

    def invoices_page_counted(
        self, page: int, *, page_size: int, where: str
    ) -> tuple[list[object], dict[str, int]]:
        """One page of invoices in a stable order (oldest first, then by number), each with
        its line items and payments, and Xero's pagination block."""
        body = self._call(
            "invoices.page",
            lambda acc, ident, **o: acc.get_invoices(
                self.connection.tenant_id,
                page=page,
                page_size=page_size,
                where=where,
                order="Date ASC",
                **o,
            ),
            raw=True,
        )
        invoices = body.get("Invoices") or []
        if not isinstance(invoices, list):
            raise BadAnswer("Xero's answer has no list of invoices.")
        return invoices, pagination(body.get("pagination"))

    def invoice(self, invoice_id: str) -> JsonObject | None:
        try:
            found = self._list(
                "invoices.get",
                lambda acc, ident, **o: acc.get_invoice(self.connection.tenant_id, invoice_id, **o),
                "Invoices",
            )
        except NotFound:
            return None
        return found[0] if found and isinstance(found[0], dict) else None

    def invoices_by_ids(self, ids: list[str]) -> list[Any]:
        """Invoices named by id (with their lines and payments), as a page of the list."""
        return self._list(
            "invoices.by_id",
            lambda acc, ident, **o: acc.get_invoices(
                self.connection.tenant_id, i_ds=ids, page=1, page_size=max(len(ids), 1), **o
            ),
            "Invoices",
        )

    def invoices_by_number(self, numbers: list[str]) -> list[Any]:
        """Only the invoices' ids, numbers, statuses and contacts are looked at (was a write
        whose answer was lost made after all?): summaryOnly leaves out lines and payments."""
        return self._list(
            "invoices.find",
            lambda acc, ident, **o: acc.get_invoices(
                self.connection.tenant_id,
                invoice_numbers=numbers,
                page=1,
                summary_only=xero_bool(True),
                **o,
            ),
            "Invoices",
        )

    def invoices_save(self, invoices: list[InvoiceBody], *, idempotency_key: str) -> list[Any]:
        """POST /Invoices?summarizeErrors=false: creates and in-place updates, one answer per
        element (each with its own errors)."""
        body = invoices_request(invoices)
        return self._list(
            "invoices.save",
            lambda acc, ident, **o: acc.update_or_create_invoices(
                self.connection.tenant_id,
                body,
                summarize_errors=xero_bool(False),
                unitdp=4,
                **o,
            ),
            "Invoices",
            write=True,
            idempotency_key=idempotency_key,
        )

    def payment_create(self, payment: PaymentBody, *, idempotency_key: str) -> Any:
        """POST /Payments with one payment; its answer (with any validation errors)."""
        body = payment_request(payment)
        return self._write_one(
            "payments.create",
            lambda acc, ident, **o: acc.create_payment(self.connection.tenant_id, body, **o),
            "Payments",
            idempotency_key=idempotency_key,
        )

    def payment_delete(self, payment_id: str, *, idempotency_key: str) -> None:
        self._call(
            "payments.delete",
            lambda acc, ident, **o: acc.delete_payment(
                self.connection.tenant_id, payment_id, {"Status": "DELETED"}, **o
            ),
            raw=True,
            write=True,
            idempotency_key=idempotency_key,
        )

    def online_invoice_url(self, invoice_id: str) -> str:
        """The invoice's online link, for a customer to view and pay it ("" when Xero answers
        none). Xero has one only for approved sales invoices (a 400 otherwise)."""
        found = self._list(
            "invoices.online",
            lambda acc, ident, **o: acc.get_online_invoice(
                self.connection.tenant_id, invoice_id, **o
            ),
            "OnlineInvoices",
        )
        first = found[0] if found and isinstance(found[0], dict) else {}
        url = normalise.text(first.get("OnlineInvoiceUrl"), 500)
        return url if url.startswith(("https://", "http://")) else ""

    def invoice_email(self, invoice_id: str, *, idempotency_key: str) -> None:
        """POST /Invoices/{id}/Email: Xero emails the invoice to its contact (204)."""
        self._call(
            "invoices.email",
            lambda acc, ident, **o: acc.email_invoice(
                self.connection.tenant_id, invoice_id, RequestEmpty(), **o
            ),
            raw=True,
            write=True,
            idempotency_key=idempotency_key,
        )
