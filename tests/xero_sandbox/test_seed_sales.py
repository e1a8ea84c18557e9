"""Seeded history (seed_sales): invoices with line items, payments and credit notes, consistent
to the cent, shaped as the spec says, and served page by page as a past-invoice import reads
them."""

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest

from tests.xero_sandbox.conftest import api, invoice_body
from xero_sandbox import contract, seed
from xero_sandbox.accounting import rules
from xero_sandbox.accounting.credit_notes import credit_note_view
from xero_sandbox.accounting.invoices import invoice_view
from xero_sandbox.accounting.payments import payment_view
from xero_sandbox.config import Behaviour
from xero_sandbox.currency_table import decimals
from xero_sandbox.money import has_more_places, totals
from xero_sandbox.msdates import parse_date
from xero_sandbox.state_file import _tenant_dump, _tenant_load
from xero_sandbox.store import build_tenant

ZERO = Decimal("0.00")


def _date(value: str) -> dt.date:
    """A date the seed wrote (every one parses)."""
    day = parse_date(value)
    assert day is not None, value
    return day


@pytest.fixture(scope="module")
def org():
    return seed.build_org(name="History Ltd", n_contacts=200, n_invoices=800, n_credit_notes=160)


@pytest.fixture(scope="module")
def tenant(org):
    return build_tenant(org, "/Date(1790000000000+0000)/")


def test_history_is_deterministic_and_leaves_the_contacts_as_they_were(org):
    again = seed.build_org(name="History Ltd", n_contacts=200, n_invoices=800, n_credit_notes=160)
    assert again == org
    other = seed.build_org(name="History Ltd", n_contacts=200, n_invoices=800, seed=1)
    assert other["Invoices"][0]["InvoiceID"] != org["Invoices"][0]["InvoiceID"]
    plain = seed.build_org(name="History Ltd", n_contacts=200)
    assert [c["ContactID"] for c in plain["Contacts"]] == [c["ContactID"] for c in org["Contacts"]]
    assert "Invoices" not in plain


def test_history_covers_what_an_import_must_tell_apart(org):
    invoices, notes = org["Invoices"], org["CreditNotes"]
    assert len(invoices) == 800 and len(notes) == 160
    assert {"ACCREC", "ACCPAY"} == {i["Type"] for i in invoices}
    assert {"ACCRECCREDIT", "ACCPAYCREDIT"} == {c["Type"] for c in notes}
    statuses = Counter(i["Status"] for i in invoices)
    assert set(statuses) == {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}
    assert set(Counter(c["Status"] for c in notes)) == {"DRAFT", "AUTHORISED", "PAID", "VOIDED"}
    assert {i["LineAmountTypes"] for i in invoices} == {"Exclusive", "Inclusive", "NoTax"}
    assert any(len(i["LineItems"]) > 1 for i in invoices)
    assert any("DiscountRate" in line for i in invoices for line in i["LineItems"])
    assert any(i["AmountPaid"] and i["Status"] == "AUTHORISED" for i in invoices)  # part paid
    assert any(i["AmountCredited"] and i["Status"] == "PAID" for i in invoices)
    assert any(c["Allocations"] and c["Payments"] for c in notes)  # part allocated, refunded
    days = sorted(_date(i["Date"]) for i in invoices)
    assert days[0] < dt.date(2025, 3, 1) and days[-1] > dt.date(2026, 9, 1)  # two years
    numbers = [i["InvoiceNumber"] for i in invoices if i["Type"] == "ACCREC"]
    assert len(numbers) == len(set(numbers)) and numbers[0] == "INV-0001"
    credit_numbers = [c["CreditNoteNumber"] for c in notes if c["Type"] == "ACCRECCREDIT"]
    assert len(credit_numbers) == len(set(credit_numbers))


def test_every_amount_follows_from_the_lines_payments_and_allocations(tenant):
    for invoice in tenant.invoices.values():
        assert totals(invoice["LineItems"], invoice["LineAmountTypes"]) == (
            invoice["SubTotal"],
            invoice["TotalTax"],
            invoice["Total"],
        )
        paid = sum((p["Amount"] for p in invoice["Payments"]), ZERO)
        credited = sum((c["AppliedAmount"] for c in invoice["CreditNotes"]), ZERO)
        assert (invoice["AmountPaid"], invoice["AmountCredited"]) == (paid, credited)
        if invoice["Status"] in ("VOIDED", "DELETED"):
            assert invoice["AmountDue"] == 0 and paid == credited == 0
        else:
            assert invoice["AmountDue"] == invoice["Total"] - paid - credited
            assert (invoice["Status"] == "PAID") == (invoice["AmountDue"] == 0)
    for note in tenant.credit_notes.values():
        allocated = sum((a["Amount"] for a in note["Allocations"]), ZERO)
        refunded = sum((p["Amount"] for p in note["Payments"]), ZERO)
        if note["Status"] == "VOIDED":
            assert note["RemainingCredit"] == 0 and allocated == refunded == 0
            continue
        assert note["RemainingCredit"] == note["Total"] - allocated - refunded
        assert (note["Status"] == "PAID") == (note["RemainingCredit"] == 0)
        for allocation in note["Allocations"]:
            invoice = tenant.invoices[allocation["Invoice"]["InvoiceID"]]
            assert invoice["Contact"] == note["Contact"] and invoice["Type"] == "ACCREC"
            assert any(c["CreditNoteID"] == note["CreditNoteID"] for c in invoice["CreditNotes"])
    for payment in tenant.payments.values():
        document = tenant.invoices.get(payment.get("InvoiceID")) or tenant.credit_notes.get(
            payment.get("CreditNoteID")
        )
        assert payment["PaymentID"] in {p["PaymentID"] for p in document["Payments"]}


