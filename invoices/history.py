"""An invoice's history: who or what changed it, when, and on which side.

Every service change records one event (invoices.services._send). Where the change came from
is ambient: a web request's user (HistoryMiddleware), or a side set by an integration applying
changes made elsewhere (`changes_from("xero")`). Integrations add their own events (sent to
Xero, refused by Xero) through `invoice_event_record`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from .models import CreditNote, EventSource, Invoice, InvoiceEvent, Payment

_source: ContextVar[str] = ContextVar("invoice_change_source", default=EventSource.CRM)
_user: ContextVar[User | None] = ContextVar("invoice_change_user", default=None)

CHANGES = {
    "created": "Created",
    "updated": "Edited",
    "issued": "Issued",
    "paid": "Payment of {amount} recorded",
    "payment_deleted": "Payment of {amount} removed",
    "voided": "Voided",
    "credited": "Credit note {number} of {amount} raised: {reason}",
    "credit_settled": "Credit note {number} of {amount}: {allocated} now set against this invoice",
    "credit_withdrawn": "Credit note {number} of {amount} voided",
}


@contextmanager
def changes_from(source: str) -> Iterator[None]:
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def invoice_event_record(invoice: Invoice, what: str, *, source: str | None = None) -> None:
    source = source or _source.get()
    user = _user.get() if source == EventSource.CRM else None
    InvoiceEvent.objects.create(invoice=invoice, source=source, by=user, what=what[:300])


def change_record(
    invoice: Invoice,
    change: str,
    payment: Payment | None = None,
    credit_note: CreditNote | None = None,
) -> None:
    text = CHANGES.get(change, change)
    if payment is not None:
        text = text.format(amount=f"{payment.amount} {invoice.currency}")
    if credit_note is not None:
        text = text.format(
            number=credit_note.number,
            amount=f"{credit_note.total} {invoice.currency}",
            reason=credit_note.reason,
            allocated=f"{credit_note.amount_allocated} {invoice.currency}",
        )
        if credit_note.refund_amount and change != "credit_withdrawn":
            text += f" ({credit_note.refund_amount} {invoice.currency} of it refunded)"
        if credit_note.carried_to is not None:
            text += (
                f" ({credit_note.carried_amount} {invoice.currency} paid carried to "
                f"{credit_note.carried_to.number})"
            )
    invoice_event_record(invoice, text)


class HistoryMiddleware:
    """Changes made during a request are by its user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = (
            request.user
            if getattr(request, "user", None) and request.user.is_authenticated
            else None
        )
        token = _user.set(user)
        try:
            return self.get_response(request)
        finally:
            _user.reset(token)
