"""The reconciliation's comparison, pure: which fields differ and which side's word stands."""

from dataclasses import replace
from decimal import Decimal

import pytest

from contacts.models import Contact
from invoices.models import InvoiceStatus
from xero_sync.inbound import normalise
from xero_sync.reconcile.compare import (
    ALLOCATION_REMOVED_RULE,
    CREDIT_VOIDED_RULE,
    ISSUED_HELD_RULE,
    ISSUED_RULE,
    NOT_SENT_RULE,
    PAYMENTS_RULE,
    PERSON,
    PULL,
    PUSH,
    REFUND_REMOVED_RULE,
    CrmCreditNote,
    CrmInvoice,
    contact_gaps,
    credit_note_gaps,
    credit_note_held,
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


def test_credit_xero_holds_is_compared_by_its_credit_note_not_as_amount_due():
    assert invoice_gaps(CRM, xero_invoice(AmountCredited=5.0, AmountDue=100.0)) == []
    [gap] = invoice_gaps(CRM, xero_invoice(AmountCredited=5.0, AmountDue=105.0))
    assert (gap.field, gap.crm, gap.xero) == ("amount_due", "100.00", "105.00")


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


# --- credit notes ---------------------------------------------------------------------------------
CRM_CREDIT = CrmCreditNote(
    total=Decimal("8.63"),
    amount_allocated=Decimal("5.63"),
    refund_amount=Decimal("3.00"),
    carried_amount=Decimal(0),
    currency="NZD",
    contact_xero_id="c-1",
    invoice_xero_id="i-1",
    allocation_sent=True,
    refund_sent=True,
)


def xero_credit_note(**changes):
    raw = {
        "CreditNoteID": "cn-1",
        "Type": "ACCRECCREDIT",
        "Status": "PAID",
        "Total": 8.63,
        "RemainingCredit": 0.0,
        "CurrencyCode": "NZD",
        "Contact": {"ContactID": "C-1"},
        "Allocations": [
            {"AllocationID": "a-1", "Amount": 5.63, "Invoice": {"InvoiceID": "I-1"}},
        ],
        "Payments": [{"PaymentID": "r-1", "Amount": 3.0, "Status": "AUTHORISED"}],
    }
    return raw | changes


def credit_gaps(crm=CRM_CREDIT, **changes):
    return credit_note_gaps(crm, credit_note_held(xero_credit_note(**changes), crm.invoice_xero_id))


def test_a_credit_note_as_the_crm_issued_it_shows_no_gap():
    assert credit_gaps() == []
    held = credit_note_held(xero_credit_note(), "i-1")
    assert (held.allocated, held.refunded, held.refund_id) == (
        Decimal("5.63"),
        Decimal("3.00"),
        "r-1",
    )


def test_a_credit_note_voided_in_xero_is_left_for_a_person_saying_the_crm_cannot_void():
    [gap] = credit_gaps(Status="VOIDED", Allocations=[], Payments=[])
    assert (gap.field, gap.crm, gap.xero, gap.repair) == ("status", "Issued", "VOIDED", PERSON)
    assert gap.why == CREDIT_VOIDED_RULE and "no way to void a credit note" in gap.why


def test_an_allocation_removed_in_xero_is_left_for_a_person_and_says_so():
    gaps = credit_gaps(Allocations=[], RemainingCredit=5.63, Status="AUTHORISED")
    # The credit remaining follows from the allocation: said once, by the allocation.
    assert fields(gaps) == {"allocated": PERSON}
    [gap] = gaps
    assert (gap.crm, gap.xero, gap.why) == ("5.63", "0.00", ALLOCATION_REMOVED_RULE)
    assert "removed in Xero" in gap.why


def test_an_allocation_or_refund_the_crm_never_sent_is_sent_again():
    unsent = replace(CRM_CREDIT, allocation_sent=False, refund_sent=False)
    gaps = credit_gaps(unsent, Allocations=[], Payments=[], RemainingCredit=8.63)
    assert fields(gaps) == {"allocated": PUSH, "refund": PUSH}
    assert {g.why for g in gaps} == {NOT_SENT_RULE}


def test_a_refund_removed_in_xero_is_left_for_a_person():
    deleted = [{"PaymentID": "r-1", "Amount": 3.0, "Status": "DELETED"}]
    [gap] = credit_gaps(Payments=deleted, RemainingCredit=3.0)
    assert (gap.field, gap.crm, gap.xero, gap.repair) == ("refund", "3.00", "0.00", PERSON)
    assert gap.why == REFUND_REMOVED_RULE


def test_what_the_crm_issued_and_xero_holds_otherwise_is_a_persons_with_both_values():
    gaps = credit_gaps(Total=9.63, CurrencyCode="AUD", Contact={"ContactID": "c-2"})
    assert fields(gaps) == {"total": PERSON, "contact": PERSON, "currency": PERSON}
    assert {(g.crm, g.xero) for g in gaps} == {("8.63", "9.63"), ("c-1", "c-2"), ("NZD", "AUD")}
    assert all(g.why == ISSUED_HELD_RULE for g in gaps)


def test_credit_remaining_in_xero_with_the_parts_agreeing_is_listed():
    [gap] = credit_gaps(RemainingCredit=1.0)
    assert (gap.field, gap.crm, gap.xero, gap.repair) == ("remaining", "0.00", "1.00", PERSON)


def test_an_allocation_to_another_invoice_is_not_counted_as_its_own():
    other = [{"Amount": 5.63, "Invoice": {"InvoiceID": "i-9"}}]
    assert fields(credit_gaps(Allocations=other)) == {"allocated": PERSON}


def test_an_unreadable_credit_note_raises_unstorable():
    with pytest.raises(normalise.Unstorable):
        credit_note_held(["not", "a", "record"], "i-1")
