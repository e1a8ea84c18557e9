"""Changes a person makes "inside Xero" (the HTML view, or the control API on their behalf).
They fire webhooks exactly as API writes do."""

from .accounting.call import Call
from .accounting.contacts import save_contact
from .accounting.invoices import save_invoice
from .accounting.payments import apply_payment
from .wire import Request


class Refused(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _tenant(sandbox, tenant_id: str):
    tenant = sandbox.store.tenant(tenant_id)
    if tenant is None:
        raise Refused([f"unknown tenant {tenant_id}"])
    return tenant


def save_contact_in_xero(
    sandbox, tenant_id: str, fields: dict, contact_id: str | None = None
) -> dict:
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        existing = tenant.contacts.get((contact_id or "").lower()) if contact_id else None
        if contact_id and existing is None:
            raise Refused(["The contact could not be found."])
        saved, errors = save_contact(tenant, fields, sandbox.clock.now(), existing)
        if errors:
            raise Refused(errors)
        sandbox.webhooks.emit(
            tenant.id, "CONTACT", "UPDATE" if existing else "CREATE", saved["ContactID"]
        )
    sandbox.changed.set()
    return saved


def save_invoice_in_xero(
    sandbox, tenant_id: str, fields: dict, invoice_id: str | None = None
) -> dict:
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        existing = tenant.invoices.get((invoice_id or "").lower()) if invoice_id else None
        call = Call(Request("POST", "/in-xero", {}, {}), tenant, sandbox, sandbox.clock.now())
        saved, errors, events = save_invoice(call, fields, existing)
        if errors:
            raise Refused(errors)
        for event in events:
            call.emit(*event)
    sandbox.changed.set()
    return saved


def pay_invoice_in_xero(sandbox, tenant_id: str, invoice_id: str, payment: dict) -> dict:
    with sandbox.store.lock:
        tenant = _tenant(sandbox, tenant_id)
        sent = dict(payment, Invoice={"InvoiceID": invoice_id})
        if "Account" not in sent:
            bank = next((a for a in tenant.accounts.values() if a.get("Type") == "BANK"), None)
            sent["Account"] = {"AccountID": bank["AccountID"]} if bank else {}
        if "Amount" not in sent and invoice_id.lower() in tenant.invoices:
            sent["Amount"] = tenant.invoices[invoice_id.lower()]["AmountDue"]
        saved, errors, invoice = apply_payment(sandbox.clock.now(), tenant, sent)
        if errors:
            raise Refused(errors)
        if sandbox.settings.behaviour.webhook_on_payment:
            sandbox.webhooks.emit(tenant.id, "INVOICE", "UPDATE", invoice["InvoiceID"])
    sandbox.changed.set()
    return saved
