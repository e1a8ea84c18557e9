"""Seed data for the Xero sandbox: organisations shaped exactly like Xero's JSON.

Everything here is plain dicts with the spec's PascalCase keys, MS-JSON dates
("/Date(ms+0000)/") and Decimal money, so the server can serialise it as is.
Absent fields are omitted, never null: the xero-python SDK crashes on null
enum fields and on enum values it does not know.

Deterministic: every id and choice comes from `random.Random(seed)`.
Standard library only; no Django, no product imports.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .currency_table import describe
from .seed_sales import build_sales

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

REGIONS = ("NZ", "AU", "UK", "CA")

# A fixed "now" keeps the data identical run to run; dates spread over the year before it.
SEED_NOW = datetime(2026, 11, 1, tzinfo=UTC)

_REGION: dict[str, dict[str, Any]] = {
    "NZ": {
        "currency": "NZD",
        "timezone": "NEWZEALANDSTANDARDTIME",
        "version": "NZ",
        "country_code": "64",
        "tax_basis": "PAYMENTS",
        "tax_period": "TWOMONTHS",
        "fye_month": 3,
        "tax_number": "071-138-054",
        "bank_number": "12-3140-0123456-00",
        "tax_account": "GST",
    },
    "AU": {
        "currency": "AUD",
        "timezone": "AUSEASTERNSTANDARDTIME",
        "version": "AU",
        "country_code": "61",
        "tax_basis": "ACCRUALS",
        "tax_period": "QUARTERLY",
        "fye_month": 6,
        "tax_number": "53 004 085 616",
        "bank_number": "062-000 12345678",
        "tax_account": "GST",
    },
    "UK": {
        "currency": "GBP",
        "timezone": "GMTSTANDARDTIME",
        "version": "UK",
        "country_code": "44",
        "tax_basis": "ACCRUAL",
        "tax_period": "QUARTERLY1",
        "fye_month": 3,
        "tax_number": "GB 123 4567 89",
        "bank_number": "20-00-00 12345678",
        "tax_account": "VAT",
    },
    "CA": {
        "currency": "CAD",
        "timezone": "EASTERNSTANDARDTIME",
        "version": "GLOBAL",
        "country_code": "1",
        "tax_basis": "ACCRUAL",
        "tax_period": "QUARTERLY",
        "fye_month": 12,
        "tax_number": "123456789RT0001",
        "bank_number": "00012-003-1234567",
        "tax_account": "Sales Tax",
    },
}


# --- small formatting helpers ---------------------------------------------------------------


def ms_date(moment: datetime) -> str:
    """Xero's MS-JSON datetime, e.g. "/Date(1573755038314+0000)/"."""
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from rng (same result as uuid.UUID(int=..., version=4), faster)."""
    n = rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version nibble and variant bits
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


@functools.cache
def _ascii(text: str) -> str:
    """Strip accents and macrons for email local parts (Xero: "umlauts not supported")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _recent(rng: random.Random, now: datetime) -> str:
    """A moment within the year before `now` (ms arithmetic: this runs once per contact)."""
    return f"/Date({int(now.timestamp() * 1000) - rng.randrange(_YEAR_MS)}+0000)/"


_YEAR_MS = 365 * 24 * 3600 * 1000


class _Rng(random.Random):
    """random.Random with cheaper choice/randrange: seeding 100,000 contacts spends most
    of its time here. Still fully determined by the seed."""

    def choice[T](self, seq: SupportsLenAndGetItem[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))


# --- demo collisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Collision:
    """A Xero contact planted to collide with one of the CRM's demo contacts."""

    demo_name: str  # the CRM demo contact it collides with
    xero_name: str  # the Xero contact's Name
    on: frozenset[str]  # what matches: {"email"}, {"phone"}, {"email", "phone"}
    note: str


DEMO_COLLISIONS: tuple[Collision, ...] = (
    Collision(
        "Aroha Ngata",
        "Aroha Ngata",
        frozenset({"email"}),
        "email in different case, different phone",
    ),
    Collision(
        "Ben Carter",
        "Benjamin Carter",
        frozenset({"phone"}),
        "phone split 64/21/555 0102, different email",
    ),
    Collision(
        "Daniel Smith", "Daniel Smith", frozenset({"email", "phone"}), "same email and phone"
    ),
    Collision("Chloe Wu", "Chloe Wu", frozenset({"phone"}), "phone as +64 9 555 0103, no email"),
    Collision(
        "Chloe Wu",
        "Wu Design Studio",
        frozenset({"email"}),
        "company-only contact using Chloe's email",
    ),
    Collision("Eva Müller", "Eva Müller", frozenset({"phone"}), "phone +49 30 5550105"),
)


