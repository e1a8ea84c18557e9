"""The invoice mappers, pure: our data to Xero's request bodies, and Xero's JSON to our types.
No database, no sandbox (a test touching either fails: pytest-django blocks the database)."""

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from contacts.models import Contact
from invoices.models import Payment
from xero_sync.client.contacts import contacts_request
from xero_sync.client.invoices import (
    invoice_fingerprint,
    invoices_request,
    invoices_request_digest,
    payment_request,
)
from xero_sync.client.shapes import PaymentBody
from xero_sync.inbound import normalise
from xero_sync.invoices.mapping import (
    InvoiceFacts,
    LineFacts,
    contact_body,
    invoice_body,
    invoice_from_xero,
    payment_body,
    xero_status,
)

from ..spec_examples import spec_example

pytestmark = pytest.mark.pure

CONTACT_ID = "cccccccc-0000-0000-0000-000000000001"
XERO_ID = "11111111-2222-3333-4444-555555555555"
LINE_ITEM_ID = "aaaaaaaa-0000-0000-0000-000000000001"


def facts(**changes) -> InvoiceFacts:
    """A draft for a contact Xero knows, one taxed line with a discount."""
    fields: dict[str, Any] = dict(
        status="draft",
        number="INV-0001",
        name="Hot water cylinder",
        issue_date=dt.date(2026, 12, 1),
        due_date=dt.date(2026, 12, 21),
        currency="NZD",
        tax_mode="exclusive",
        lines=(LineFacts(1, "Call-out", D("1.0000"), D("100.0000"), D("12.50"), "OUTPUT2"),),
        sales_account_code="200",
        contact_id=CONTACT_ID,
    )
    return InvoiceFacts(**(fields | changes))


SENT_IN_XERO = facts(
    status="sent",
    number="INV-0002",
    name="",
    xero_invoice_id=XERO_ID,
    xero_status="AUTHORISED",
    xero_line_ids={"1": LINE_ITEM_ID},
)
LINE = {
    "Description": "Call-out",
    "Quantity": 1.0,
    "UnitAmount": 100.0,
    "AccountCode": "200",
    "TaxType": "OUTPUT2",
    "DiscountRate": 12.5,
}
DATES = {"Date": "/Date(1796083200000)/", "DueDate": "/Date(1797811200000)/"}


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        pytest.param(
            facts(),
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": CONTACT_ID},
                "LineItems": [LINE],
                **DATES,
                "LineAmountTypes": "Exclusive",
                "InvoiceNumber": "INV-0001",
                "Reference": "Hot water cylinder",
                "CurrencyCode": "NZD",
                "Status": "DRAFT",
            },
            id="a draft, its title as Reference",
        ),
        pytest.param(
            SENT_IN_XERO,
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": CONTACT_ID},
                "LineItems": [{"LineItemID": LINE_ITEM_ID, **LINE}],
                **DATES,
                "LineAmountTypes": "Exclusive",
                "InvoiceNumber": "INV-0002",
                "CurrencyCode": "NZD",
                "Status": "AUTHORISED",
                "InvoiceID": XERO_ID,
            },
            id="sent, already in Xero: updated in place, lines by LineItemID, no empty Reference",
        ),
        pytest.param(
            facts(
                tax_mode="no_tax",
                lines=(LineFacts(1, "", D("2"), D("9.99"), D("0"), None),),
            ),
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": CONTACT_ID},
                "LineItems": [
                    {"Description": "-", "Quantity": 2.0, "UnitAmount": 9.99, "AccountCode": "200"}
                ],
                **DATES,
                "LineAmountTypes": "NoTax",
                "InvoiceNumber": "INV-0001",
                "Reference": "Hot water cylinder",
                "CurrencyCode": "NZD",
                "Status": "DRAFT",
            },
            id="no tax: no TaxType, no zero discount, a line without words says '-'",
        ),
        pytest.param(
            facts(status="void", xero_invoice_id=XERO_ID, xero_status="AUTHORISED"),
            {"InvoiceID": XERO_ID, "Status": "VOIDED"},
            id="void after approval: voided as it stands",
        ),
        pytest.param(
            facts(status="void", xero_invoice_id=XERO_ID, xero_status="DRAFT"),
            {"InvoiceID": XERO_ID, "Status": "DELETED"},
            id="void while a draft in Xero: deleted",
        ),
    ],
)
def test_an_invoice_is_sent_to_xero_as_this_body(given, sent):
    assert invoices_request([invoice_body(given)]) == {"Invoices": [sent]}


@pytest.mark.parametrize(
    ("status", "in_xero", "expected"),
    [
        ("draft", "", "DRAFT"),
        ("sent", "", "AUTHORISED"),
        ("partially_paid", "AUTHORISED", "AUTHORISED"),
        ("void", "", "DELETED"),
        ("void", "SUBMITTED", "DELETED"),
        ("void", "AUTHORISED", "VOIDED"),
        ("void", "PAID", "VOIDED"),
    ],
)
def test_the_status_xero_is_to_hold(status, in_xero, expected):
    assert xero_status(status, in_xero) == expected


