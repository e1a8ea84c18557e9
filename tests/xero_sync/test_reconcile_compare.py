"""The reconciliation's comparison, pure: which fields differ and which side's word stands."""

from decimal import Decimal

import pytest

from contacts.models import Contact
from invoices.models import InvoiceStatus
from xero_sync.reconcile.compare import (
    ISSUED_RULE,
    PAYMENTS_RULE,
    PERSON,
    PULL,
    PUSH,
    CrmInvoice,
    contact_gaps,
    invoice_gaps,
)

pytestmark = pytest.mark.pure

CRM = CrmInvoice(
    status=InvoiceStatus.PARTIALLY_PAID,
    total=Decimal("145.00"),
    amount_paid=Decimal("40.00"),
    currency="NZD",
    line_count=2,
    contact_xero_id="c-1",
    xero_payment_ids=frozenset({"p-1"}),
    payments_unsent=0,
)


def xero_invoice(**changes):
    raw = {
        "InvoiceID": "i-1",
        "Type": "ACCREC",
        "Status": "AUTHORISED",
        "Total": 145.0,
        "AmountPaid": 40.0,
        "AmountDue": 105.0,
        "CurrencyCode": "NZD",
        "Contact": {"ContactID": "c-1"},
        "LineItems": [{"LineItemID": "l-1"}, {"LineItemID": "l-2"}],
        "Payments": [{"PaymentID": "p-1", "Amount": 40.0, "Status": "AUTHORISED"}],
    }
    return raw | changes


def fields(gaps):
    return {g.field: g.repair for g in gaps}


def test_an_invoice_as_the_crm_has_it_shows_no_gap():
    assert invoice_gaps(CRM, xero_invoice()) == []


def test_a_payment_made_in_xero_is_pulled_with_what_follows_from_it():
    raw = xero_invoice(
        Status="PAID",
        AmountPaid=145.0,
        AmountDue=0,
        Payments=[
            {"PaymentID": "p-1", "Amount": 40.0, "Status": "AUTHORISED"},
            {"PaymentID": "p-2", "Amount": 105.0, "Status": "AUTHORISED"},
        ],
    )
    gaps = invoice_gaps(CRM, raw)
    assert fields(gaps) == {
        "payments": PULL,
        "status": PULL,
        "amount_paid": PULL,
        "amount_due": PULL,
    }
    assert {g.why for g in gaps} == {PAYMENTS_RULE}


def test_a_deleted_payment_in_xero_is_not_counted_as_there():
    raw = xero_invoice(
        AmountPaid=0,
        AmountDue=145.0,
        Payments=[{"PaymentID": "p-1", "Amount": 40.0, "Status": "DELETED"}],
    )
    assert fields(invoice_gaps(CRM, raw))["payments"] == PULL


def test_what_the_crm_issued_is_pushed_again():
    raw = xero_invoice(
        Total=175.0,
        AmountDue=135.0,
        CurrencyCode="AUD",
        Contact={"ContactID": "c-2"},
        LineItems=[{"LineItemID": "l-1"}],
    )
    gaps = invoice_gaps(CRM, raw)
    assert fields(gaps) == {"total": PUSH, "contact": PUSH, "currency": PUSH, "lines": PUSH}
    total = next(g for g in gaps if g.field == "total")
    assert (total.crm, total.xero, total.why) == ("145.00", "175.00", ISSUED_RULE)


def test_voided_in_xero_is_pulled_and_void_in_the_crm_is_pushed():
    assert fields(invoice_gaps(CRM, xero_invoice(Status="VOIDED"))) == {"status": PULL}
    void = CrmInvoice(**{**CRM.__dict__, "status": InvoiceStatus.VOID})
    assert fields(invoice_gaps(void, xero_invoice())) == {"status": PUSH}


def test_amounts_apart_with_the_same_payments_are_left_for_a_person():
    raw = xero_invoice(AmountPaid=41.0, AmountDue=104.0)
    assert fields(invoice_gaps(CRM, raw)) == {"amount_paid": PERSON, "amount_due": PERSON}


def person(**fields):
    return Contact(
        **{"first_name": "Ruth", "last_name": "Tane", "email": "ruth@x.example"} | fields
    )


BASE = {
    "ContactID": "x-1",
    "Name": "Ruth Tane",
    "FirstName": "Ruth",
    "LastName": "Tane",
    "EmailAddress": "ruth@x.example",
    "ContactStatus": "ACTIVE",
}


def test_a_contact_changed_in_xero_is_pulled():
    now = BASE | {"FirstName": "Ruthie", "Name": "Ruthie Tane"}
    gaps = contact_gaps(person(), now, base=BASE, region="NZ", crm_changed_since_sync=False)
    assert [(g.field, g.crm, g.xero, g.repair) for g in gaps] == [
        ("name", "Ruth Tane", "Ruthie Tane", PULL)
    ]


def test_a_contact_changed_in_the_crm_is_pushed_every_field_the_outbox_sends():
    crm = person(email="ruth@new.example", is_archived=True)
    crm.first_name = "Ruthie"
    gaps = contact_gaps(crm, BASE, base=BASE, region="NZ", crm_changed_since_sync=True)
    assert fields(gaps) == {"name": PUSH, "email": PUSH, "archived": PUSH}


def test_without_a_base_the_side_changed_since_the_last_sync_wins():
    now = BASE | {"EmailAddress": "ruth@other.example"}
    assert fields(
        contact_gaps(person(), now, base={}, region="NZ", crm_changed_since_sync=True)
    ) == {"email": PUSH}
    assert fields(
        contact_gaps(person(), now, base={}, region="NZ", crm_changed_since_sync=False)
    ) == {"email": PULL}
