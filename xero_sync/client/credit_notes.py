"""Typed calls about sales credit notes: created approved in a batch, allocated to an invoice,
refunded (a payment against the credit note). Our bodies (client.shapes) in, Xero's JSON out."""

from datetime import datetime
from typing import Any

from xero_python.accounting import Account as XAccount
from xero_python.accounting import Allocation, Allocations, CurrencyCode, LineAmountTypes
from xero_python.accounting import Contact as XContact
from xero_python.accounting import CreditNote as XCreditNote
from xero_python.accounting import CreditNotes as XCreditNotes
from xero_python.accounting import Invoice as XInvoice
from xero_python.accounting import Payment as XPayment

from .answers import JsonObject, pagination
from .errors import BadAnswer, NotFound
from .invoices import line_items, page_query
from .shapes import AllocationBody, CreditNoteBody, RefundBody
from .transport import Transport, request_digest, xero_bool


def _credit_note_model(body: CreditNoteBody) -> XCreditNote:
    model = XCreditNote(
        type="ACCRECCREDIT",
        contact=XContact(contact_id=body.contact_id),
        credit_note_number=body.number,
        reference=body.reference,
        date=body.date,
        currency_code=CurrencyCode(body.currency),
        line_amount_types=LineAmountTypes(body.line_amount_types),
        status="AUTHORISED",
        line_items=line_items(body.lines),
    )
    if body.branding_theme_id:
        model.branding_theme_id = body.branding_theme_id
    return model


def _refund_model(body: RefundBody) -> XPayment:
    return XPayment(
        credit_note=XCreditNote(credit_note_id=body.credit_note_id),
        account=XAccount(account_id=body.account_id),
        date=body.date,
        amount=body.amount,
        reference=body.reference,
    )


def credit_notes_request_digest(bodies: list[CreditNoteBody]) -> str:
    return request_digest(XCreditNotes(credit_notes=[_credit_note_model(b) for b in bodies]))


def refund_request_digest(body: RefundBody) -> str:
    return request_digest(_refund_model(body))


class CreditNoteCalls(Transport):
    def credit_notes_create(
        self, credit_notes: list[CreditNoteBody], *, idempotency_key: str
    ) -> list[Any]:
        """PUT /CreditNotes?summarizeErrors=false: one answer per element, with its errors."""
        model = XCreditNotes(credit_notes=[_credit_note_model(body) for body in credit_notes])
        return self._list(
            "credit_notes.create",
            lambda acc, ident, **o: acc.create_credit_notes(
                self.connection.tenant_id,
                model,
                summarize_errors=xero_bool(False),
                unitdp=4,
                **o,
            ),
            "CreditNotes",
            write=True,
            idempotency_key=idempotency_key,
        )

    def credit_notes_page(
        self,
        page: int,
        *,
        page_size: int = 100,
        modified_since: datetime | None = None,
        where: str = "",
    ) -> list[Any]:
        """One page of credit notes (with their allocations and refunds), oldest change first."""
        kwargs = page_query(page, page_size, modified_since, where)
        return self._list(
            "credit_notes.page",
            lambda acc, ident, **o: acc.get_credit_notes(self.connection.tenant_id, **kwargs, **o),
            "CreditNotes",
        )

    def credit_notes_page_counted(
        self, page: int, *, page_size: int, where: str
    ) -> tuple[list[object], dict[str, int]]:
        """One page of credit notes in a stable order (oldest first), each with its line items,
        allocations and refunds, and Xero's pagination block."""
        body = self._call(
            "credit_notes.page",
            lambda acc, ident, **o: acc.get_credit_notes(
                self.connection.tenant_id,
                page=page,
                page_size=page_size,
                where=where,
                order="Date ASC",
                **o,
            ),
            raw=True,
        )
        credit_notes = body.get("CreditNotes") or []
        if not isinstance(credit_notes, list):
            raise BadAnswer("Xero's answer has no list of credit notes.")
        return credit_notes, pagination(body.get("pagination"))

    def credit_notes_by_number(self, numbers: list[str]) -> list[Any]:
        """Sales credit notes with these numbers (GET /CreditNotes has no number filter but
        `where`)."""
        where = " OR ".join(f'CreditNoteNumber=="{n}"' for n in numbers if '"' not in n)
        return self._list(
            "credit_notes.find",
            lambda acc, ident, **o: acc.get_credit_notes(
                self.connection.tenant_id, where=where, page=1, **o
            ),
            "CreditNotes",
        )

    def credit_note(self, credit_note_id: str) -> JsonObject | None:
        try:
            found = self._list(
                "credit_notes.get",
                lambda acc, ident, **o: acc.get_credit_note(
                    self.connection.tenant_id, credit_note_id, **o
                ),
                "CreditNotes",
            )
        except NotFound:
            return None
        return found[0] if found and isinstance(found[0], dict) else None

    def credit_note_allocate(
        self, credit_note_id: str, allocation: AllocationBody, *, idempotency_key: str
    ) -> Any:
        """PUT /CreditNotes/{id}/Allocations with one allocation; its answer."""
        model = Allocations(
            allocations=[
                Allocation(
                    invoice=XInvoice(invoice_id=allocation.invoice_id),
                    amount=allocation.amount,
                    date=allocation.date,
                )
            ]
        )
        return self._write_one(
            "credit_notes.allocate",
            lambda acc, ident, **o: acc.create_credit_note_allocation(
                self.connection.tenant_id,
                credit_note_id,
                model,
                summarize_errors=xero_bool(False),
                **o,
            ),
            "Allocations",
            idempotency_key=idempotency_key,
        )

    def refund_create(self, refund: RefundBody, *, idempotency_key: str) -> Any:
        """POST /Payments with one payment against a credit note (a refund); its answer."""
        model = _refund_model(refund)
        return self._write_one(
            "refunds.create",
            lambda acc, ident, **o: acc.create_payment(self.connection.tenant_id, model, **o),
            "Payments",
            idempotency_key=idempotency_key,
        )
