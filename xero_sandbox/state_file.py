"""Optional persistence for `make dev`: a JSON snapshot of orgs, data, tokens and connections,
written (debounced) after changes and loaded at start-up."""

import os
import threading
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from . import jsonio
from .identity import AccessToken, Connection, RefreshToken
from .store import Tenant

if TYPE_CHECKING:  # the sandbox imports this module
    from .sandbox import Sandbox

DEBOUNCE_SECONDS = 1.0


def _tenant_dump(t: Tenant) -> dict[str, Any]:
    return {
        "Organisation": t.organisation,
        "contacts": list(t.contacts.values()),
        "contact_groups": t.contact_groups,
        "group_members": t.group_members,
        "accounts": t.accounts,
        "tax_rates": t.tax_rates,
        "invoices": t.invoices,
        "credit_notes": t.credit_notes,
        "payments": t.payments,
        "next_invoice_number": t.next_invoice_number,
        "next_credit_note_number": t.next_credit_note_number,
        "currencies": t.currencies,
        "rates": {
            code: [[since.isoformat(), rate] for since, rate in table]
            for code, table in t.rates.items()
        },
        "items": t.items,
        "tracking_categories": t.tracking_categories,
        "branding_themes": t.branding_themes,
        "online_invoices": t.online_invoices,
        "invoice_emails": t.invoice_emails,
        "plan": t.plan,
    }


def _tenant_load(data: dict[str, Any]) -> Tenant:
    t = Tenant(data["Organisation"])
    for contact in data["contacts"]:
        t.put_contact(contact)
    t.contact_groups, t.group_members = data["contact_groups"], data["group_members"]
    t.accounts, t.tax_rates = data["accounts"], data["tax_rates"]
    t.invoices, t.payments = data["invoices"], data["payments"]
    t.credit_notes = data.get("credit_notes", {})  # absent from files older than credit notes
    t.next_invoice_number = data["next_invoice_number"]
    t.next_credit_note_number = data.get("next_credit_note_number", 1)
    # Files written before these settings existed load with the defaults.
    t.currencies = data.get("currencies") or {t.base_currency: {"Code": t.base_currency}}
    t.rates = {
        code: [(date.fromisoformat(since), rate) for since, rate in table]
        for code, table in (data.get("rates") or {}).items()
    }
    t.items = data.get("items", {})
    t.tracking_categories = data.get("tracking_categories", {})
    t.branding_themes = data.get("branding_themes", {})
    t.online_invoices = data.get("online_invoices", {})
    t.invoice_emails = data.get("invoice_emails", [])
    t.plan = data.get("plan") or t.plan
    for invoice in t.invoices.values():
        if invoice["Type"] == "ACCREC" and invoice.get("InvoiceNumber"):
            t.invoice_numbers[invoice["InvoiceNumber"].lower()] = invoice["InvoiceID"]
    for credit_note in t.credit_notes.values():
        if credit_note["Type"] == "ACCRECCREDIT" and credit_note.get("CreditNoteNumber"):
            t.credit_note_numbers[credit_note["CreditNoteNumber"].lower()] = credit_note[
                "CreditNoteID"
            ]
    return t


class StateFile:
    def __init__(self, sandbox: "Sandbox", path: str) -> None:
        self.sandbox, self.path = sandbox, path

    def load(self) -> bool:
        if not os.path.exists(self.path):
            return False
        with open(self.path, encoding="utf-8") as handle:
            data = jsonio.loads(handle.read())
        sb = self.sandbox
        with sb.store.lock:
            for tenant_data in data["tenants"]:
                sb.store.add(_tenant_load(tenant_data))
            ident = sb.identity
            ident.connections = {c["id"]: Connection(**c) for c in data["connections"]}
            ident.refresh_tokens = {r["token"]: RefreshToken(**r) for r in data["refresh_tokens"]}
            ident.access_tokens = {a["token"]: AccessToken(**a) for a in data["access_tokens"]}
        return True

    def write(self) -> None:
        sb = self.sandbox
        with sb.store.lock:
            snapshot = {
                "tenants": [_tenant_dump(t) for t in sb.store.tenants.values()],
                "connections": [asdict(c) for c in sb.identity.connections.values()],
                "refresh_tokens": [asdict(r) for r in sb.identity.refresh_tokens.values()],
                "access_tokens": [asdict(a) for a in sb.identity.access_tokens.values()],
            }
            text = jsonio.dumps(snapshot)
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, self.path)

    def start(self) -> None:
        def run() -> None:
            while True:
                self.sandbox.changed.wait()
                self.sandbox.changed.clear()
                threading.Event().wait(DEBOUNCE_SECONDS)
                self.write()

        threading.Thread(target=run, name="xero-sandbox-state", daemon=True).start()
