"""Seed history for an organisation: invoices with line items, the payments on them, and credit
notes allocated to them or refunded, as years of use in Xero would leave them.

Shaped exactly as the sandbox stores what the API writes (accounting/invoices.py,
credit_notes.py, payments.py), with the same Decimal arithmetic (money.py), and consistent:
every AmountDue, AmountCredited, RemainingCredit and Status follows from the payments and
allocations seeded. Deterministic for a given seed. Mostly sales (ACCREC, ACCRECCREDIT), with
some bills and supplier credit notes (ACCPAY, ACCPAYCREDIT) a sales import must leave alone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .money import line_amount, line_tax, round2, totals

ZERO = Decimal("0.00")
DAY_MS = 86_400_000
_WORDS = (
    "Call-out fee",
    "Labour (hours)",
    "Materials",
    "Consulting",
    "Site visit",
    "Hot water cylinder",
    "Pipe fittings",
    "Emergency repair",
    "Annual service",
    "Design work",
    "Travel",
    "Rubbish removal",
    "Te reo signage – Ōtautahi",
    "Kōrero with the client",
    "設計料",
    "Déplacement & frais",
)


def _uuid(rng: random.Random) -> str:
    n = rng.getrandbits(128) & ~((0xF000 << 64) | (0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ms(day: date) -> str:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({int(midnight.timestamp() * 1000)}+0000)/"


def _ms_at(day: date, rng: random.Random, now: datetime) -> str:
    """A moment during `day` (never after `now`), for UpdatedDateUTC."""
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    moment = min(midnight + rng.randrange(DAY_MS), int(now.timestamp() * 1000))
    return f"/Date({moment}+0000)/"


class _Books:
    """What the seeded documents need from the org: accounts, tax rates, customers, suppliers."""

    def __init__(self, org: dict[str, Any], standard_tax: dict[str, str]) -> None:
        self.currency = org["Organisation"]["BaseCurrency"]
        self.accounts = {a["Code"]: a for a in org["Accounts"]}
        self.rates = {r["TaxType"]: r["EffectiveRate"] for r in org["TaxRates"]}
        self.tax = standard_tax
        active = [c for c in org["Contacts"] if c["ContactStatus"] == "ACTIVE"]
        self.customers = [c for c in active if c["IsCustomer"]] or active
        self.suppliers = [c for c in active if c["IsSupplier"]] or active
        self.bank = self.accounts["090"]
        # The org's default branding theme, which the API puts on every document it writes.
        themes = sorted(org.get("BrandingThemes") or [], key=lambda t: t.get("SortOrder", 0))
        self.theme = themes[0].get("BrandingThemeID") if themes else None


def _line(rng: random.Random, books: _Books, sales: bool, amount_types: str) -> dict[str, Any]:
    quantity = Decimal(rng.choice(("1", "1", "1", "2", "3", "1.5", "2.25", "10")))
    unit = Decimal(rng.randrange(1000, 250000)) / 100
    code = rng.choice(("200", "200", "205", "260")) if sales else rng.choice(("429", "400"))
    account = books.accounts[code]
    tax_type = books.tax["out" if sales else "in"] if rng.random() < 0.9 else "NONE"
    if amount_types == "NoTax":
        tax_type = "NONE"
    discount = Decimal(rng.choice((5, 10, 15))) if sales and rng.random() < 0.1 else None
    amount = line_amount(quantity, unit, discount, None)
    line = {
        "Description": rng.choice(_WORDS),
        "Quantity": quantity,
        "UnitAmount": unit,
        "AccountCode": code,
        "AccountID": account["AccountID"],
        "TaxType": tax_type,
        "LineAmount": amount,
        "TaxAmount": line_tax(amount, books.rates.get(tax_type, ZERO), amount_types),
        "LineItemID": _uuid(rng),
        "Tracking": [],  # the API answers Tracking on every line
    }
    if discount is not None:
        line["DiscountRate"] = round2(discount)
    return line


def _document(
    books: _Books, contact: dict[str, Any], day: date, lines: list[Any], amount_types: str
) -> dict[str, Any]:
    sub_total, total_tax, total = totals(lines, amount_types)
    document = {
        "Contact": {"ContactID": contact["ContactID"]},
        "Date": _ms(day),
        "LineAmountTypes": amount_types,
        "LineItems": lines,
        "SubTotal": sub_total,
        "TotalTax": total_tax,
        "Total": total,
        "CurrencyCode": books.currency,
        "CurrencyRate": Decimal("1.000000"),
        "HasAttachments": False,
        "Payments": [],
    }
    if books.theme:
        document["BrandingThemeID"] = books.theme
    return document


def _status(rng: random.Random) -> str:
    roll = rng.random()
    for status, share in (
        ("DRAFT", 0.04),
        ("SUBMITTED", 0.02),
        ("VOIDED", 0.06),
        ("DELETED", 0.03),
        ("AUTHORISED", 0.25),
    ):
        if roll < share:
            return status
        roll -= share
    return "PAID"  # settled below by payments and credit notes


class _Ledger:
    """Builds the documents and keeps them consistent as money moves between them."""

    def __init__(self, books: _Books, rng: random.Random, now: datetime) -> None:
        self.books, self.rng, self.now = books, rng, now
        self.invoices: list[dict[str, Any]] = []
        self.credit_notes: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.settled: dict[str, date] = {}  # document id -> the last day money moved on it

    def invoice(self, number: int, day: date, sales: bool) -> dict[str, Any]:
        rng, books = self.rng, self.books
        contact = rng.choice(books.customers if sales else books.suppliers)
        amount_types = rng.choices(("Exclusive", "Inclusive", "NoTax"), (70, 25, 5))[0]
        lines = [_line(rng, books, sales, amount_types) for _ in range(rng.randrange(1, 5))]
        invoice = _document(books, contact, day, lines, amount_types)
        status = _status(rng)
        invoice.update(
            Type="ACCREC" if sales else "ACCPAY",
            InvoiceID=_uuid(rng),
            DueDate=_ms(day + timedelta(days=rng.choice((7, 14, 20, 30)))),
            Status=status,
            AmountPaid=ZERO,
            AmountCredited=ZERO,
            AmountDue=ZERO if status in ("VOIDED", "DELETED") else invoice["Total"],
            CreditNotes=[],
        )
        if sales:
            invoice["InvoiceNumber"] = f"INV-{number:04d}"
            contact["IsCustomer"] = True
        elif rng.random() < 0.7:
            invoice["InvoiceNumber"] = f"BILL-{rng.randrange(10**5):05d}"
        if rng.random() < 0.3:
            invoice["Reference"] = f"PO {rng.randrange(1000, 9999)}"
        self.invoices.append(invoice)
        return invoice

    def credit_note(
        self, number: int | None, invoice: dict[str, Any] | None, day: date
    ) -> dict[str, Any]:
        """A credit note for part of `invoice` (same contact, tax and line types), or a
        supplier credit note of its own when invoice is None."""
        rng, books = self.rng, self.books
        if invoice is None:
            contact = {"ContactID": rng.choice(books.suppliers)["ContactID"]}
            amount_types = "Exclusive"
            lines = [_line(rng, books, False, amount_types)]
            kind = "ACCPAYCREDIT"
        else:
            contact, amount_types = invoice["Contact"], invoice["LineAmountTypes"]
            source = rng.choice(invoice["LineItems"])
            part = Decimal(rng.randrange(10, 60)) / 100
            unit = round2(source["LineAmount"] * part) or Decimal("1.00")
            amount = line_amount(Decimal(1), unit, None, None)
            tax = line_tax(amount, books.rates.get(source["TaxType"], ZERO), amount_types)
            lines = [
                dict(
                    source,
                    Description=f"Credit: {source['Description']}",
                    Quantity=Decimal(1),
                    UnitAmount=unit,
                    LineAmount=amount,
                    TaxAmount=tax,
                    LineItemID=_uuid(rng),
                )
            ]
            lines[0].pop("DiscountRate", None)
            kind = "ACCRECCREDIT"
        credit_note = _document(books, contact, day, lines, amount_types)
        credit_note.update(
            Type=kind,
            CreditNoteID=_uuid(rng),
            CreditNoteNumber=f"CN-{number:04d}" if number else "",
            Status="AUTHORISED",
            RemainingCredit=credit_note["Total"],
            Allocations=[],
        )
        self.credit_notes.append(credit_note)
        return credit_note

    def allocate(
        self, credit_note: dict[str, Any], invoice: dict[str, Any], amount: Decimal, day: date
    ) -> None:
        allocation = {
            "AllocationID": _uuid(self.rng),
            "Amount": amount,
            "Date": _ms(day),
            "Invoice": {
                "InvoiceID": invoice["InvoiceID"],
                "InvoiceNumber": invoice["InvoiceNumber"],
            },
        }
        credit_note["Allocations"].append(allocation)
        credit_note["RemainingCredit"] = round2(credit_note["RemainingCredit"] - amount)
        invoice["AmountCredited"] = round2(invoice["AmountCredited"] + amount)
        invoice["AmountDue"] = round2(invoice["AmountDue"] - amount)
        invoice["CreditNotes"].append(
            {
                "CreditNoteID": credit_note["CreditNoteID"],
                "CreditNoteNumber": credit_note["CreditNoteNumber"],
                "ID": credit_note["CreditNoteID"],
                "AppliedAmount": amount,
                "Date": _ms(day),
                "DateString": f"{day.isoformat()}T00:00:00",
                "Total": credit_note["Total"],
                "LineItems": [],
            }
        )
        self._moved(credit_note, "CreditNoteID", "RemainingCredit", day)
        self._moved(invoice, "InvoiceID", "AmountDue", day)

    def pay(self, document: dict[str, Any], amount: Decimal, day: date) -> None:
        """A payment on an invoice, or a refund of a credit note."""
        credit = "CreditNoteID" in document
        key, left = ("CreditNoteID", "RemainingCredit") if credit else ("InvoiceID", "AmountDue")
        kind = {
            "ACCREC": "ACCRECPAYMENT",
            "ACCPAY": "ACCPAYPAYMENT",
            "ACCRECCREDIT": "ARCREDITPAYMENT",
            "ACCPAYCREDIT": "APCREDITPAYMENT",
        }[document["Type"]]
        bank = self.books.bank
        payment = {
            "PaymentID": _uuid(self.rng),
            "Date": _ms(day),
            "Amount": amount,
            "BankAmount": amount,
            "CurrencyRate": Decimal("1.000000"),
            "PaymentType": kind,
            "Status": "AUTHORISED",
            "IsReconciled": self.rng.random() < 0.8,
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": bank["AccountID"], "Code": bank["Code"], "Name": bank["Name"]},
            key: document[key],
            "UpdatedDateUTC": _ms_at(day, self.rng, self.now),
        }
        self.payments.append(payment)
        document["Payments"].append(
            {
                "PaymentID": payment["PaymentID"],
                "Date": payment["Date"],
                "Amount": amount,
                "CurrencyRate": payment["CurrencyRate"],
                "HasAccount": False,
                "HasValidationErrors": False,
            }
        )
        if not credit:
            document["AmountPaid"] = round2(document["AmountPaid"] + amount)
        document[left] = round2(document[left] - amount)
        self._moved(document, key, left, day)

    def _moved(self, document: dict[str, Any], key: str, left: str, day: date) -> None:
        self.settled[document[key]] = max(day, self.settled.get(document[key], day))
        if document[left] == 0:
            document["Status"] = "PAID"
            document["FullyPaidOnDate"] = _ms(day)

    def stamp(self, document: dict[str, Any], key: str, day: date) -> None:
        last = min(self.settled.get(document[key], day) + timedelta(days=1), self.now.date())
        document["UpdatedDateUTC"] = _ms_at(max(last, day), self.rng, self.now)


def build_sales(
    org: dict[str, Any],
    standard_tax: dict[str, str],
    *,
    n_invoices: int,
    n_credit_notes: int,
    seed: int,
    now: datetime,
    years: int = 2,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(Invoices, CreditNotes, Payments) for `org` (a seed.build_org dict with its contacts,
    accounts and tax rates), dated over the `years` before `now`."""
    if (n_invoices or n_credit_notes) and not org["Contacts"]:
        raise ValueError("invoices need contacts: seed n_contacts > 0")
    rng = random.Random(f"sales:{org['Organisation']['Name']}:{seed}")
    books = _Books(org, standard_tax)
    ledger = _Ledger(books, rng, now)
    span = years * 365
    days = sorted(now.date() - timedelta(days=rng.randrange(1, span)) for _ in range(n_invoices))
    sales_number = 0
    for day in days:
        sales = rng.random() < 0.9
        if sales:
            sales_number += 1
        ledger.invoice(sales_number, day, sales)
    open_sales = [
        i
        for i in ledger.invoices
        if i["Type"] == "ACCREC" and i["Status"] in ("AUTHORISED", "PAID")
    ]
    credit_number = 0
    for _ in range(n_credit_notes):
        roll = rng.random()
        if roll < 0.05 or not open_sales:
            ledger.credit_note(None, None, now.date() - timedelta(days=rng.randrange(1, span)))
            continue
        invoice = rng.choice(open_sales)
        day = min(parse_ms(invoice["Date"]) + timedelta(days=rng.randrange(0, 30)), now.date())
        credit_number += 1
        credit_note = ledger.credit_note(credit_number, invoice, day)
        if roll < 0.55:  # allocated to the invoice it credits, in full when the due allows
            amount = min(credit_note["Total"], invoice["AmountDue"])
            if amount > 0:
                ledger.allocate(credit_note, invoice, amount, day)
        elif roll < 0.7:  # part allocated, the rest refunded
            amount = min(round2(credit_note["Total"] / 2), invoice["AmountDue"])
            if amount > 0:
                ledger.allocate(credit_note, invoice, amount, day)
            ledger.pay(credit_note, credit_note["RemainingCredit"], day)
        elif roll < 0.8:  # refunded
            ledger.pay(credit_note, credit_note["RemainingCredit"], day)
        elif roll < 0.88:
            credit_note.update(Status="VOIDED", RemainingCredit=ZERO)
        elif roll < 0.92:
            credit_note["Status"] = "DRAFT"
        # else: AUTHORISED, its credit unused
    for invoice in ledger.invoices:
        if invoice["AmountDue"] == 0 or invoice["Status"] not in ("AUTHORISED", "PAID"):
            continue
        day = parse_ms(invoice["Date"])
        if invoice["Status"] == "PAID":  # settled by one or two payments
            if rng.random() < 0.2 and invoice["AmountDue"] > 1:
                first = round2(invoice["AmountDue"] / 2)
                ledger.pay(invoice, first, min(day + timedelta(days=7), now.date()))
            pay_day = min(day + timedelta(days=rng.randrange(0, 45)), now.date())
            pay_day = max(pay_day, ledger.settled.get(invoice["InvoiceID"], day))
            ledger.pay(invoice, invoice["AmountDue"], pay_day)
        elif rng.random() < 0.3:  # awaiting payment, part paid
            ledger.pay(invoice, round2(invoice["AmountDue"] / 3) or invoice["AmountDue"], day)
    for invoice in ledger.invoices:
        if invoice["Status"] == "PAID" and invoice["AmountDue"] != 0:
            invoice["Status"] = "AUTHORISED"  # a credit note covered only part of it
        ledger.stamp(invoice, "InvoiceID", parse_ms(invoice["Date"]))
    for credit_note in ledger.credit_notes:
        ledger.stamp(credit_note, "CreditNoteID", parse_ms(credit_note["Date"]))
    return ledger.invoices, ledger.credit_notes, ledger.payments


def parse_ms(value: str) -> date:
    return datetime.fromtimestamp(int(value[6:-7]) / 1000, UTC).date()
