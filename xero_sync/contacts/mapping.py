"""Xero's contact JSON in CRM terms: pure functions, no database, no Xero.

- Names: a Xero contact with a FirstName or LastName is a person, with Name as the company
  unless it only repeats the person's name; one with neither is a company named by its Name,
  and no person's name is made up (xero_values).
- What Xero sends is normalised to what the CRM's columns hold (inbound.normalise); a record
  that still cannot be stored raises normalise.Unstorable with its reason.
- A Xero value never blanks a CRM field; customer/supplier flags are only ever added
  (changes_from_xero).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contacts.models import ADDRESS_FIELDS, Contact
from contacts.phones import phone_to_e164
from contacts.services import ContactValues

from ..client.shapes import ContactChanges
from ..inbound import normalise
from .models import XeroContact

TEXT_FIELDS = ("first_name", "last_name", "company_name", "email", "phone")
ID_LENGTH: int = getattr(XeroContact._meta.get_field("xero_contact_id"), "max_length", 64)
PHONE_TYPES = ("DEFAULT", "MOBILE", "DDI")  # in order of preference; FAX never

# Xero's Address keys for the CRM's billing address fields (its POBOX address).
ADDRESS_KEYS = dict(
    zip(
        ADDRESS_FIELDS,
        (
            "AddressLine1",
            "AddressLine2",
            "AddressLine3",
            "AddressLine4",
            "City",
            "Region",
            "PostalCode",
            "Country",
        ),
        strict=True,
    )
)
BILLING_ADDRESS = "POBOX"

# A change to a contact: (field, old value, new value).
Change = tuple[str, object, object]


def _limit(name: str) -> int:
    limit = getattr(Contact._meta.get_field(name), "max_length", None)
    assert isinstance(limit, int)
    return limit


def _phone_text(phone: dict[str, object]) -> str:
    country, area, number = (
        normalise.text(phone.get(key))
        for key in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
    )
    if not number:
        return ""
    if country:
        return normalise.text(f"+{country.lstrip('+')} {area} {number}".replace("  ", " "))
    return f"{area} {number}".strip()


def best_phone(phones: list[object], region: str) -> tuple[str, str]:
    """(as Xero shows it, E.164) for the first usable phone; empty ones are ignored."""
    by_type = {p.get("PhoneType"): p for p in phones if isinstance(p, dict)}
    for phone_type in PHONE_TYPES:
        text = _phone_text(by_type.get(phone_type) or {})
        if not text:
            continue
        e164 = phone_to_e164(text, default_region=region)
        area = normalise.text(by_type[phone_type].get("PhoneAreaCode"))
        if e164 is None and area[:1] not in ("0", ""):
            # An area code written without its trunk 0 and no country code: "21" "555 0102".
            e164 = phone_to_e164("0" + text, default_region=region)
        if e164 and len(e164) <= _limit("phone_e164"):
            return normalise.text(text, _limit("phone")), e164
    return "", ""


def phones_e164(phones: object, region: str) -> set[str]:
    """Every usable phone of a Xero contact (any type), in E.164."""
    found = set()
    for phone in phones if isinstance(phones, list) else []:
        if isinstance(phone, dict):
            text = _phone_text(phone)
            e164 = phone_to_e164(text, default_region=region) if text else None
            if e164:
                found.add(e164)
    return found


def _name_key(name: str) -> list[str]:
    """A name compared as people read it: case, punctuation and word order aside."""
    return sorted("".join(c for c in name.casefold() if c.isalnum() or c.isspace()).split())


def same_name(a: str, b: str) -> bool:
    return bool(a) and _name_key(a) == _name_key(b)


@dataclass(frozen=True)
class XeroValues:
    """What Xero says about a contact, in CRM terms and fit for the CRM's columns."""

    contact_id: str
    archived: bool
    merged_to: str
    updated_at: datetime | None
    first_name: str
    last_name: str
    company_name: str
    email: str
    phone: str
    phone_e164: str
    is_customer: bool
    is_supplier: bool
    payload: dict[str, Any] = field(repr=False, compare=False)
    # The billing address, by CRM field ("" for a part Xero leaves empty).
    address: dict[str, str] = field(default_factory=dict)

    @property
    def is_company(self) -> bool:
        """Xero named no person: a company (or a person Xero knows only by Name)."""
        return not (self.first_name or self.last_name)

    @property
    def name(self) -> str:
        """How a person would name this Xero contact in a list."""
        person = normalise.text(f"{self.first_name} {self.last_name}", 255)
        return self.company_name or person or self.email

    def new_contact(self) -> ContactValues:
        """The CRM contact made from it."""
        return ContactValues(
            first_name=self.first_name,
            last_name=self.last_name,
            company_name=self.company_name,
            email=self.email,
            phone=self.phone,
            phone_e164=self.phone_e164,
            is_archived=False,
            is_customer=self.is_customer,
            is_supplier=self.is_supplier,
            **self.address,
        )


