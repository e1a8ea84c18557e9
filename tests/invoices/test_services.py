import datetime
import threading
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from invoices.models import Invoice, InvoiceNumbering, InvoiceStatus, Payment
from invoices.services import (
    LineInput,
    invoice_create,
    invoice_issue,
    invoice_update,
    invoice_void,
    payment_delete,
    payment_record,
)
from invoices.signals import invoice_changed
from taxes.calculation import Component, Line, TaxMode, invoice_totals

from ..factories import account_create, contact_make, invoice_make, tax_rate_make

pytestmark = pytest.mark.django_db

LINES = [
    # quantity, unit price, discount %
    (D("3"), D("19.99"), D("0")),
    (D("1.5"), D("120.005"), D("10")),
    (D("7"), D("0.333"), D("2.5")),
]


@pytest.mark.parametrize("mode", [TaxMode.EXCLUSIVE, TaxMode.INCLUSIVE, TaxMode.NO_TAX])
def test_totals_equal_the_calculation_modules_with_multi_component_rates(account, mode):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    combined = tax_rate_make(account, "GST+PST", ("GST", D(5), False), ("PST", D(7), True))
    rates = [gst, combined, None]
    invoice = invoice_make(
        account,
        tax_mode=mode.value,
        lines=[
            LineInput(description=f"L{i}", quantity=q, unit_price=u, discount_rate=d, tax_rate=r)
            for i, ((q, u, d), r) in enumerate(zip(LINES, rates, strict=True))
        ],
    )
    components = {
        gst.pk: (Component("GST", D(15)),),
        combined.pk: (Component("GST", D(5)), Component("PST", D(7), compound=True)),
    }
    expected = invoice_totals(
        [
            Line(q, u, d, components.get(r.pk, ()) if r else ())
            for (q, u, d), r in zip(LINES, rates, strict=True)
        ],
        mode,
    )
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (
        expected.subtotal,
        expected.total_tax,
        expected.total,
    )
    stored = [(line.line_amount, line.tax_amount) for line in invoice.lines.all()]
    assert stored == [(r.line_amount, r.tax_amount) for r in expected.lines]
    if mode != TaxMode.NO_TAX:
        assert invoice.total_tax > 0


def test_changing_the_tax_mode_alone_recomputes_the_totals(account):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    line = LineInput(description="Work", quantity=D(1), unit_price=D(115), tax_rate=gst)
    invoice = invoice_make(account, lines=[line])
    assert invoice.total == D("132.25")
    invoice_update(invoice=invoice, tax_mode="inclusive")
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (D(100), D(15), D(115))


def test_a_new_invoice_is_a_draft_in_the_accounts_currency_numbered_from_its_sequence(account):
    account.currency = "AUD"
    account.save()
    first, second = invoice_make(account), invoice_make(account)
    assert (first.number, second.number) == ("INV-0001", "INV-0002")
    assert first.status == InvoiceStatus.DRAFT
    assert first.currency == "AUD"
    other = invoice_make(account_create())
    assert other.number == "INV-0001"


def test_the_prefix_is_configurable_and_taken_numbers_are_skipped(account):
    InvoiceNumbering.objects.create(account=account, prefix="KP-", next_number=7)
    invoice_make(account)
    Invoice.objects.filter(account=account).update(number="KP-0008")
    assert invoice_make(account).number == "KP-0009"


def test_numbers_are_unique_per_account_in_the_database(account):
    invoice = invoice_make(account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            account=account, number=invoice.number, issue_date=invoice.issue_date, currency="NZD"
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_never_share_a_number():
    account = account_create()
    contact = contact_make(account)
    numbers, errors = [], []
    start = threading.Barrier(8)

    def create():
        try:
            start.wait()
            numbers.append(invoice_create(account=account, contact=contact).number)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"INV-{n:04d}" for n in range(1, 9)]


def test_issuing_needs_a_contact_a_due_date_and_a_line(account):
    invoice = invoice_create(account=account)
    with pytest.raises(ValidationError) as refused:
        invoice_issue(invoice=invoice)
    assert "a contact, a due date and at least one line" in str(refused.value)
    invoice = invoice_make(account)
    invoice_issue(invoice=invoice)
    assert invoice.status == InvoiceStatus.SENT
    with pytest.raises(ValidationError, match="Only a draft"):
        invoice_issue(invoice=invoice)


def test_payments_make_an_invoice_partially_paid_then_paid(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D("40.00"), by=staff_user)
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        InvoiceStatus.PARTIALLY_PAID,
        D("40.00"),
        D("60.00"),
    )
    last = payment_record(invoice=invoice, amount=D("60.00"))
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PAID, D("0.00"))
    payment_delete(payment=last)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PARTIALLY_PAID, D("60.00"))


def test_an_overpayment_is_refused_and_says_how_much_is_due(account):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D("30"))
    with pytest.raises(ValidationError) as refused:
        payment_record(invoice=invoice, amount=D("70.01"))
    assert "more than the amount due (70.00 NZD)" in str(refused.value.message_dict["amount"])
    assert Payment.objects.filter(invoice=invoice).count() == 1


@pytest.mark.parametrize("amount", [D(0), D("-5"), D("1.001")])
def test_a_payment_must_be_positive_whole_cents(account, amount):
    invoice = invoice_make(account, issue=True)
    with pytest.raises(ValidationError):
        payment_record(invoice=invoice, amount=amount)


def test_a_draft_takes_no_payment(account):
    with pytest.raises(ValidationError, match="Issue the invoice"):
        payment_record(invoice=invoice_make(account), amount=D(1))


