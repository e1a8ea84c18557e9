"""Changes a person makes "inside Xero" (the HTML view, or the control API on their behalf).
They fire webhooks exactly as API writes do, unless made `quiet`: then the change reaches every
GET (UpdatedDateUTC moves, so If-Modified-Since polls see it) and no webhook tells of it, the
drift a lost or disabled webhook subscription leaves behind."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .accounting.call import Call
from .accounting.contacts import save_contact
from .accounting.credit_notes import (
    NOT_FOUND,
    allocate,
    allocation_events,
    removal_errors,
    remove_allocation,
    save_credit_note,
)
from .accounting.invoices import save_invoice
from .accounting.payments import apply_payment, document_event, remove_payment
from .accounting.rules import lock_messages
from .msdates import parse_date
from .sandbox import Sandbox
from .store import Tenant
from .wire import Request


class Refused(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _tenant(sandbox: Sandbox, tenant_id: str) -> Tenant:
    tenant = sandbox.store.tenant(tenant_id)
    if tenant is None:
        raise Refused([f"unknown tenant {tenant_id}"])
    return tenant


def _emit(sandbox: Sandbox, tenant: Tenant, events: list[tuple[Any, ...]], quiet: bool) -> None:
    if not quiet:
        for event in events:
            sandbox.webhooks.emit(tenant.id, *event)


def save_contact_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    fields: dict[str, Any],
    contact_id: str | None = None,
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        existing = tenant.contacts.get((contact_id or "").lower()) if contact_id else None
        if contact_id and existing is None:
            raise Refused(["The contact could not be found."])
        saved, errors = save_contact(
            tenant, fields, sandbox.clock.now(), existing, sandbox.settings.behaviour, api=False
        )
        if errors:
            raise Refused(errors)
        assert saved is not None  # saved when nothing was refused
        event = ("CONTACT", "UPDATE" if existing else "CREATE", saved["ContactID"])
        _emit(sandbox, tenant, [event], quiet)
    sandbox.changed.set()
    return saved


def save_invoice_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    fields: dict[str, Any],
    invoice_id: str | None = None,
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    """Create, edit, approve or void (Status VOIDED) an invoice."""
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        existing = tenant.invoices.get((invoice_id or "").lower()) if invoice_id else None
        if invoice_id and existing is None:
            raise Refused(["The invoice could not be found."])
        call = Call(Request("POST", "/in-xero", {}, {}), tenant, sandbox, sandbox.clock.now())
        saved, errors, events = save_invoice(call, fields, existing)
        if errors:
            raise Refused(errors)
        assert saved is not None  # saved when nothing was refused
        _emit(sandbox, tenant, events, quiet)
    sandbox.changed.set()
    return saved


def delete_payment_in_xero(
    sandbox: Sandbox, tenant_id: str, payment_id: str, *, quiet: bool = False
) -> dict[str, Any]:
    """ "Remove and redo" a payment (or a refund) in Xero: the document it paid is owed again."""
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        payment = tenant.payments.get((payment_id or "").lower())
        if payment is None:
            raise Refused(["The payment could not be found."])
        if payment["Status"] == "DELETED":
            raise Refused(["This payment has already been deleted."])
        paid_on = parse_date(payment["Date"])
        assert paid_on is not None  # a stored payment's date
        locked = lock_messages(tenant, paid_on)
        if locked:
            raise Refused(locked)
        document = remove_payment(sandbox.clock.now(), tenant, payment)
        if sandbox.settings.behaviour.webhook_on_payment:
            _emit(sandbox, tenant, [document_event(document)], quiet)
    sandbox.changed.set()
    return payment


def _pay(
    sandbox: Sandbox,
    tenant_id: str,
    sent: dict[str, Any],
    outstanding: Callable[[Tenant], Decimal | None],
    quiet: bool,
) -> dict[str, Any]:
    """A payment (or a refund) as a person records it: the first bank account and everything
    outstanding unless they say otherwise."""
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        if "Account" not in sent:
            bank = next((a for a in tenant.accounts.values() if a.get("Type") == "BANK"), None)
            sent["Account"] = {"AccountID": bank["AccountID"]} if bank else {}
        if "Amount" not in sent:
            left = outstanding(tenant)
            if left is not None:
                sent["Amount"] = left
        saved, errors, document = apply_payment(sandbox.clock.now(), tenant, sent)
        if errors:
            raise Refused(errors)
        assert saved is not None and document is not None  # saved when nothing was refused
        if sandbox.settings.behaviour.webhook_on_payment:
            _emit(sandbox, tenant, [document_event(document)], quiet)
    sandbox.changed.set()
    return saved


def pay_invoice_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    invoice_id: str,
    payment: dict[str, Any],
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    def outstanding(tenant: Tenant) -> Decimal | None:
        invoice = tenant.invoices.get(invoice_id.lower())
        return invoice["AmountDue"] if invoice else None

    sent = dict(payment, Invoice={"InvoiceID": invoice_id})
    return _pay(sandbox, tenant_id, sent, outstanding, quiet)


def refund_credit_note_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    credit_note_id: str,
    refund: dict[str, Any],
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    """ "Make a cash refund" on a credit note: a payment of (part of) its remaining credit."""

    def outstanding(tenant: Tenant) -> Decimal | None:
        credit_note = tenant.credit_notes.get(credit_note_id.lower())
        return credit_note["RemainingCredit"] if credit_note else None

    sent = dict(refund, CreditNote={"CreditNoteID": credit_note_id})
    return _pay(sandbox, tenant_id, sent, outstanding, quiet)


def _credit_note(tenant: Tenant, credit_note_id: str) -> dict[str, Any]:
    credit_note = tenant.credit_notes.get((credit_note_id or "").lower())
    if credit_note is None:
        raise Refused([NOT_FOUND])
    return credit_note


def save_credit_note_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    fields: dict[str, Any],
    credit_note_id: str | None = None,
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    """Create, edit, approve or void (Status VOIDED) a credit note."""
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        existing = _credit_note(tenant, credit_note_id) if credit_note_id else None
        call = Call(Request("POST", "/in-xero", {}, {}), tenant, sandbox, sandbox.clock.now())
        saved, errors, events = save_credit_note(call, fields, existing)
        if errors:
            raise Refused(errors)
        assert saved is not None  # saved when nothing was refused
        _emit(sandbox, tenant, events, quiet)
    sandbox.changed.set()
    return saved


def _allocation_change(
    sandbox: Sandbox,
    tenant_id: str,
    credit_note_id: str,
    change: Callable[[Tenant, dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]],
    quiet: bool,
) -> dict[str, Any]:
    """Run change(tenant, credit note) -> (result, invoice) under the lock; fire the events an
    allocation fires."""
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        credit_note = _credit_note(tenant, credit_note_id)
        result, invoice = change(tenant, credit_note)
        events = allocation_events(credit_note, invoice, sandbox.settings.behaviour)
        _emit(sandbox, tenant, events, quiet)
    sandbox.changed.set()
    return result


def allocate_credit_note_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    credit_note_id: str,
    allocation: dict[str, Any],
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    """ "Allocate credit" on a credit note: {Invoice: {InvoiceID}, Amount, Date}."""

    def change(
        tenant: Tenant, credit_note: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        saved, errors, invoice = allocate(sandbox.clock.now(), tenant, credit_note, allocation)
        if errors:
            raise Refused(errors)
        assert saved is not None and invoice is not None  # allocated when nothing was refused
        return saved, invoice

    return _allocation_change(sandbox, tenant_id, credit_note_id, change, quiet)


def remove_allocation_in_xero(
    sandbox: Sandbox,
    tenant_id: str,
    credit_note_id: str,
    allocation_id: str,
    *,
    quiet: bool = False,
) -> dict[str, Any]:
    def change(
        tenant: Tenant, credit_note: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        allocation = next(
            (a for a in credit_note["Allocations"] if a["AllocationID"] == allocation_id.lower()),
            None,
        )
        if allocation is None:
            raise Refused(["The allocation could not be found."])
        locked = removal_errors(tenant, allocation)
        if locked:
            raise Refused(locked)
        return credit_note, remove_allocation(sandbox.clock.now(), tenant, credit_note, allocation)

    return _allocation_change(sandbox, tenant_id, credit_note_id, change, quiet)