@pytest.mark.parametrize(
    ("given", "fingerprint", "digest"),
    [
        (
            facts(),
            "027b9c0cae7b5634ab6087083d41ce53742731cdca748f33f4e07d1936b1660e",
            "ed6596416b4b08921880927b46cd19b38414b66864d81ec28eca4c878aa201fd",
        ),
        (
            SENT_IN_XERO,
            "3c9a5a286032a8d19795a5241fd60ed2d8f0c6065adb45458d156adcfeaba674",
            "c4e703dd923cf87ceb095e94adb6bbdcbef8f72e7bc15c5b13f191e6415d71f1",
        ),
    ],
)
def test_the_fingerprint_and_the_request_digest_never_change(given, fingerprint, digest):
    """Stored per row (the fingerprint) and in the idempotency key (the digest of POST
    /Invoices' body): values taken from the code before the mappers were pure. A change would
    make every invoice look changed once, and a retry after a lost answer a new request."""
    body = invoice_body(given)
    assert invoice_fingerprint(body) == fingerprint
    assert invoices_request_digest([body]) == digest


@pytest.mark.parametrize(
    ("contact", "sent"),
    [
        (
            Contact(pk=4, company_name="Wu Design", first_name="Chloe", last_name="Wu", email=""),
            {
                "Name": "Wu Design",
                "FirstName": "Chloe",
                "LastName": "Wu",
                "ContactNumber": "crm-contact-4",
            },
        ),
        (
            Contact(pk=5, first_name="Tama", last_name="Ngata", email="tama@example.com"),
            {
                "Name": "Tama Ngata",
                "FirstName": "Tama",
                "LastName": "Ngata",
                "EmailAddress": "tama@example.com",
                "ContactNumber": "crm-contact-5",
            },
        ),
    ],
)
def test_a_contact_is_created_in_xero_without_empty_fields(contact, sent):
    assert contact_body(contact).name == sent["Name"]
    assert contacts_request([contact_body(contact)]) == {"Contacts": [sent]}


def test_a_payment_goes_against_the_chosen_account_with_a_reference():
    payment = Payment(pk=7, amount=D("46.00"), date=dt.date(2026, 12, 1), reference="")
    body = payment_body(payment, xero_invoice_id=XERO_ID, account_id="acc-1")
    assert body == PaymentBody(XERO_ID, "acc-1", dt.date(2026, 12, 1), D("46.00"), "CRM payment 7")
    assert payment_request(body) == {
        "Invoice": {"InvoiceID": XERO_ID},
        "Account": {"AccountID": "acc-1"},
        "Date": "/Date(1796083200000)/",
        "Amount": 46.0,
        "Reference": "CRM payment 7",
    }


# --- from Xero ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "status", "payments"),
    [
        ("INV-0001", "VOIDED", []),
        ("INV-0002", "PAID", [("99ea7f6b-c513-4066-bc27-b7c65dcd76c2", D("46.00"), "2018-11-29")]),
        ("INV-0003", None, []),
    ],
)
def test_the_spec_s_invoices_are_read(number, status, payments):
    raw = next(i for i in spec_example("/Invoices", "Invoices") if i["InvoiceNumber"] == number)
    read = invoice_from_xero(raw)
    assert (read.number, read.type, read.invoice_id) == (number, "ACCREC", raw["InvoiceID"])
    assert read.status == (status or raw["Status"])
    assert read.contact_id == raw["Contact"]["ContactID"]
    assert read.updated_at is not None and read.updated_at.tzinfo is not None
    assert [(p.payment_id, p.amount, str(p.date)) for p in read.payments] == payments
    assert read.unread_payments == ()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not an invoice", "not an invoice"),
        ({"InvoiceNumber": "INV-9"}, "without InvoiceID"),
        ({"InvoiceID": "", "Type": "ACCREC"}, "without InvoiceID"),
    ],
)
def test_an_invoice_that_cannot_be_read_is_unstorable(raw, why):
    with pytest.raises(normalise.Unstorable, match=why):
        invoice_from_xero(raw)


def test_a_payment_that_cannot_be_read_is_set_aside_alone():
    raw = {
        "InvoiceID": XERO_ID,
        "Payments": [
            {"PaymentID": "p-1", "Amount": "10.00", "Date": "/Date(1543449600000+0000)/"},
            {"Amount": "5.00"},
            "junk",
        ],
        "LineItems": [{"LineItemID": LINE_ITEM_ID}, "odd", {}],
    }
    read = invoice_from_xero(raw)
    assert [p.payment_id for p in read.payments] == ["p-1"]
    assert [u.reason for u in read.unread_payments] == [
        "Xero sent it without PaymentID",
        "Xero sent something that is not a payment",
    ]
    assert read.line_item_ids == (LINE_ITEM_ID, "", "")