def test_voiding_an_invoice_with_payments_is_refused_until_they_are_deleted(account):
    invoice = invoice_make(account, issue=True)
    payment = payment_record(invoice=invoice, amount=D(10))
    with pytest.raises(ValidationError, match="Delete its payments first"):
        invoice_void(invoice=invoice)
    payment_delete(payment=payment)
    invoice_void(invoice=invoice)
    assert invoice.status == InvoiceStatus.VOID
    with pytest.raises(ValidationError, match="void"):
        payment_record(invoice=invoice, amount=D(1))
    with pytest.raises(ValidationError, match="already void"):
        invoice_void(invoice=invoice)


def test_lines_are_edited_in_place_added_and_removed(account):
    invoice = invoice_make(
        account,
        lines=[
            LineInput(description="Keep", quantity=D(1), unit_price=D(10)),
            LineInput(description="Drop", quantity=D(1), unit_price=D(20)),
        ],
    )
    keep, drop = invoice.lines.all()
    invoice_update(
        invoice=invoice,
        name="Bathroom",
        lines=[
            LineInput(description="New", quantity=D(2), unit_price=D(5)),
            LineInput(id=keep.pk, description="Kept", quantity=D(3), unit_price=D(10)),
        ],
    )
    rows = list(invoice.lines.values_list("id", "position", "description", "line_amount"))
    assert rows[1] == (keep.pk, 1, "Kept", D("30.00"))
    assert rows[0][1:] == (0, "New", D("10.00"))
    assert not invoice.lines.filter(pk=drop.pk).exists()
    invoice.refresh_from_db()
    assert (invoice.name, invoice.total) == ("Bathroom", D("40.00"))


def test_a_line_of_another_invoice_cannot_be_edited_through_this_one(account):
    theirs = invoice_make(account).lines.get()
    invoice = invoice_make(account)
    with pytest.raises(ValidationError, match="not on this invoice"):
        invoice_update(
            invoice=invoice,
            lines=[LineInput(id=theirs.pk, description="x", quantity=D(1), unit_price=D(1))],
        )


def test_a_paid_or_void_invoice_cannot_be_edited(account):
    paid = invoice_make(account, issue=True)
    payment_record(invoice=paid, amount=paid.total)
    with pytest.raises(ValidationError, match="paid and can no longer be edited"):
        invoice_update(invoice=paid, name="Changed")
    void = invoice_void(invoice=invoice_make(account))
    with pytest.raises(ValidationError, match="void and can no longer be edited"):
        invoice_update(invoice=void, name="Changed")


def test_an_edit_cannot_bring_the_total_below_what_was_paid(account):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D(60))
    with pytest.raises(ValidationError, match="less than what has been paid"):
        invoice_update(
            invoice=invoice,
            lines=[LineInput(description="Less", quantity=D(1), unit_price=D(50))],
        )
    invoice.refresh_from_db()
    assert invoice.total == D(100)
    invoice_update(
        invoice=invoice, lines=[LineInput(description="Exact", quantity=D(1), unit_price=D(60))]
    )
    assert invoice.status == InvoiceStatus.PAID


def test_another_accounts_contact_and_tax_rate_are_refused(account, other_account):
    with pytest.raises(ValidationError) as refused:
        invoice_create(account=account, contact=contact_make(other_account))
    assert "contact" in refused.value.message_dict
    foreign_rate = tax_rate_make(other_account)
    with pytest.raises(ValidationError, match="tax rate of this account"):
        invoice_create(
            account=account,
            lines=[
                LineInput(description="x", quantity=D(1), unit_price=D(1), tax_rate=foreign_rate)
            ],
        )


def test_the_due_date_cannot_precede_the_issue_date(account):
    with pytest.raises(ValidationError) as refused:
        invoice_create(
            account=account,
            issue_date=datetime.date(2026, 3, 1),
            due_date=datetime.date(2026, 2, 1),
        )
    assert "due_date" in refused.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_every_change_sends_invoice_changed_inside_the_transaction(account):
    seen = []

    def receiver(sender, invoice, change, payment, **kwargs):
        seen.append((invoice.pk, change, payment.pk if payment else None))
        assert connection.in_atomic_block

    invoice_changed.connect(receiver)
    try:
        invoice = invoice_make(account)
        invoice_update(invoice=invoice, name="Renamed")
        invoice_issue(invoice=invoice)
        payment = payment_record(invoice=invoice, amount=D(5))
        payment_delete(payment=payment)
        invoice_void(invoice=invoice)
    finally:
        invoice_changed.disconnect(receiver)
    pk = invoice.pk
    assert seen == [
        (pk, "created", None),
        (pk, "updated", None),
        (pk, "issued", None),
        (pk, "paid", payment.pk),
        (pk, "payment_deleted", payment.pk),
        (pk, "voided", None),
    ]


def test_a_refused_change_sends_no_signal(account):
    invoice = invoice_make(account)
    seen = []

    def receiver(sender, change, **kwargs):
        seen.append(change)

    invoice_changed.connect(receiver)
    try:
        with pytest.raises(ValidationError):
            payment_record(invoice=invoice, amount=D(1))
    finally:
        invoice_changed.disconnect(receiver)
    assert seen == []


def test_an_issued_invoice_keeps_its_contact_due_date_and_lines(account):
    invoice = invoice_make(account, issue=True)
    with pytest.raises(ValidationError) as refused:
        invoice_update(invoice=invoice, contact=None)
    assert "contact" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        invoice_update(invoice=invoice, due_date=None)
    assert "due_date" in refused.value.message_dict
    with pytest.raises(ValidationError, match="at least one line"):
        invoice_update(invoice=invoice, lines=[])
