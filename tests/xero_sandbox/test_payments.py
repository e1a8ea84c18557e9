"""Payments through the real SDK: partial, full (PAID), too much, wrong account, delete."""

import datetime as dt
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Account,
    Contact,
    Invoice,
    Invoices,
    LineItem,
    Payment,
    PaymentDelete,
    Payments,
)
from xero_python.exceptions import AccountingBadRequestException


@pytest.fixture
def client(xero_sandbox):
    return xero_sandbox.sdk()


@pytest.fixture
def invoice(client, xero_sandbox):
    contact_id = xero_sandbox.contacts(client.tenant_id)[0]["ContactID"]
    made = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 31),
        status="AUTHORISED",
        line_items=[
            LineItem(
                description="x",
                quantity=Decimal(1),
                unit_amount=Decimal("100"),
                account_code="200",
                tax_type="OUTPUT2",
            )
        ],
    )
    return client.accounting.create_invoices(client.tenant_id, Invoices(invoices=[made])).invoices[
        0
    ]


def pay(invoice_id, amount, code="090"):
    return Payment(
        invoice=Invoice(invoice_id=invoice_id),
        account=Account(code=code),
        date=dt.date(2026, 3, 14),
        amount=Decimal(amount),
        reference="CRM pay",
    )


def test_partial_then_full_payment_marks_paid_and_delete_restores(client, invoice, xero_sandbox):
    tenant = client.tenant_id
    first = client.accounting.create_payment(tenant, pay(invoice.invoice_id, "15.00")).payments[0]
    assert first.status == "AUTHORISED" and first.amount == Decimal("15.00")
    after = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (after.status, after.amount_due, after.amount_paid) == (
        "AUTHORISED",
        Decimal("100.00"),
        Decimal("15.00"),
    )
    second = client.accounting.create_payments(
        tenant, Payments(payments=[pay(invoice.invoice_id, "100.00")]), summarize_errors=False
    ).payments[0]
    assert second.status_attribute_string == "OK"
    paid = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (
        paid.status == "PAID"
        and paid.amount_due == 0
        and paid.fully_paid_on_date == dt.date(2026, 3, 14)
    )
    assert len(paid.payments) == 2

    deleted = client.accounting.delete_payment(
        tenant, second.payment_id, PaymentDelete(status="DELETED")
    )
    assert deleted.payments[0].status == "DELETED"
    restored = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert restored.status == "AUTHORISED" and restored.amount_due == Decimal("100.00")
    assert restored.fully_paid_on_date is None
    listed = client.accounting.get_payments(tenant).payments
    assert {p.payment_id: p.status for p in listed} == {
        first.payment_id: "AUTHORISED",
        second.payment_id: "DELETED",
    }


def test_overpayment_and_non_payment_account_are_element_errors(client, invoice):
    result = client.accounting.create_payments(
        client.tenant_id,
        Payments(
            payments=[
                pay(invoice.invoice_id, "115.01"),
                pay(invoice.invoice_id, "1.00", code="200"),
                pay(invoice.invoice_id, "1.00", code="615"),
            ]
        ),
        summarize_errors=False,
    ).payments
    assert [p.status_attribute_string for p in result] == ["ERROR", "ERROR", "OK"]
    assert result[0].has_validation_errors
    assert (
        result[0].validation_errors[0].message
        == "Payment amount exceeds the amount outstanding on this document"
    )
    assert "Enable payments to this account" in result[1].validation_errors[0].message


def test_single_payment_error_is_400_and_paid_invoice_cannot_be_edited(client, invoice):
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.create_payment(client.tenant_id, pay(invoice.invoice_id, "500"))
    assert error.value.reason == "Payment amount exceeds the amount outstanding on this document"
    client.accounting.create_payment(client.tenant_id, pay(invoice.invoice_id, "10"))
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.update_invoice(
            client.tenant_id, invoice.invoice_id, Invoices(invoices=[Invoice(reference="changed")])
        )
    assert error.value.reason == (
        "This document cannot be edited as it has a payment or credit note allocated to it."
    )


def test_draft_invoice_cannot_be_paid(client, xero_sandbox):
    contact_id = xero_sandbox.contacts(client.tenant_id)[0]["ContactID"]
    draft = client.accounting.create_invoices(
        client.tenant_id,
        Invoices(
            invoices=[
                Invoice(
                    type="ACCREC",
                    contact=Contact(contact_id=contact_id),
                    line_items=[
                        LineItem(description="x", unit_amount=Decimal(5), account_code="200")
                    ],
                )
            ]
        ),
    ).invoices[0]
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.create_payment(client.tenant_id, pay(draft.invoice_id, "1"))
    assert error.value.reason == "Payments can only be made against Authorised documents"