def _phones(
    default: tuple[str, str, str] = ("", "", ""), mobile: tuple[str, str, str] = ("", "", "")
) -> list[dict[str, Any]]:
    """All four standard phone types, empty strings where unset, as Xero returns them."""

    def phone(kind: str, parts: tuple[str, str, str]) -> dict[str, Any]:
        country, area, number = parts
        return {
            "PhoneType": kind,
            "PhoneNumber": number,
            "PhoneAreaCode": area,
            "PhoneCountryCode": country,
        }

    return [
        phone("DDI", ("", "", "")),
        phone("DEFAULT", default),
        phone("FAX", ("", "", "")),
        phone("MOBILE", mobile),
    ]


def _collision_contacts(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """The planted contacts, in DEMO_COLLISIONS order (all ACTIVE customers)."""
    specs = [
        ("Aroha", "Ngata", "Aroha.Ngata@Example.co.nz", _phones(mobile=("64", "22", "987 6543"))),
        (
            "Benjamin",
            "Carter",
            "benjamin@carter-builds.example",
            _phones(mobile=("64", "21", "555 0102")),
        ),
        ("Daniel", "Smith", "dan.smith@example.org", _phones(mobile=("", "", "+64 27 555 0104"))),
        ("Chloe", "Wu", None, _phones(default=("", "", "+64 9 555 0103"))),
        (None, "Wu Design Studio", "chloe@wu-design.example", _phones()),
        (
            "Eva",
            "Müller",
            "eva@mueller-consulting.example",
            _phones(default=("", "", "+49 30 5550105")),
        ),
    ]
    contacts = []
    for first, last, email, phones in specs:
        contact = _contact_base(rng, now, name=last if first is None else f"{first} {last}")
        if first is not None:
            contact["FirstName"], contact["LastName"] = first, last
        if email:
            contact["EmailAddress"] = email
        contact["Phones"] = phones
        contact["IsCustomer"] = True
        contacts.append(contact)
    return contacts


# --- random contacts ---------------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


_FIRST = _names(
    "Aroha, Tāne, Mere, Hēmi, Ngaio, Wiremu, Rāwiri, Ngāire, Kiri, Mānia, Anahera, Tamati, "
    "Olivia, Jack, Amelia, Noah, Isla, Leo, Charlotte, Oliver, Harper, George, Mia, Lucas, Ruby, "
    "Zoë, José, Renée, Søren, François, Łukasz, Siân, Chloé, Inés, Björn, Ana, Malia, Sione, "
    "Losa, Priya, Arjun, Mei, Hiroshi, Yuna, Minh, Thanh, Fatima, Omar, Ivan, Katarzyna, "
    "Nikolai, Ellie, Finn, Grace, Sam, Max, Lily, Archie, Ava, Theo, Zara, Eli, Maia, Kai, Hunter"
)
_LAST = _names(
    "Ngata, Parata, Tūhoe, Te Whata, Walker, Patel, Smith, Brown, Wilson, Taylor, Thompson, "
    "Clarke, Williams, Harris, Martin, Anderson, King, Wright, Young, Mitchell, Robinson, "
    "Campbell, Stewart, Müller, Nguyễn, O'Brien, MacDonald, Kowalski, Jørgensen, García, Díaz, "
    "Tuilagi, Fa'asavalu, Singh, Sharma, Chen, Wang, Tanaka, Sato, Kim, Park, Lee, Ivanova, "
    "Rossi, Dubois, Lefèvre, Novák, Ó Súilleabháin, Fraser, Hughes, Bell, Murray, Reid, Kerr, "
    "Grant, Hall, Allen, Scott"
)
_PLACES = _names(
    "Kiwi, Harbour, Southern, Coastal, Alpine, Pacific, Kauri, Tōtara, Pōhutukawa, Whanganui, "
    "Taupō, Ōtautahi, Rotorua, Nelson, Otago, Waikato, Hawke's Bay, Te Awamutu, Mātaatua, Summit"
)
_TRADES = _names(
    "Plumbing, Electrical, Builders, Landscaping, Roofing, Joinery, Glass, Paving, Cleaning, "
    "Design, Consulting, Catering, Engineering, Logistics, Coffee, Print, Fencing, Drainage"
)
_SUFFIXES = ("Ltd", "Limited", "& Co", "Group", "Co.", "Services Ltd")
_CJK_COMPANIES = (
    "陈氏贸易有限公司",
    "山田デザイン株式会社",
    "김치 하우스",
    "東京精密工業",
    "龍華食品",
    "さくら会計事務所",
)
# Deliberately avoids the CRM demo domains, so only the planted contacts collide on email.
_DOMAINS = ("mail.example", "inbox.example.net", "example.net", "post.example.nz", "work.example")
_AREA_CODES = {
    "NZ": (("9", "4", "3", "7", "6"), ("21", "22", "27", "29")),
    "AU": (("2", "3", "7", "8"), ("412", "423", "438")),
    "UK": (("20", "161", "131", "113"), ("7700", "7711")),
    "CA": (("416", "604", "514"), ("647", "778")),
}
# Names the CRM demo uses: random people never take them, so collisions stay exactly as planned.
_DEMO_PEOPLE = {
    ("Aroha", "Ngata"),
    ("Ben", "Carter"),
    ("Chloe", "Wu"),
    ("Daniel", "Smith"),
    ("Eva", "Müller"),
    ("Fetu", "Tuilagi"),
}


def _random_phone(rng: random.Random, region: str, mobile: bool) -> tuple[str, str, str]:
    """One number, split over (country, area, number) in one of the ways people type it in Xero."""
    country = _REGION[region]["country_code"]
    area = rng.choice(_AREA_CODES[region][1 if mobile else 0])
    # 2xx–9xx prefixes never produce the demo contacts' "555 01xx" numbers.
    head, tail = rng.randrange(200, 1000), rng.randrange(0, 10000)
    local = f"{head} {tail:04d}"
    style = rng.randrange(7)
    if style == 0:
        return country, area, local.replace(" ", "")
    if style == 1:
        return "", "", f"0{area} {local}"
    if style == 2:
        return "", "", f"+{country} {area} {local}"
    if style == 3:
        return "", f"0{area}", local.replace(" ", "")
    if style == 4:
        return f"+{country}", area, local.replace(" ", "-")
    if style == 5:
        return "", "", f"0{area}{head}{tail:04d}"
    return country, "", f"{area}{head}{tail:04d}"


def _contact_base(rng: random.Random, now: datetime, *, name: str) -> dict[str, Any]:
    return {
        "ContactID": _uuid(rng),
        "ContactStatus": "ACTIVE",
        "Name": name,
        "BankAccountDetails": "",
        "Addresses": [
            {"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
            {"AddressType": "POBOX", "City": "", "Region": "", "PostalCode": "", "Country": ""},
        ],
        "Phones": _phones(),
        "UpdatedDateUTC": _recent(rng, now),
        "ContactGroups": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }


class _ActiveNames:
    """Xero refuses two ACTIVE contacts with one Name; people disambiguate with a suffix."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next_suffix: dict[str, int] = {}

    def claim(self, name: str) -> str:
        if name in self.taken:
            n = self.next_suffix.get(name, 2)
            while f"{name} ({n})" in self.taken:
                n += 1
            self.next_suffix[name] = n + 1
            name = f"{name} ({n})"
        self.taken.add(name)
        return name

    def release(self, name: str) -> None:
        self.taken.discard(name)


def _random_contact(
    rng: random.Random, region: str, now: datetime, names: _ActiveNames
) -> dict[str, Any]:
    is_person = rng.random() < 0.6
    if is_person:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        while (first, last) in _DEMO_PEOPLE:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = names.claim(f"{first} {last}")
        contact = _contact_base(rng, now, name=name)
        contact["FirstName"], contact["LastName"] = first, last
        local = rng.choice((f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}"))
    else:
        if rng.random() < 0.03:
            base = rng.choice(_CJK_COMPANIES)
        else:
            base = f"{rng.choice(_PLACES)} {rng.choice(_TRADES)} {rng.choice(_SUFFIXES)}"
        contact = _contact_base(rng, now, name=names.claim(base))
        local = rng.choice(("accounts", "info", "office", "admin")) + (_ascii(base)[:12] or "co")
        if rng.random() < 0.3:
            person_first, person_last = rng.choice(_FIRST), rng.choice(_LAST)
            contact["ContactPersons"] = [
                {
                    "FirstName": person_first,
                    "LastName": person_last,
                    "EmailAddress": f"{_ascii(person_first)}@{rng.choice(_DOMAINS)}",
                    "IncludeInEmails": rng.random() < 0.5,
                }
            ]

    reach = rng.random()  # 10%: neither email nor phone; otherwise some of each
    if reach >= 0.1:
        if rng.random() < 0.85:
            email = f"{local}{rng.randrange(100)}@{rng.choice(_DOMAINS)}"
            # Real address books hold mixed case; matching must be case-insensitive.
            contact["EmailAddress"] = email.title() if rng.random() < 0.2 else email
        if rng.random() < 0.8:
            default = _random_phone(rng, region, mobile=False) if rng.random() < 0.6 else ("",) * 3
            mobile = _random_phone(rng, region, mobile=True) if rng.random() < 0.5 else ("",) * 3
            contact["Phones"] = _phones(default, mobile)
    roll = rng.random()
    contact["IsCustomer"] = roll < 0.75
    contact["IsSupplier"] = roll >= 0.6
    if rng.random() < 0.25:
        contact["ContactNumber"] = f"C{rng.randrange(10**6):06d}"
    if rng.random() < 0.2:
        contact["Addresses"][0].update(
            AddressLine1=f"{rng.randrange(1, 400)} {rng.choice(_PLACES)} Road",
            City=rng.choice(_PLACES),
            PostalCode=f"{rng.randrange(1000, 9999)}",
        )
    return contact


@dataclass
class _Group:
    name: str
    status: str
    # (contact, random draw) -> member?; None for a DELETED group, which keeps no members.
    admits: Callable[[dict[str, Any], float], bool] | None
    group_id: str = ""


def _groups(rng: random.Random) -> list[_Group]:
    groups = [
        _Group(
            "VIP customers",
            "ACTIVE",
            lambda c, r: c["IsCustomer"] and r < 0.05,
        ),
        _Group("Trade accounts", "ACTIVE", lambda c, r: "FirstName" not in c and r < 0.2),
        _Group("Suppliers", "ACTIVE", lambda c, r: c["IsSupplier"] and r < 0.5),
        _Group("Christmas card list (old)", "DELETED", None),
    ]
    for group in groups:
        group.group_id = _uuid(rng)
    return groups


def iter_contacts(
    *, region: str = "NZ", n_contacts: int = 300, seed: int = 0, now: datetime = SEED_NOW
) -> Iterator[dict[str, Any]]:
    """Yield n_contacts random contacts, lazily (a 100,000-contact org need not be a list).

    Merged duplicates come right after their survivor and count towards n_contacts.
    """
    rng = _Rng(f"contacts:{region}:{seed}")
    names = _ActiveNames()
    made = 0
    while made < n_contacts:
        contact = _random_contact(rng, region, now, names)
        roll = rng.random()
        if roll < 0.04:
            contact["ContactStatus"] = "ARCHIVED"
            names.release(contact["Name"])  # archived names may be reused
        yield contact
        made += 1
        if 0.04 <= roll < 0.06 and made < n_contacts:
            # A duplicate someone merged into this contact: ARCHIVED, same Name, points at it.
            duplicate = _contact_base(rng, now, name=contact["Name"])
            for key in ("FirstName", "LastName", "EmailAddress"):
                if key in contact:
                    duplicate[key] = contact[key]
            duplicate["ContactStatus"] = "ARCHIVED"
            duplicate["MergedToContactID"] = contact["ContactID"]
            yield duplicate
            made += 1


# --- tax rates ---------------------------------------------------------------------------------

_FOUR_DP = Decimal("0.0001")


def effective_rate(components: list[dict[str, Any]]) -> Decimal:
    """Xero's effective rate: compound components apply on top of the simple ones.

    EffectiveRate = S + c × (1 + S/100), S the sum of non-compound rates, c a compound rate.
    Derived from help.xero.com "Tax-Add" (5% + 7% compound = 12.35); UNVERIFIED beyond that.
    """
    simple = sum((c["Rate"] for c in components if not c["IsCompound"]), Decimal(0))
    compound = sum((c["Rate"] for c in components if c["IsCompound"]), Decimal(0))
    return (simple + compound * (1 + simple / 100)).quantize(_FOUR_DP)


def _component(
    name: str, rate: str, compound: bool = False, non_recoverable: bool = False
) -> dict[str, Any]:
    return {
        "Name": name,
        "Rate": Decimal(rate).quantize(_FOUR_DP),
        "IsCompound": compound,
        "IsNonRecoverable": non_recoverable,
    }


# (Name, TaxType, ReportTaxType, Status, applies-to flags "AEXLR", components)
# Flags: Assets, Equity, eXpenses, Liabilities, Revenue; a letter present means True.
_TAX_RATES: dict[str, list[tuple[Any, ...]]] = {
    "NZ": [
        ("15% GST on Income", "OUTPUT2", "OUTPUT", "ACTIVE", "AELR", [("GST", "15")]),
        ("15% GST on Expenses", "INPUT2", "INPUT", "ACTIVE", "AEXL", [("GST", "15")]),
        ("GST on Imports", "GSTONIMPORTS", "GSTONIMPORTS", "ACTIVE", "L", [("GST", "0")]),
        ("Zero Rated", "ZERORATEDOUTPUT", "ZERORATEDOUTPUT", "ACTIVE", "AELR", [("GST", "0")]),
        ("Exempt Sales", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "ACTIVE", "AELR", [("GST", "0")]),
        ("No GST", "NONE", "NONE", "ACTIVE", "AEXLR", [("GST", "0")]),
        (
            "GST + Regional levy 2%",
            "TAX001",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("GST", "15"), ("Levy", "2")],
        ),
        (
            "GST + compound levy 2%",
            "TAX002",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("GST", "15"), ("Levy", "2", True)],
        ),
        (
            "12.5% GST on Income (old rate)",
            "TAX003",
            "OUTPUT",
            "DELETED",
            "AELR",
            [("GST", "12.5")],
        ),
    ],
    "AU": [
        ("GST on Income", "OUTPUT", "OUTPUT", "ACTIVE", "AELR", [("GST", "10")]),
        ("GST on Expenses", "INPUT", "INPUT", "ACTIVE", "AEXL", [("GST", "10")]),
        ("GST Free Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "ACTIVE", "AELR", [("GST", "0")]),
        ("GST Free Expenses", "EXEMPTEXPENSES", "EXEMPTEXPENSES", "ACTIVE", "AEXL", [("GST", "0")]),
        ("BAS Excluded", "BASEXCLUDED", "BASEXCLUDED", "ACTIVE", "AEXLR", [("GST", "0")]),
        (
            "GST + Luxury levy 3%",
            "TAX001",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("GST", "10"), ("Levy", "3")],
        ),
        (
            "GST + compound levy 3%",
            "TAX002",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("GST", "10"), ("Levy", "3", True)],
        ),
        ("Wine equalisation (old)", "TAX003", "OUTPUT", "DELETED", "AELR", [("WET", "29")]),
    ],
    "UK": [
        ("20% (VAT on Income)", "OUTPUT2", "OUTPUT", "ACTIVE", "AELR", [("VAT", "20")]),
        ("5% (VAT on Income)", "RROUTPUT", "OUTPUT", "ACTIVE", "AELR", [("VAT", "5")]),
        (
            "Zero Rated Income",
            "ZERORATEDOUTPUT",
            "ZERORATEDOUTPUT",
            "ACTIVE",
            "AELR",
            [("VAT", "0")],
        ),
        ("20% (VAT on Expenses)", "INPUT2", "INPUT", "ACTIVE", "AEXL", [("VAT", "20")]),
        ("Exempt Income", "EXEMPTOUTPUT", "EXEMPTOUTPUT", "ACTIVE", "AELR", [("VAT", "0")]),
        ("No VAT", "NONE", "NONE", "ACTIVE", "AEXLR", [("VAT", "0")]),
        (
            "VAT + Plastic levy 2%",
            "TAX001",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("VAT", "20"), ("Levy", "2")],
        ),
        (
            "VAT + compound levy 2%",
            "TAX002",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("VAT", "20"), ("Levy", "2", True)],
        ),
        ("17.5% (VAT on Income, old)", "TAX003", "OUTPUT", "DELETED", "AELR", [("VAT", "17.5")]),
    ],
    "CA": [
        ("GST 5%", "OUTPUT", "OUTPUT", "ACTIVE", "AELR", [("GST", "5")]),
        ("GST + PST (BC) 12%", "TAX001", "OUTPUT", "ACTIVE", "AELR", [("GST", "5"), ("PST", "7")]),
        (
            "GST + compound provincial 7%",
            "TAX002",
            "OUTPUT",
            "ACTIVE",
            "AELR",
            [("GST", "5"), ("QST", "7", True)],
        ),
        ("HST (ON) 13%", "TAX003", "OUTPUT", "ACTIVE", "AELR", [("HST", "13")]),
        ("GST on Purchases", "INPUT", "INPUT", "ACTIVE", "AEXL", [("GST", "5")]),
        (
            "GST + PST on Purchases",
            "TAX004",
            "INPUT",
            "ACTIVE",
            "AEXL",
            [("GST", "5"), ("PST", "7", False, True)],
        ),
        ("Tax Exempt", "NONE", "NONE", "ACTIVE", "AEXLR", [("Exempt", "0")]),
        ("HST (NS) 15% (old)", "TAX005", "OUTPUT", "DELETED", "AELR", [("HST", "15")]),
    ],
}


def build_tax_rates(region: str) -> list[dict[str, Any]]:
    rates = []
    for name, tax_type, report_type, status, flags, parts in _TAX_RATES[region]:
        components = [_component(*part) for part in parts]
        nominal = sum((c["Rate"] for c in components), Decimal(0)).quantize(_FOUR_DP)
        rates.append(
            {
                "Name": name,
                "TaxType": tax_type,
                "ReportTaxType": report_type,
                "CanApplyToAssets": "A" in flags,
                "CanApplyToEquity": "E" in flags,
                "CanApplyToExpenses": "X" in flags,
                "CanApplyToLiabilities": "L" in flags,
                "CanApplyToRevenue": "R" in flags,
                # DisplayTaxRate as the nominal sum is UNVERIFIED for compound rates.
                "DisplayTaxRate": nominal,
                "EffectiveRate": effective_rate(components),
                "Status": status,
                "TaxComponents": components,
            }
        )
    return rates


# --- chart of accounts -------------------------------------------------------------------------

# Class is read-only and assigned by Xero from Type.
ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}

# (Code, Name, Type, tax role, EnablePaymentsToAccount, Status, SystemAccount)
# tax role: "out" = the region's standard output rate, "in" = its input rate, "none" = no tax.
_ACCOUNTS = [
    ("090", "Business Bank Account", "BANK", "none", False, "ACTIVE", ""),
    ("091", "Business Savings Account", "BANK", "none", False, "ACTIVE", ""),
    ("200", "Sales", "REVENUE", "out", False, "ACTIVE", ""),
    ("205", "Sales - Trade", "SALES", "out", False, "ACTIVE", ""),
    ("260", "Other Revenue", "REVENUE", "out", False, "ACTIVE", ""),
    ("270", "Interest Income", "REVENUE", "none", False, "ACTIVE", ""),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "in", False, "ACTIVE", ""),
    ("400", "Advertising", "OVERHEADS", "in", False, "ACTIVE", ""),
    ("404", "Bank Fees", "OVERHEADS", "none", False, "ACTIVE", ""),
    ("429", "General Expenses", "OVERHEADS", "in", False, "ACTIVE", ""),
    ("449", "Motor Vehicle Expenses", "OVERHEADS", "in", False, "ACTIVE", ""),
    ("489", "Telephone & Internet", "EXPENSE", "in", False, "ACTIVE", ""),
    ("610", "Accounts Receivable", "CURRENT", "none", False, "ACTIVE", "DEBTORS"),
    ("615", "Stripe clearing", "CURRENT", "none", True, "ACTIVE", ""),
    ("616", "Undeposited funds", "CURRENT", "none", True, "ACTIVE", ""),
    ("617", "PayPal clearing", "CURRENT", "none", True, "ACTIVE", ""),
    ("618", "Square clearing (old)", "CURRENT", "none", True, "ARCHIVED", ""),
    ("620", "Prepayments", "PREPAYMENT", "none", False, "ACTIVE", ""),
    ("625", "Employee advances", "CURRENT", "none", False, "ACTIVE", ""),
    ("630", "Inventory", "INVENTORY", "none", False, "ACTIVE", ""),
    ("710", "Office Equipment", "FIXED", "in", False, "ACTIVE", ""),
    (
        "711",
        "Less Accumulated Depreciation on Office Equipment",
        "FIXED",
        "none",
        False,
        "ACTIVE",
        "",
    ),
    ("800", "Accounts Payable", "CURRLIAB", "none", False, "ACTIVE", "CREDITORS"),
    ("820", "{tax_account}", "CURRLIAB", "none", False, "ACTIVE", "GST"),
    ("840", "Historical Adjustment", "CURRLIAB", "none", False, "ACTIVE", "HISTORICAL"),
    ("860", "Rounding", "CURRLIAB", "none", False, "ACTIVE", "ROUNDING"),
    ("877", "Tracking Transfers", "CURRLIAB", "none", False, "ACTIVE", "TRACKINGTRANSFERS"),
    ("900", "Loan", "TERMLIAB", "none", False, "ACTIVE", ""),
    ("960", "Retained Earnings", "EQUITY", "none", False, "ACTIVE", "RETAINEDEARNINGS"),
    ("970", "Owner A Funds Introduced", "EQUITY", "none", False, "ACTIVE", ""),
]


def _standard_tax_types(region: str) -> dict[str, str]:
    rates = _TAX_RATES[region]
    output = next(r[1] for r in rates if r[4].endswith("R") and r[2] == "OUTPUT")
    input_ = next(r[1] for r in rates if "R" not in r[4] and r[2] == "INPUT")
    return {"out": output, "in": input_, "none": "NONE"}


def build_accounts(
    region: str, *, rng: random.Random, now: datetime = SEED_NOW
) -> list[dict[str, Any]]:
    info = _REGION[region]
    tax_types = _standard_tax_types(region)
    accounts = []
    for code, name, type_, tax, payments, status, system in _ACCOUNTS:
        account = {
            "AccountID": _uuid(rng),
            "Code": code,
            "Name": name.format(tax_account=info["tax_account"]),
            "Status": status,
            "Type": type_,
            "TaxType": tax_types[tax],
            "Class": ACCOUNT_CLASS[type_],
            "EnablePaymentsToAccount": payments,
            "ShowInExpenseClaims": type_ in ("OVERHEADS", "EXPENSE"),
            # Xero returns "" for non-bank accounts; "" is in the spec's enum.
            "BankAccountType": "BANK" if type_ == "BANK" else "",
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": _recent(rng, now),
            "AddToWatchlist": type_ == "BANK",
        }
        if type_ == "BANK":
            suffix = "1" if code == "091" else "0"
            account["BankAccountNumber"] = info["bank_number"][:-1] + suffix
            account["CurrencyCode"] = info["currency"]
        if system:
            account["SystemAccount"] = system
        accounts.append(account)
    return accounts


# --- invoice settings: items, tracking, branding themes, currencies ----------------------------

# (Code, Name, Description, sale price, sales account, purchase price or None, IsSold)
_ITEMS = [
    ("LAB-HR", "Labour (hour)", "Labour, per hour", "95.00", "200", None, True),
    ("CALLOUT", "Call-out fee", "Call-out fee, within 20 km", "65.00", "200", None, True),
    ("VALVE-15", "15 mm ball valve", "15 mm brass ball valve", "18.50", "205", "9.20", True),
    ("KIT-OLD", "Starter kit (old)", "Starter kit, discontinued", "40.00", "200", "22.00", False),
]

# (Name, Status, [(option Name, option Status)]): Xero allows two ACTIVE categories and four
# in all (developer docs, Tracking Categories), so the demo org uses both active slots.
_TRACKING = [
    ("Region", "ACTIVE", [("North", "ACTIVE"), ("South", "ACTIVE"), ("West Coast", "ARCHIVED")]),
    ("Department", "ACTIVE", [("Residential", "ACTIVE"), ("Commercial", "ACTIVE")]),
    ("Project (old)", "ARCHIVED", [("Harbour build", "ACTIVE")]),
]

_THEMES = [("Standard", 0), ("Special projects", 1)]


def build_items(
    region: str, *, rng: random.Random, now: datetime = SEED_NOW
) -> list[dict[str, Any]]:
    tax_types = _standard_tax_types(region)
    items = []
    for code, name, description, price, account, cost, sold in _ITEMS:
        item = {
            "ItemID": _uuid(rng),
            "Code": code,
            "Name": name,
            "IsSold": sold,
            "IsPurchased": cost is not None,
            "IsTrackedAsInventory": False,
            "UpdatedDateUTC": _recent(rng, now),
            "PurchaseDetails": {},
            "SalesDetails": {},
        }
        if sold:
            item["Description"] = description
            item["SalesDetails"] = {
                "UnitPrice": Decimal(price).quantize(_FOUR_DP),
                "AccountCode": account,
                "TaxType": tax_types["out"],
            }
        if cost is not None:
            item["PurchaseDescription"] = description
            item["PurchaseDetails"] = {
                "UnitPrice": Decimal(cost).quantize(_FOUR_DP),
                "AccountCode": "310",
                "TaxType": tax_types["in"],
            }
        items.append(item)
    return items


def build_tracking_categories(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "TrackingCategoryID": _uuid(rng),
            "Name": name,
            "Status": status,
            "Options": [
                {"TrackingOptionID": _uuid(rng), "Name": option, "Status": option_status}
                for option, option_status in options
            ],
        }
        for name, status, options in _TRACKING
    ]


def build_branding_themes(rng: random.Random, now: datetime = SEED_NOW) -> list[dict[str, Any]]:
    return [
        {
            "BrandingThemeID": _uuid(rng),
            "Name": name,
            "Type": "INVOICE",
            "SortOrder": order,
            "CreatedDateUTC": ms_date(now - timedelta(days=3 * 365)),
        }
        for name, order in _THEMES
    ]


# --- organisations -----------------------------------------------------------------------------


def build_organisation(
    *, name: str, region: str, short_code: str, rng: random.Random, now: datetime = SEED_NOW
) -> dict[str, Any]:
    info = _REGION[region]
    return {
        "OrganisationID": _uuid(rng),
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": info["version"],
        "OrganisationType": "COMPANY",
        "BaseCurrency": info["currency"],
        "CountryCode": "GB" if region == "UK" else region,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "TaxNumber": info["tax_number"],
        "FinancialYearEndDay": 30 if info["fye_month"] in (6, 9) else 31,
        "FinancialYearEndMonth": info["fye_month"],
        "SalesTaxBasis": info["tax_basis"],
        "SalesTaxPeriod": info["tax_period"],
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_date(now - timedelta(days=3 * 365)),
        "OrganisationEntityType": "COMPANY",
        "Timezone": info["timezone"],
        "ShortCode": short_code,
        "Edition": "BUSINESS",
        "Class": "PREMIUM",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


def _short_code(rng: random.Random) -> str:
    # Xero short codes look like "!mBdtL": a bang and five letters.
    return "!" + "".join(
        rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5)
    )


def build_org(
    *,
    name: str,
    region: str = "NZ",
    n_contacts: int = 300,
    seed: int = 0,
    short_code: str | None = None,
    demo_collisions: bool = False,
    currencies: tuple[str, ...] = (),
    now: datetime = SEED_NOW,
    n_invoices: int = 0,
    n_credit_notes: int = 0,
) -> dict[str, Any]:
    """One organisation's data: Organisation, Contacts, ContactGroups, TaxRates, Accounts,
    Currencies (the base currency and `currencies`), Items, TrackingCategories, BrandingThemes,
    and with n_invoices / n_credit_notes its history (Invoices, CreditNotes, Payments:
    seed_sales).

    With demo_collisions the contacts start with the planted DEMO_COLLISIONS (NZ demo org).
    n_contacts counts random contacts; planted ones come on top.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, not {region!r}")
    rng = random.Random(f"org:{name}:{region}:{seed}")
    organisation = build_organisation(
        name=name, region=region, short_code=short_code or _short_code(rng), rng=rng, now=now
    )
    groups = _groups(rng)
    members: dict[str, list[dict[str, Any]]] = {g.group_id: [] for g in groups}
    group_rng = random.Random(f"groups:{name}:{seed}")

    # Random people never take a demo person's name, so planted names stay unique.
    contacts = _collision_contacts(rng, now) if demo_collisions else []
    contacts.extend(iter_contacts(region=region, n_contacts=n_contacts, seed=seed, now=now))
    for contact in contacts:
        if contact["ContactStatus"] != "ACTIVE":
            continue
        for group in groups:
            if group.admits and group.admits(contact, group_rng.random()):
                members[group.group_id].append(
                    {"ContactID": contact["ContactID"], "Name": contact["Name"]}
                )
                contact["ContactGroups"].append(
                    {"ContactGroupID": group.group_id, "Name": group.name, "Status": "ACTIVE"}
                )

    org = {
        "Organisation": organisation,
        "Contacts": contacts,
        "ContactGroups": [
            {
                "ContactGroupID": g.group_id,
                "Name": g.name,
                "Status": g.status,
                "Contacts": members[g.group_id],
            }
            for g in groups
        ],
        "TaxRates": build_tax_rates(region),
        "Accounts": build_accounts(region, rng=rng, now=now),
        **_invoice_settings(name, region, seed, organisation["BaseCurrency"], currencies, now),
    }
    if n_invoices or n_credit_notes:
        org["Invoices"], org["CreditNotes"], org["Payments"] = build_sales(
            org,
            _standard_tax_types(region),
            n_invoices=n_invoices,
            n_credit_notes=n_credit_notes,
            seed=seed,
            now=now,
        )
    return org


def _invoice_settings(
    name: str, region: str, seed: int, base: str, currencies: tuple[str, ...], now: datetime
) -> dict[str, Any]:
    # Its own generator, so the data seeded before these settings existed stays as it was.
    rng = random.Random(f"settings:{name}:{region}:{seed}")
    codes = [base] + [c for c in currencies if c != base]
    return {
        "Currencies": [describe(c) for c in codes],
        "Items": build_items(region, rng=rng, now=now),
        "TrackingCategories": build_tracking_categories(rng),
        "BrandingThemes": build_branding_themes(rng, now),
    }


def default_orgs(n_contacts: int = 300) -> list[dict[str, Any]]:
    """The two demo organisations; the first is the main demo and holds DEMO_COLLISIONS."""
    return [
        build_org(
            name="Kiwi Plumbing Ltd",
            region="NZ",
            n_contacts=n_contacts,
            seed=1,
            short_code="!kiwiP",
            demo_collisions=True,
            currencies=("AUD", "USD"),
        ),
        build_org(
            name="Harbour Electrical Ltd",
            region="NZ",
            n_contacts=n_contacts,
            seed=2,
            short_code="!hrbrE",
        ),
    ]