def billing_address(raw: object) -> dict[str, str]:
    """The POBOX address of a contact's Addresses, each part fit for its column (cut, never
    refused, as other text is); {} when Xero gives none. Raises normalise.Unstorable for a
    shape an address never has (Addresses not a list, a part that is a list or an object)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise normalise.Unstorable("Xero sent Addresses that are not a list of addresses")
    for address in raw:
        if isinstance(address, dict) and address.get("AddressType") == BILLING_ADDRESS:
            parts = {name: address.get(key) for name, key in ADDRESS_KEYS.items()}
            if any(isinstance(v, dict | list) for v in parts.values()):
                raise normalise.Unstorable(
                    "Xero sent a billing address with a part that is not text"
                )
            return {name: normalise.text(v, _limit(name)) for name, v in parts.items()}
    return {}


def xero_values(raw: object, *, region: str) -> XeroValues:
    """One Xero contact (its JSON) in CRM terms: a person when Xero gives a first or last
    name, with Name as the company unless Name only repeats the person's name; otherwise a
    company named by Name, with no person's name made up. Raises normalise.Unstorable when
    the record cannot be stored (no ContactID)."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a contact")
    contact_id = normalise.fits(raw.get("ContactID"), ID_LENGTH)
    if not contact_id:
        raise normalise.Unstorable("Xero sent a contact without a ContactID")
    name = normalise.text(raw.get("Name"), _limit("company_name"))
    first = normalise.text(raw.get("FirstName"), _limit("first_name"))
    last = normalise.text(raw.get("LastName"), _limit("last_name"))
    company = name
    if (first or last) and same_name(name, f"{first} {last}"):
        company = ""  # "Fetu T." for Fetu T. is the person, not a company
    phones = raw.get("Phones")
    phone, e164 = best_phone(phones if isinstance(phones, list) else [], region)
    return XeroValues(
        contact_id=contact_id,
        archived=normalise.text(raw.get("ContactStatus")) not in ("", "ACTIVE"),
        merged_to=normalise.fits(raw.get("MergedToContactID"), ID_LENGTH),
        updated_at=normalise.moment(raw.get("UpdatedDateUTC")),
        first_name=first,
        last_name=last,
        company_name=company,
        email=normalise.text(raw.get("EmailAddress"), _limit("email")),
        phone=phone,
        phone_e164=e164,
        is_customer=normalise.flag(raw.get("IsCustomer")),
        is_supplier=normalise.flag(raw.get("IsSupplier")),
        payload=normalise.json_safe(raw),
        address=billing_address(raw.get("Addresses")),
    )


@dataclass(frozen=True)
class ContactFilter:
    """Which Xero contacts an admin wants in the CRM."""

    group_member_ids: frozenset[str] | None  # None: every contact
    customers: bool = True
    suppliers: bool = True
    others: bool = True

    def admits(self, values: XeroValues) -> bool:
        if self.group_member_ids is not None and values.contact_id not in self.group_member_ids:
            return False
        if values.is_customer or values.is_supplier:
            return (self.customers and values.is_customer) or (
                self.suppliers and values.is_supplier
            )
        return self.others


def changes_from_xero(contact: Contact, values: XeroValues) -> list[Change]:
    """Xero's non-empty values that differ from the contact's; flags only ever added. The
    billing address goes whole (a part Xero cleared is cleared), unless Xero's is empty."""
    changes: list[Change] = []
    for name in TEXT_FIELDS:
        new = getattr(values, name)
        old = getattr(contact, name)
        if name == "company_name" and values.is_company and same_name(new, contact.full_name):
            continue  # Xero knows this person by their name alone: it is not a company
        if name == "email":
            if new and new.lower() != old.lower():
                changes.append((name, old, new))
        elif name == "phone":
            if values.phone_e164 and values.phone_e164 != contact.phone_e164:
                changes.append((name, old, new))
        elif new and new != old:
            changes.append((name, old, new))
    if any(values.address.values()):  # an empty address in Xero never blanks the CRM's
        for name, new in values.address.items():
            if new != getattr(contact, name):
                changes.append((name, getattr(contact, name), new))
    if values.archived != contact.is_archived:
        changes.append(("is_archived", contact.is_archived, values.archived))
    if values.is_customer and not contact.is_customer:
        changes.append(("is_customer", False, True))
    if values.is_supplier and not contact.is_supplier:
        changes.append(("is_supplier", False, True))
    return changes


