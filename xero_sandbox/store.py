"""In-memory Xero: one `Tenant` per organisation holding Xero-shaped (PascalCase) dicts.

Everything is guarded by `Store.lock`; API handlers take it for the whole read-modify-write so
a batch is atomic with respect to other requests, as a database transaction would be."""

import threading
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import jsonio
from .currency_table import describe
from .money import display_rate, effective_rate, round4, to_decimal
from .msdates import ms_datetime


def _name_key(contact: dict[str, Any]) -> str:
    """A contact's name as the unique-name index keys it (seeded data may hold any shape)."""
    name = contact.get("Name")
    return name.strip().lower() if isinstance(name, str) else ""


def new_id() -> str:
    return str(uuid.uuid4())


class Tenant:
    def __init__(self, organisation: dict[str, Any]) -> None:
        self.id: str = organisation["OrganisationID"]
        self.organisation = organisation
        self.contacts: dict[str, dict[str, Any]] = {}
        self.contact_groups: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, list[str]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.tax_rates: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.credit_notes: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.active_names: dict[str, str] = {}  # lower-cased active contact name -> ContactID
        # Lower-cased names of ARCHIVED contacts -> their ContactIDs (several may share one).
        self.archived_names: dict[str, set[str]] = {}
        self.invoice_numbers: dict[str, str] = {}  # ACCREC InvoiceNumber -> InvoiceID
        self.next_invoice_number = 1
        self.credit_note_numbers: dict[str, str] = {}  # ACCRECCREDIT number -> CreditNoteID
        self.next_credit_note_number = 1
        # Settings a sales invoice draws on: enabled currencies (base first), the day rates set
        # through the control API (code -> [(from date, rate)], oldest first), items, tracking
        # categories (with their Options) and branding themes.
        self.currencies: dict[str, dict[str, Any]] = {}
        self.rates: dict[str, list[tuple[date, Decimal]]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.tracking_categories: dict[str, dict[str, Any]] = {}
        self.branding_themes: dict[str, dict[str, Any]] = {}
        # The invoice's own link and email: InvoiceID -> online invoice token; emails sent.
        self.online_invoices: dict[str, str] = {}
        self.invoice_emails: list[dict[str, Any]] = []
        # A Starter-like plan's caps on approved invoices per month (None: no cap).
        self.plan: dict[str, int | None] = {"ACCREC": None, "ACCPAY": None}
        # Serialised contacts, so a 1,000-contact page is a join rather than 1,000 dumps.
        self.contact_json: dict[tuple[str, bool], str] = {}
        self._ordered: dict[bool, list[str]] | None = None
        self._groups_by_contact: dict[str, list[str]] | None = None

    @property
    def name(self) -> str:
        name: str = self.organisation.get("Name", "")
        return name

    # contacts ---------------------------------------------------------------
    def put_contact(self, contact: dict[str, Any]) -> None:
        contact_id = contact["ContactID"]
        old = self.contacts.get(contact_id)
        if old is not None:
            self._unindex_name(old)
        else:
            self._ordered = None
        self.contacts[contact_id] = contact
        status = contact.get("ContactStatus", "ACTIVE")
        if status == "ACTIVE":
            self.active_names[_name_key(contact)] = contact_id
        elif status == "ARCHIVED":
            self.archived_names.setdefault(_name_key(contact), set()).add(contact_id)
        if old is not None and old.get("ContactStatus") != contact.get("ContactStatus"):
            self._ordered = None
        self.contact_json.pop((contact_id, False), None)
        self.contact_json.pop((contact_id, True), None)

    def _unindex_name(self, contact: dict[str, Any]) -> None:
        key = _name_key(contact)
        if self.active_names.get(key) == contact["ContactID"]:
            del self.active_names[key]
        archived = self.archived_names.get(key)
        if archived is not None:
            archived.discard(contact["ContactID"])
            if not archived:
                del self.archived_names[key]

    def contact_ids(self, include_archived: bool) -> list[str]:
        if self._ordered is None:
            every = list(self.contacts)
            active = [
                i for i in every if self.contacts[i].get("ContactStatus", "ACTIVE") == "ACTIVE"
            ]
            self._ordered = {True: every, False: active}
        return self._ordered[include_archived]

    def groups_of(self, contact_id: str) -> list[dict[str, Any]]:
        if self._groups_by_contact is None:
            index: dict[str, list[str]] = {}
            for group_id, members in self.group_members.items():
                for member in members:
                    index.setdefault(member, []).append(group_id)
            self._groups_by_contact = index
        return [self.contact_groups[g] for g in self._groups_by_contact.get(contact_id, ())]

    def set_group_members(self, group_id: str, members: list[str]) -> None:
        self.group_members[group_id] = members
        self._groups_by_contact = None
        self.contact_json.clear()

    # invoices ---------------------------------------------------------------
    def allocate_invoice_number(self) -> str:
        while True:
            number = f"INV-{self.next_invoice_number:04d}"
            self.next_invoice_number += 1
            if number.lower() not in self.invoice_numbers:  # the index is lower-cased
                return number

    def allocate_credit_note_number(self) -> str:
        while True:
            number = f"CN-{self.next_credit_note_number:04d}"
            self.next_credit_note_number += 1
            if number.lower() not in self.credit_note_numbers:
                return number

    def account_by_code(self, code: str) -> dict[str, Any] | None:
        for account in self.accounts.values():
            if account.get("Code") == code:
                return account
        return None

    @property
    def base_currency(self) -> str:
        return self.organisation.get("BaseCurrency") or "NZD"

    def item_by_code(self, code: str) -> dict[str, Any] | None:
        for item in self.items.values():
            if item.get("Code") == code:
                return item
        return None


def normalise(data: Any) -> Any:
    """Seed output may hold floats, Decimals or ints; make every non-integer number a Decimal."""
    return jsonio.loads(jsonio.dumps(data))


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


DOCUMENTS = ("Invoices", "CreditNotes", "Payments")


def build_tenant(org: dict[str, Any], stamp: str) -> Tenant:
    """Load one seed org (the dict `seed.build_org` returns) into a Tenant."""
    # Contacts hold no decimals; normalising 100,000 of them would dominate seeding time. Seeded
    # documents arrive as JSON (Decimal already) or from seed_sales (Decimal), so they are only
    # stripped of nulls.
    contacts = org.get("Contacts", [])
    documents = {k: _strip_nulls(org.get(k, [])) for k in DOCUMENTS}
    settings = {k: v for k, v in org.items() if k != "Contacts" and k not in DOCUMENTS}
    org = _strip_nulls(normalise(settings)) | documents
    organisation = dict(org["Organisation"])
    organisation.setdefault("OrganisationID", new_id())
    tenant = Tenant(organisation)
    for contact in contacts:
        contact = {k: v for k, v in contact.items() if v is not None}
        contact.setdefault("ContactID", new_id())
        contact.setdefault("ContactStatus", "ACTIVE")
        contact.setdefault("UpdatedDateUTC", stamp)
        contact.setdefault("HasAttachments", False)
        contact.pop("ContactGroups", None)
        tenant.put_contact(contact)
    for group in org.get("ContactGroups", []):
        group = dict(group)
        group.setdefault("ContactGroupID", new_id())
        group.setdefault("Status", "ACTIVE")
        members = [
            m["ContactID"]
            for m in group.pop("Contacts", [])
            if m.get("ContactID") in tenant.contacts
        ]
        tenant.contact_groups[group["ContactGroupID"]] = group
        tenant.set_group_members(group["ContactGroupID"], members)
    for account in org.get("Accounts", []):
        account = dict(account)
        account.setdefault("AccountID", new_id())
        account.setdefault("Status", "ACTIVE")
        account.setdefault("UpdatedDateUTC", stamp)
        tenant.accounts[account["AccountID"]] = account
    for rate in org.get("TaxRates", []):
        rate = _numeric_rate(rate)
        components = rate.get("TaxComponents") or []
        if components:
            # Xero computes these; seeds need not agree with its arithmetic.
            rate["EffectiveRate"] = effective_rate(components)
            rate.setdefault("DisplayTaxRate", display_rate(components))
        rate.setdefault("Status", "ACTIVE")
        tenant.tax_rates[rate["TaxType"]] = rate
    _load_settings(tenant, org, stamp)
    load_documents(tenant, org, stamp)
    return tenant


RATE_FIELDS = ("DisplayTaxRate", "EffectiveRate")


def _numeric_rate(rate: dict[str, Any]) -> dict[str, Any]:
    """Tax rates as the spec types them: rates are numbers (a seed may carry "15.0000")."""
    rate = dict(rate)
    for key in RATE_FIELDS:
        number = to_decimal(rate.get(key)) if isinstance(rate.get(key), str) else None
        if number is not None:
            rate[key] = round4(number)
    components = []
    for component in rate.get("TaxComponents") or []:
        component = dict(component)
        number = to_decimal(component["Rate"]) if isinstance(component.get("Rate"), str) else None
        if number is not None:
            component["Rate"] = round4(number)
        components.append(component)
    if "TaxComponents" in rate:
        rate["TaxComponents"] = components
    return rate


def _load_settings(tenant: Tenant, org: dict[str, Any], stamp: str) -> None:
    """Currencies, items, tracking categories and branding themes; an org seeded without them
    still has its base currency and Xero's "Standard" theme, as every Xero org does."""
    codes = [tenant.base_currency] + [
        c.get("Code") for c in org.get("Currencies", []) if isinstance(c, dict)
    ]
    for code in codes:
        if isinstance(code, str) and code not in tenant.currencies:
            tenant.currencies[code] = describe(code)
    for item in org.get("Items", []):
        item = dict(item)
        item.setdefault("ItemID", new_id())
        item.setdefault("IsSold", True)
        item.setdefault("IsPurchased", True)
        item.setdefault("IsTrackedAsInventory", False)
        item.setdefault("UpdatedDateUTC", stamp)
        tenant.items[item["ItemID"]] = item
    for category in org.get("TrackingCategories", []):
        category = dict(category)
        category.setdefault("TrackingCategoryID", new_id())
        category.setdefault("Status", "ACTIVE")
        category["Options"] = [
            {"TrackingOptionID": new_id(), "Status": "ACTIVE", **option}
            for option in category.get("Options") or []
        ]
        tenant.tracking_categories[category["TrackingCategoryID"]] = category
    themes = org.get("BrandingThemes") or [{"Name": "Standard", "SortOrder": 0}]
    for theme in themes:
        theme = {"BrandingThemeID": new_id(), "Type": "INVOICE", "CreatedDateUTC": stamp, **theme}
        tenant.branding_themes[theme["BrandingThemeID"]] = theme


def load_documents(tenant: Tenant, org: dict[str, Any], stamp: str) -> None:
    """Seeded invoices, credit notes and payments, stored as the API would have left them
    (seed_sales builds them consistent), with their numbers indexed."""
    for invoice in org.get("Invoices", []):
        invoice = dict(invoice)
        invoice.setdefault("InvoiceID", new_id())
        for key in ("Payments", "CreditNotes"):
            invoice.setdefault(key, [])
        invoice.setdefault("UpdatedDateUTC", stamp)
        tenant.invoices[invoice["InvoiceID"]] = invoice
        if invoice.get("Type") == "ACCREC" and invoice.get("InvoiceNumber"):
            tenant.invoice_numbers[str(invoice["InvoiceNumber"]).lower()] = invoice["InvoiceID"]
    for credit_note in org.get("CreditNotes", []):
        credit_note = dict(credit_note)
        credit_note.setdefault("CreditNoteID", new_id())
        for key in ("Payments", "Allocations"):
            credit_note.setdefault(key, [])
        credit_note.setdefault("UpdatedDateUTC", stamp)
        tenant.credit_notes[credit_note["CreditNoteID"]] = credit_note
        number = str(credit_note.get("CreditNoteNumber") or "")
        if credit_note.get("Type") == "ACCRECCREDIT" and number:
            tenant.credit_note_numbers[number.lower()] = credit_note["CreditNoteID"]
    for payment in org.get("Payments", []):
        payment = dict(payment)
        payment.setdefault("UpdatedDateUTC", stamp)
        tenant.payments[payment["PaymentID"]] = payment


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tenants: dict[str, Tenant] = {}

    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()

    def add(self, tenant: Tenant) -> None:
        with self.lock:
            self.tenants[tenant.id] = tenant

    def tenant(self, tenant_id: str | None) -> Tenant | None:
        if not tenant_id:
            return None
        return self.tenants.get(tenant_id.lower()) or self.tenants.get(tenant_id)


def touch(entity: dict[str, Any], moment: datetime) -> None:
    entity["UpdatedDateUTC"] = ms_datetime(moment)
