"""Staff credit an invoice, by line or by amount, with a reason and part of it refunded; never
more than is left to credit, to refund, or owed; the invoice page shows what was credited."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from invoices.models import CreditNote, InvoiceStatus
from invoices.services import (
    CreditLineInput,
    LineInput,
    credit_note_create,
    invoice_reissue,
    invoice_void,
    payment_record,
)

from ..factories import client_for, invoice_make, tax_rate_make

pytestmark = pytest.mark.django_db


def two_rates_invoice(account):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    zero = tax_rate_make(account, "Zero", ("None", D(0), False))
    return invoice_make(
        account,
        issue=True,
        lines=[
            LineInput(description="Labour", quantity=D(2), unit_price=D("45.50"), tax_rate=gst),
            LineInput(description="Export part", quantity=D(1), unit_price=D(30), tax_rate=zero),
        ],
    )


def test_a_credit_by_line_takes_its_tax_as_xero_rounds_it(account):
    invoice = two_rates_invoice(account)  # 91.00 + 13.65 tax + 30.00 = 134.65
    labour = invoice.lines.get(description="Labour")
    note = credit_note_create(
        invoice=invoice,
        reason="One hour not worked",
        lines=[CreditLineInput(line=labour, quantity=D("0.33"))],
    )
    # 0.33 x 45.50 = 15.015 -> 15.02; tax 2.253 -> 2.25 (half away from zero, line by line).
    assert (note.subtotal, note.total_tax, note.total) == (D("15.02"), D("2.25"), D("17.27"))
    invoice.refresh_from_db()
    assert invoice.amount_credited == D("17.27")
    assert invoice.amount_due == D("117.38")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert invoice.events.filter(what__startswith=f"Credit note {note.number} of 17.27").exists()


def test_an_amount_alone_is_refused_when_lines_have_different_tax_rates(account):
    invoice = two_rates_invoice(account)
    with pytest.raises(ValidationError, match="different rates"):
        credit_note_create(invoice=invoice, reason="Goodwill", amount=D("10.00"))


def test_a_refund_is_never_more_than_was_paid_nor_the_credit_less_than_is_owed(account):
    invoice = invoice_make(account, issue=True)  # 100.00, no tax
    payment_record(invoice=invoice, amount=D("30.00"))
    with pytest.raises(ValidationError, match="Only 30.00 NZD has been paid"):
        credit_note_create(invoice=invoice, reason="x", amount=D(50), refund=D(40))
    with pytest.raises(ValidationError, match="at least 10.00 NZD of this credit"):
        credit_note_create(invoice=invoice, reason="x", amount=D(80))
    note = credit_note_create(invoice=invoice, reason="Job cancelled", amount=D(80), refund=D(10))
    invoice.refresh_from_db()
    assert (note.amount_allocated, invoice.amount_due, invoice.status) == (
        D(70),
        D(0),
        InvoiceStatus.PAID,
    )
    with pytest.raises(ValidationError, match="The refund is part of the credit"):
        credit_note_create(invoice=invoice, reason="More", amount=D(20), refund=D("20.01"))


def test_drafts_cannot_be_credited_and_credited_invoices_cannot_be_voided(account):
    draft = invoice_make(account)
    with pytest.raises(ValidationError, match="Only an issued invoice"):
        credit_note_create(invoice=draft, reason="x", amount=D(1))
    invoice = invoice_make(account, issue=True)
    credit_note_create(invoice=invoice, reason="Discount", amount=D(5))
    with pytest.raises(ValidationError, match="credit notes against it"):
        invoice_void(invoice=invoice)
    with pytest.raises(ValidationError, match="Use Credit and reissue"):
        invoice_reissue(invoice=invoice)


def test_staff_credit_lines_on_the_form_and_the_invoice_page_shows_the_credit(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D("100.00"))
    line = invoice.lines.get()
    client = client_for(staff_user)
    url = reverse("invoices:credit_note_new", args=[account.slug, invoice.pk])
    form = {
        "reason": "Call-out was short",
        f"line_{line.pk}": "0.25",
        "amount": "",
        "refund": "",
        "refund_method": "bank_transfer",
        "date": "2026-12-01",
    }
    both = client.post(url, {**form, "amount": "5"})
    assert "Credit either some lines or an amount, not both." in both.content.decode()
    too_little_refund = client.post(url, form)
    assert (
        "Only 0.00 NZD is still owed, so at least 25.00 NZD of this credit must be refunded"
        in too_little_refund.content.decode()
    )
    assert not CreditNote.objects.exists()
    done = client.post(url, {**form, "refund": "25.00"})
    assert done["Location"] == reverse("invoices:detail", args=[account.slug, invoice.pk])
    page = client.get(done["Location"]).content.decode()
    note = CreditNote.objects.get()
    assert (note.total, note.refund_amount, note.created_by) == (D(25), D(25), staff_user)
    assert note.number in page and "Call-out was short" in page
    assert 'id="amount-credited">0.00<' in page  # all of it refunded: nothing set against


def test_a_credited_invoice_offers_no_void_and_its_void_page_says_why(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D("40.00"))
    credit_note_create(invoice=invoice, reason="Discount", amount=D("5.00"))
    client = client_for(staff_user)
    page = client.get(reverse("invoices:detail", args=[account.slug, invoice.pk])).content
    assert b'id="invoice-void"' not in page and b'id="invoice-reissue"' not in page
    assert b'id="invoice-credit-reissue"' in page
    for name in ("invoices:void", "invoices:reissue"):
        confirm = client.get(reverse(name, args=[account.slug, invoice.pk])).content.decode()
        assert 'id="confirm-blocked"' in confirm and "can no longer be voided" in confirm
        assert 'id="confirm-button"' not in confirm


def test_credit_and_reissue_asks_for_a_reason_and_lands_on_the_draft_copy(account, staff_user):
    invoice = invoice_make(account, issue=True)  # 100.00
    payment_record(invoice=invoice, amount=D("40.00"))
    client = client_for(staff_user)
    url = reverse("invoices:credit_reissue", args=[account.slug, invoice.pk])
    asked = client.post(url, {"confirm": "yes", "reason": ""})
    assert "This field is required." in asked.content.decode()
    done = client.post(url, {"confirm": "yes", "reason": "Wrong rate"})
    invoice.refresh_from_db()
    copy = invoice.credit_notes.get().carried_to
    assert done["Location"] == reverse("invoices:detail", args=[account.slug, copy.pk])
    assert (copy.status, copy.amount_credited, copy.amount_due) == (
        InvoiceStatus.DRAFT,
        D("40.00"),
        D("60.00"),
    )
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PAID, D(0))
    page = client.get(done["Location"]).content.decode()
    assert "what was paid on" in page and invoice.number in page
    with pytest.raises(ValidationError, match="can no longer be voided"):
        invoice_void(invoice=copy)