def test_seeded_history_obeys_the_rules_the_api_applies(tenant):
    """What the API would have refused never sits in the history: tax types against account
    classes, discounts, quantities, dates, currencies, money places, themes; lines as the API
    answers them (with Tracking)."""
    documents = [*tenant.invoices.values(), *tenant.credit_notes.values()]
    for document in documents:
        currency = document["CurrencyCode"]
        assert rules.currency_messages(tenant, currency) == []
        assert document["BrandingThemeID"] in tenant.branding_themes
        if document.get("DueDate"):
            assert _date(document["DueDate"]) >= _date(document["Date"])
        for line in document["LineItems"]:
            account = tenant.account_by_code(line["AccountCode"])
            rate = tenant.tax_rates.get(line["TaxType"])
            assert rules.tax_account_messages(rate, account, line["TaxType"]) == []
            assert (
                rules.line_number_messages(
                    line["Quantity"], line.get("DiscountRate"), None, currency, Behaviour()
                )
                == []
            )
            assert line["Tracking"] == []
            assert not has_more_places(line["LineAmount"] + line["TaxAmount"], decimals(currency))
    money = [p["Amount"] for p in tenant.payments.values()] + [
        a["Amount"] for c in tenant.credit_notes.values() for a in c["Allocations"]
    ]
    assert all(not has_more_places(amount, 2) for amount in money)


def test_every_seeded_document_validates_against_the_spec(tenant):
    contract.validate_schema(
        "Invoices", {"Invoices": [invoice_view(tenant, i) for i in tenant.invoices.values()]}
    )
    contract.validate_schema(
        "CreditNotes",
        {"CreditNotes": [credit_note_view(tenant, c) for c in tenant.credit_notes.values()]},
    )
    contract.validate_schema(
        "Payments", {"Payments": [payment_view(tenant, p) for p in tenant.payments.values()]}
    )


def test_the_state_file_keeps_credit_notes_and_their_numbers(tenant):
    restored = _tenant_load(json.loads(json.dumps(_tenant_dump(tenant), default=str)))
    assert restored.credit_notes.keys() == tenant.credit_notes.keys()
    assert restored.credit_note_numbers == tenant.credit_note_numbers


def test_a_seeded_org_is_served_page_by_page_with_line_items(http, xero_sandbox):
    spec = {"name": "Import Ltd", "n_contacts": 60, "n_invoices": 1200, "n_credit_notes": 90}
    seeded = xero_sandbox.seed([spec])[0]
    assert (seeded["invoices"], seeded["credit_notes"]) == (1200, 90)
    tenant = seeded["tenantId"]
    token = xero_sandbox.token_for(tenant)

    def page(plural, **query):
        answer = api(http, xero_sandbox, "GET", f"/{plural}", token, tenant, **query)
        assert answer.status == 200, answer.data[:300]
        return json.loads(answer.data)

    first = page("Invoices", page="1", pageSize="1000")
    second = page("Invoices", page="2", pageSize="1000")
    assert first["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 2, "itemCount": 1200}
    invoices = first["Invoices"] + second["Invoices"]
    assert len({i["InvoiceID"] for i in invoices}) == 1200
    assert all(i["LineItems"] for i in invoices)
    notes = page("CreditNotes", page="1", pageSize="1000")["CreditNotes"]
    assert len(notes) == 90 and all(c["LineItems"] for c in notes)
    where = 'Type=="ACCREC" AND Date>=DateTime(2026, 01, 01)'
    recent = page("Invoices", page="1", pageSize="1000", where=where)["Invoices"]
    expected = [
        i for i in invoices if i["Type"] == "ACCREC" and _date(i["Date"]) >= dt.date(2026, 1, 1)
    ]
    assert recent and [i["InvoiceID"] for i in recent] == [i["InvoiceID"] for i in expected]
    month_13 = api(
        http, xero_sandbox, "GET", "/Invoices", token, tenant, where="Date>=DateTime(2026, 13, 01)"
    )
    assert month_13.status == 400 and b"Unsupported DateTime" in month_13.data
    # A new invoice takes the next free number after the seeded ones.
    contact = next(c for c in xero_sandbox.contacts(tenant) if c["ContactStatus"] == "ACTIVE")
    body = {"Invoices": [invoice_body(contact["ContactID"])]}
    made = json.loads(api(http, xero_sandbox, "PUT", "/Invoices", token, tenant, body=body).data)
    taken = {i.get("InvoiceNumber") for i in invoices}
    assert made["Invoices"][0]["InvoiceNumber"] not in taken


def test_seeding_history_needs_contacts():
    with pytest.raises(ValueError, match="need contacts"):
        seed.build_org(name="Empty Ltd", n_contacts=0, n_invoices=5)