def changes_apply(contact: Contact, changes: list[Change], values: XeroValues) -> None:
    """Set the changes on the contact (in memory); a new phone brings its E.164 form."""
    for name, _, new in changes:
        setattr(contact, name, new)
    if any(name == "phone" for name, _, _ in changes):
        contact.phone_e164 = values.phone_e164


# --- to Xero -------------------------------------------------------------------------------------
NAME_FIELDS = ("first_name", "last_name", "company_name")


def xero_name(contact: Contact) -> str:
    """The Name a CRM contact has in Xero: its company, else the name it goes by (as an
    invoice's contact is created)."""
    return contact.company_name or contact.display_name


def phone_type_of(payload: dict[str, Any]) -> str:
    """The Xero phone slot the CRM's one phone stands for: the one it was read from
    (best_phone's order), else DEFAULT."""
    phones = payload.get("Phones")
    by_type = (
        {p.get("PhoneType"): p for p in phones if isinstance(p, dict)}
        if isinstance(phones, list)
        else {}
    )
    for phone_type in PHONE_TYPES:
        if _phone_text(by_type.get(phone_type) or {}):
            return phone_type
    return "DEFAULT"


def contact_changes(
    contact: Contact, fields: set[str], *, xero_contact_id: str, payload: dict[str, Any]
) -> ContactChanges:
    """What Xero is sent for the CRM fields changed: a new name as a whole (Name, FirstName,
    LastName together), the one phone in the slot it came from, the billing address whole (as
    Xero's POBOX address, which replaces the stored one), archived as ContactStatus. A contact
    not yet in Xero (no id) is sent whole."""
    whole = not xero_contact_id
    names = whole or bool(fields & set(NAME_FIELDS))
    return ContactChanges(
        contact_id=xero_contact_id,
        name=xero_name(contact) if names else None,
        first_name=contact.first_name if names else None,
        last_name=contact.last_name if names else None,
        email_address=contact.email if whole or "email" in fields else None,
        phone=(phone_type_of(payload), contact.phone)
        if (whole and contact.phone) or (not whole and "phone" in fields)
        else None,
        status=("ARCHIVED" if contact.is_archived else "ACTIVE")
        if not whole and "is_archived" in fields
        else None,
        address=address_of(contact)
        if (whole and any(address_of(contact))) or (not whole and fields & set(ADDRESS_FIELDS))
        else None,
    )


def address_of(contact: Contact) -> tuple[str, ...]:
    """The billing address's parts, in ADDRESS_FIELDS' order."""
    return tuple(getattr(contact, name) for name in ADDRESS_FIELDS)


def sent_matches(sent: ContactChanges, payload: dict[str, Any]) -> bool:
    """Whether Xero's contact already holds what was sent (a write whose answer was lost
    landed after all)."""
    for ours, key in (
        (sent.name, "Name"),
        (sent.first_name, "FirstName"),
        (sent.last_name, "LastName"),
        (sent.email_address, "EmailAddress"),
        (sent.status, "ContactStatus"),
    ):
        if ours is not None and ours.strip().lower() != normalise.text(payload.get(key)).lower():
            return False
    if sent.address is not None and sent.address != address_in(payload):
        return False
    return sent.phone is None or phone_text_in(payload, sent.phone[1])


def address_in(payload: dict[str, Any]) -> tuple[str, ...]:
    """Xero's billing address parts, as address_of gives the CRM's."""
    try:
        found = billing_address(payload.get("Addresses"))
    except normalise.Unstorable:
        found = {}
    return tuple(found.get(name, "") for name in ADDRESS_FIELDS)


def phone_text_in(payload: dict[str, Any], number: str) -> bool:
    phones = payload.get("Phones")
    texts = {
        _phone_text(p) for p in (phones if isinstance(phones, list) else []) if isinstance(p, dict)
    }
    return number.strip() in texts or (not number.strip() and not any(texts))
