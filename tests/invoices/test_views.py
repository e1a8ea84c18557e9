import re
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.forms import MAX_LINES
from invoices.models import Invoice, InvoiceStatus
from invoices.services import LineInput, invoice_update, payment_record

from ..factories import client_for, contact_make, invoice_make, tax_rate_make
from ..support.invoices import form_data

pytestmark = pytest.mark.django_db

CONFIRM = {"confirm": "yes"}


def test_staff_create_an_invoice_with_lines_and_see_it(account, staff_user):
    contact = contact_make(account, first_name="Aroha")
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    client = client_for(staff_user)
    response = client.post(
        reverse("invoices:new", args=[account.slug]),
        form_data(
            contact,
            {"description": "Call-out", "unit_price": "80", "tax_rate": gst.pk},
            {"description": "Washer", "quantity": "2", "unit_price": "2.50"},
            {"description": "", "quantity": "1", "unit_price": ""},  # an untouched added row
        ),
    )
    invoice = Invoice.objects.get(account=account)
    assert response["Location"] == reverse("invoices:detail", args=[account.slug, invoice.pk])
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (D(85), D(12), D(97))
    assert invoice.lines.count() == 2
    page = client.get(response["Location"]).content.decode()
    assert invoice.number in page and "Call-out" in page and "97.00" in page
    assert 'id="record-payment"' not in page  # a draft takes no payment yet


def test_form_errors_show_next_to_the_fields_and_keep_what_was_typed(account, staff_user):
    contact = contact_make(account)
    response = client_for(staff_user).post(
        reverse("invoices:new", args=[account.slug]),
        form_data(
            contact,
            {"description": "Copper pipe", "quantity": "three", "unit_price": "12.40"},
            {"description": "", "quantity": "1", "unit_price": "5"},
            due_date="2026-02-01",
        ),
    )
    assert response.status_code == 200
    formset = response.context["formset"]
    assert "quantity" in formset.forms[0].errors
    assert "description" in formset.forms[1].errors
    page = response.content.decode()
    assert "Copper pipe</textarea>" in page and 'value="12.40"' in page and 'value="three"' in page
    assert "Enter a number." in page
    assert not Invoice.objects.exists()


def test_a_service_refusal_lands_on_its_field(account, staff_user):
    response = client_for(staff_user).post(
        reverse("invoices:new", args=[account.slug]),
        form_data(None, {"description": "x", "unit_price": "1"}, due_date="2026-02-01"),
    )
    assert response.context["form"].errors["due_date"] == [
        "The due date cannot be before the issue date."
    ]
    assert "The due date cannot be before the issue date." in response.content.decode()


def test_lines_are_edited_removed_and_added_through_the_form(account, staff_user):
    invoice = invoice_make(
        account,
        lines=[
            LineInput(description="One", quantity=D(1), unit_price=D(10)),
            LineInput(description="Two", quantity=D(1), unit_price=D(20)),
        ],
    )
    one, two = invoice.lines.all()
    response = client_for(staff_user).post(
        reverse("invoices:edit", args=[account.slug, invoice.pk]),
        form_data(
            invoice.contact,
            {"id": one.pk, "description": "One, edited", "unit_price": "11"},
            {"id": two.pk, "description": "Two", "unit_price": "20", "DELETE": "on"},
            {"description": "Three", "unit_price": "3"},
        ),
    )
    assert response.status_code == 302
    assert list(invoice.lines.values_list("description", "line_amount")) == [
        ("One, edited", D(11)),
        ("Three", D(3)),
    ]
    assert invoice.lines.filter(pk=one.pk).exists()


def test_the_totals_preview_recomputes_what_is_typed(account, staff_user):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    response = client_for(staff_user).post(
        reverse("invoices:totals", args=[account.slug]),
        form_data(
            None,
            {"description": "a", "quantity": "2", "unit_price": "50", "tax_rate": gst.pk},
            {"description": "removed", "unit_price": "999", "DELETE": "on"},
            {"description": "half typed", "unit_price": "oops"},
            tax_mode="inclusive",
        ),
        HTTP_HX_REQUEST="true",
    )
    totals = response.context["totals"]
    assert (totals.subtotal, totals.total_tax, totals.total) == (D("86.96"), D("13.04"), D(100))


def test_another_accounts_contact_or_tax_rate_is_refused(account, other_account, staff_user):
    foreign_contact = contact_make(other_account)
    foreign_rate = tax_rate_make(other_account)
    response = client_for(staff_user).post(
        reverse("invoices:new", args=[account.slug]),
        form_data(
            foreign_contact, {"description": "x", "unit_price": "1", "tax_rate": foreign_rate.pk}
        ),
    )
    assert response.status_code == 200
    assert "contact" in response.context["form"].errors
    assert "tax_rate" in response.context["formset"].forms[0].errors
    assert not Invoice.objects.exists()


def test_another_accounts_invoice_and_payment_are_not_found(account, other_account, staff_user):
    theirs = invoice_make(other_account, issue=True)
    payment = payment_record(invoice=theirs, amount=D(1))
    client = client_for(staff_user)
    for name in ("detail", "edit"):
        assert (
            client.get(reverse(f"invoices:{name}", args=[account.slug, theirs.pk])).status_code
            == 404
        )
    for name in ("issue", "void", "payment_new"):
        url = reverse(f"invoices:{name}", args=[account.slug, theirs.pk])
        assert client.post(url, {"amount": "1", "date": "2026-03-01"}).status_code == 404
    url = reverse("invoices:payment_delete", args=[account.slug, payment.pk])
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == InvoiceStatus.PARTIALLY_PAID


def test_issue_record_payment_and_void_from_the_detail_page(account, staff_user):
    invoice = invoice_make(account)
    client = client_for(staff_user)
    detail = reverse("invoices:detail", args=[account.slug, invoice.pk])
    client.post(reverse("invoices:issue", args=[account.slug, invoice.pk]))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT
    response = client.post(
        reverse("invoices:payment_new", args=[account.slug, invoice.pk]),
        {"amount": "25.00", "date": "2026-03-05", "method": "card", "reference": "R1"},
    )
    assert response["Location"] == detail
    page = client.get(detail).content.decode()
    assert "Partially paid" in page and "75.00" in page and "R1" in page
    client.post(reverse("invoices:void", args=[account.slug, invoice.pk]), CONFIRM)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID  # refused: it has a payment


def test_voiding_with_payments_says_to_delete_them_first(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment = payment_record(invoice=invoice, amount=D(10))
    client = client_for(staff_user)
    void = reverse("invoices:void", args=[account.slug, invoice.pk])
    # The confirmation says so before anyone presses anything, and offers no button.
    asked = client.get(void).content.decode()
    assert "Delete its payments first" in asked and 'id="confirm-button"' not in asked
    response = client.post(void, CONFIRM, follow=True)
    assert "Delete its payments first" in response.content.decode()
    client.post(reverse("invoices:payment_delete", args=[account.slug, payment.pk]), CONFIRM)
    client.post(void, CONFIRM)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID


@pytest.mark.parametrize("method", ["get", "post"])
def test_void_and_delete_payment_ask_first_and_say_what_happens(account, staff_user, method):
    """One click (a link, or an old form's POST) only asks; nothing changes until confirmed.
    Without Xero, the page says what happens in the CRM and nothing about elsewhere."""
    invoice = invoice_make(account, issue=True)
    payment = payment_record(invoice=invoice, amount=D("10.00"), reference="Deposit")
    client = client_for(staff_user)
    detail = client.get(reverse("invoices:detail", args=[account.slug, invoice.pk]))
    delete = reverse("invoices:payment_delete", args=[account.slug, payment.pk])
    assert f'href="{delete}"' in detail.content.decode()

    asked = getattr(client, method)(delete)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f"Delete the payment of 10.00 NZD on {payment.date:%-d %b %Y} (reference Deposit)" in (
        page
    )
    assert f"{invoice.number} is then owed {invoice.amount_due + D(10)} NZD again." in page
    assert 'id="effects-here"' in page and 'id="effects-xero"' not in page
    assert invoice.payments.count() == 1

    client.post(delete, CONFIRM)
    assert invoice.payments.count() == 0
    void = reverse("invoices:void", args=[account.slug, invoice.pk])
    asked = getattr(client, method)(void).content.decode()
    assert f"Void invoice {invoice.number}" in asked and "This cannot be undone." in asked
    assert 'id="confirm-button"' in asked
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT
    client.post(void, CONFIRM)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID


def test_void_and_reissue_asks_first(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=D("10.00"))
    client = client_for(staff_user)
    url = reverse("invoices:reissue", args=[account.slug, invoice.pk])
    page = client.get(url).content.decode()
    assert "Its 1 payment (10.00 NZD) move to the copy" in page
    client.post(url)  # not confirmed
    assert Invoice.objects.filter(account=account).count() == 1
    response = client.post(url, CONFIRM)
    copy = Invoice.objects.exclude(pk=invoice.pk).get(account=account)
    assert response["Location"] == reverse("invoices:detail", args=[account.slug, copy.pk])
    assert copy.amount_paid == D("10.00")


def test_an_overpayment_shows_its_error_on_the_amount_field(account, staff_user):
    invoice = invoice_make(account, issue=True)
    response = client_for(staff_user).post(
        reverse("invoices:payment_new", args=[account.slug, invoice.pk]),
        {"amount": "100.01", "date": "2026-03-05", "method": "cash", "reference": "Till 2"},
    )
    assert response.status_code == 200
    errors = response.context["payment_form"].errors["amount"]
    assert errors == [
        "This is more than the amount due (100.00 NZD). A payment cannot exceed the amount due."
    ]
    assert 'value="Till 2"' in response.content.decode()
    assert not invoice.payments.exists()


def test_a_paid_invoice_sends_the_editor_back_with_a_message(account, staff_user):
    invoice = invoice_make(account, issue=True)
    payment_record(invoice=invoice, amount=invoice.total)
    response = client_for(staff_user).get(
        reverse("invoices:edit", args=[account.slug, invoice.pk]), follow=True
    )
    assert "paid; it can no longer be edited" in response.content.decode()


def test_the_list_filters_by_status_and_searches_number_title_and_contact(account, staff_user):
    draft = invoice_make(account, name="Hot water cylinder")
    sent = invoice_make(
        account, contact=contact_make(account, company_name="Wu Design"), issue=True
    )
    url = reverse("invoices:index", args=[account.slug])
    client = client_for(staff_user)

    def listed(**params):
        return [i.pk for i in client.get(url, params).context["page"]]

    assert listed(status="sent") == [sent.pk]
    assert listed(q="cylinder") == [draft.pk]
    assert listed(q="wu des") == [sent.pk]
    assert listed(q=sent.number) == [sent.pk]
    assert sorted(listed()) == sorted([draft.pk, sent.pk])


def test_the_list_query_count_does_not_grow_with_invoices(account, staff_user):
    client = client_for(staff_user)
    url = reverse("invoices:index", args=[account.slug])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    invoice_make(account, issue=True)
    client.get(url)  # the first visit remembers the account in the session
    few = queries()
    contact = contact_make(account)
    for n in range(49):
        invoice_make(account, contact=contact if n % 2 else contact_make(account))
    assert Invoice.objects.filter(account=account).count() == 50
    assert queries() == few


def test_the_form_page_offers_a_row_template_and_the_vendored_script(account, staff_user):
    new_invoice = reverse("invoices:new", args=[account.slug])
    page = client_for(staff_user).get(new_invoice).content.decode()
    assert 'id="line-template"' in page and "lines-__prefix__-description" in page
    assert "/static/js/invoice_lines.js" in page
    assert 'hx-post="' + reverse("invoices:totals", args=[account.slug]) in page
    assert '<label class="visually-hidden" for="id_lines-0-description">' in page


@pytest.mark.django_db
def test_a_forged_line_count_is_refused_without_building_its_forms(account, staff_user):
    from invoices.forms import MAX_LINES

    response = client_for(staff_user).post(
        reverse("invoices:new", args=[account.slug]),
        {"lines-TOTAL_FORMS": "99999999999999999999", "lines-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 200
    assert response.content.decode().count('name="lines-') <= (MAX_LINES + 2) * 8
    assert f"Please submit at most {MAX_LINES} forms." in response.content.decode()


@pytest.mark.django_db
def test_the_invoice_page_shows_its_history_with_who_and_where(account, staff_user):
    from invoices.history import changes_from

    client = client_for(staff_user)
    invoice = invoice_make(account, issue=True)
    response = client.post(
        reverse("invoices:payment_new", args=[account.slug, invoice.pk]),
        {"amount": "10.00", "date": "2026-11-20", "method": "cash", "reference": ""},
    )
    assert response.status_code == 302
    with changes_from("xero"):
        payment_record(invoice=invoice, amount=D("5.00"))
    rows = [
        (e.what, e.source, e.by)
        for e in reversed(
            client.get(reverse("invoices:detail", args=[account.slug, invoice.pk])).context[
                "history"
            ]
        )
    ]
    assert rows == [
        ("Created", "crm", None),
        ("Issued", "crm", None),
        (f"Payment of 10.00 {invoice.currency} recorded", "crm", staff_user),
        (f"Payment of 5.00 {invoice.currency} recorded", "xero", None),
    ]


def test_the_edit_form_and_page_show_amounts_as_typed_and_the_list_names_both_due_columns(
    account, staff_user
):
    invoice = invoice_make(
        account,
        lines=[
            LineInput(
                description="Cylinder",
                quantity=D("2.5"),
                unit_price=D("240"),
                discount_rate=D("12.5"),
            )
        ],
    )
    client = client_for(staff_user)
    form = client.get(reverse("invoices:edit", args=[account.slug, invoice.pk])).content.decode()
    assert 'value="240.00"' in form and 'value="2.5"' in form and 'value="12.5"' in form
    assert "240.0000" not in form and "2.5000" not in form
    page = client.get(reverse("invoices:detail", args=[account.slug, invoice.pk])).content.decode()
    assert ">240.00<" in page and ">2.5<" in page and ">12.5%<" in page
    listing = client.get(reverse("invoices:index", args=[account.slug])).content.decode()
    assert ">Due date</th>" in listing and ">Amount due</th>" in listing
    assert ">Due</th>" not in listing


def test_a_void_invoice_is_owed_nothing_on_its_page_and_in_the_list(account, staff_user):
    invoice = invoice_make(
        account,
        issue=True,
        lines=[LineInput(description="Gutters", quantity=D(1), unit_price=D("308.15"))],
    )
    client = client_for(staff_user)
    client.post(reverse("invoices:void", args=[account.slug, invoice.pk]), {"confirm": "yes"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID and invoice.amount_due == D("0.00")
    page = client.get(reverse("invoices:detail", args=[account.slug, invoice.pk])).content.decode()
    due_cell = re.search(r'id="amount-due">(.*?)</dd>', page, re.S)
    assert due_cell, page
    due = due_cell.group(1)
    assert "0.00 NZD" in due and "308.15" not in due
    listing = client.get(reverse("invoices:index", args=[account.slug])).content.decode()
    row_match = re.search(rf">{invoice.number}</a>.*?</tr>", listing, re.S)
    assert row_match, listing
    row = row_match.group(0)
    # The total stays on record; what is due is nothing.
    assert "308.15 NZD" in row and row.count("308.15") == 1


def test_the_number_can_be_edited_and_another_invoices_number_is_refused(account, staff_user):
    first = invoice_make(account)
    invoice = invoice_make(account)
    client = client_for(staff_user)
    edit = reverse("invoices:edit", args=[account.slug, invoice.pk])
    row = {"id": invoice.lines.get().pk, "description": "Call-out", "unit_price": "100"}
    refused = client.post(edit, form_data(invoice.contact, row, number=first.number.lower()))
    assert (
        f"Another invoice is already numbered {first.number.lower()}." in refused.content.decode()
    )
    assert client.post(edit, form_data(invoice.contact, row, number=" KP-17 ")).status_code == 302
    invoice.refresh_from_db()
    assert invoice.number == "KP-17"
    # Left empty, it stays as it is.
    assert client.post(edit, form_data(invoice.contact, row, number="")).status_code == 302
    invoice.refresh_from_db()
    assert invoice.number == "KP-17"


def _two_line_invoice(account):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    invoice = invoice_make(
        account,
        issue=True,
        lines=[
            LineInput(description="A", quantity=D(1), unit_price=D(100), tax_rate=gst),
            LineInput(description="B", quantity=D(1), unit_price=D(900), tax_rate=gst),
        ],
    )
    return invoice, gst


def test_a_repeated_line_id_is_refused_next_to_the_row_and_the_total_stays_its_lines(
    account, staff_user
):
    invoice, gst = _two_line_invoice(account)
    a = invoice.lines.get(description="A")
    data = form_data(
        invoice.contact,
        {"id": a.pk, "description": "A", "unit_price": "100", "tax_rate": gst.pk},
        {"id": a.pk, "description": "B", "unit_price": "900", "tax_rate": gst.pk},
    )
    url = reverse("invoices:edit", args=[account.slug, invoice.pk])
    response = client_for(staff_user).post(url, data)
    assert response.status_code == 200
    row = response.context["formset"].forms[1]
    assert row.errors["id"] == ["This row repeats line 1; remove one of them."]
    assert "This row repeats line 1" in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.total, invoice.lines.count()) == (D("1150.00"), 2)


def test_the_service_refuses_a_repeated_line_and_totals_come_from_the_stored_lines(account):
    invoice, gst = _two_line_invoice(account)
    a = invoice.lines.get(description="A")
    twice = [
        LineInput(id=a.pk, description="A", quantity=D(1), unit_price=D(100), tax_rate=gst),
        LineInput(id=a.pk, description="B", quantity=D(1), unit_price=D(900), tax_rate=gst),
    ]
    with pytest.raises(ValidationError, match="The same line appears twice"):
        invoice_update(invoice=invoice, lines=twice)
    invoice.refresh_from_db()
    stored = sum(line.line_amount + line.tax_amount for line in invoice.lines.all())
    assert invoice.total == stored == D("1150.00")


def test_a_row_naming_another_invoices_line_is_refused(account, other_account, staff_user):
    invoice, _ = _two_line_invoice(account)
    foreign = invoice_make(other_account).lines.get()
    data = form_data(invoice.contact, {"id": foreign.pk, "description": "X", "unit_price": "5"})
    url = reverse("invoices:edit", args=[account.slug, invoice.pk])
    response = client_for(staff_user).post(url, data)
    assert response.status_code == 200
    assert "This row names a line that is not on this invoice." in response.content.decode()


def test_amounts_past_what_the_columns_hold_are_refused_not_a_500(account, staff_user):
    """99,999,999.9999 x 9,999,999,999.9999 overflowed line_amount (14, 2): a 500."""
    client = client_for(staff_user)
    url = reverse("invoices:new", args=[account.slug])
    huge = {"description": "Big", "quantity": "99999999.9999", "unit_price": "9999999999.9999"}
    response = client.post(url, form_data(contact_make(account), huge))
    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["unit_price"] == [
        "Quantity × unit price is more than a line can hold (999,999,999,999.99)."
    ]
    # 101 lines that each fit add up to more than an invoice total holds.
    lines = [{"description": f"L{n}", "unit_price": "9999999999.99"} for n in range(101)]
    response = client.post(url, form_data(contact_make(account), *lines))
    assert response.status_code == 200
    assert "These lines add up to more than an invoice can hold" in response.content.decode()
    assert not Invoice.objects.exists()


def test_the_form_saves_its_200_line_maximum(account, staff_user, settings):
    """164 lines saved; 165 to 200 were a bare 400 (Django's 1,000-field limit)."""
    # Each row as the browser posts it: its hidden id and its tax select too.
    row = {"id": "", "unit_price": "1", "tax_rate": ""}
    lines = [row | {"description": f"Line {n}"} for n in range(MAX_LINES)]
    data = form_data(contact_make(account), *lines)
    assert len(data) + 1 <= settings.DATA_UPLOAD_MAX_NUMBER_FIELDS  # + the CSRF token
    response = client_for(staff_user).post(reverse("invoices:new", args=[account.slug]), data)
    assert response.status_code == 302
    invoice = Invoice.objects.get(account=account)
    assert (invoice.lines.count(), invoice.total) == (MAX_LINES, D(MAX_LINES))


def test_a_nul_in_the_search_is_refused_beside_the_box_not_a_500(account, staff_user):
    client = client_for(staff_user)
    for name in ("invoices:index", "contacts:index"):
        response = client.get(reverse(name, args=[account.slug]), {"q": "\x00"})
        assert response.status_code == 200
        assert "Null characters are not allowed." in response.content.decode()


def test_the_form_reads_the_tax_rates_once_whatever_the_number_of_lines(account, staff_user):
    """Every line's tax select is drawn from the one read of the account's rates (and the
    edit page's queries do not grow with the lines)."""
    rates = [tax_rate_make(account, f"Rate {n}") for n in range(3)]
    client = client_for(staff_user)

    def queries(lines: int) -> tuple[int, int, str]:
        invoice = invoice_make(
            account,
            lines=[
                LineInput(
                    description=f"Line {n}",
                    quantity=D(1),
                    unit_price=D(10),
                    tax_rate=rates[n % len(rates)],
                )
                for n in range(lines)
            ],
        )
        url = reverse("invoices:edit", args=[account.slug, invoice.pk])
        client.get(url)  # the first visit remembers the account in the session
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        assert page.status_code == 200
        rates_read = [q for q in captured if 'FROM "taxes_taxrate"' in q["sql"]]
        return len(captured), len(rates_read), page.content.decode()

    one, rates_for_one, _ = queries(1)
    many, rates_for_many, page = queries(20)
    assert rates_for_many == rates_for_one
    assert many == one
    # Every line still offers every rate, with its own chosen.
    for n in range(20):
        select = re.search(rf'<select name="lines-{n}-tax_rate".*?</select>', page, re.S)
        assert select, n
        assert all(f">Rate {k}" in select[0] for k in range(3))
        chosen = re.search(r'<option value="(\d+)" selected>', select[0])
        assert chosen and int(chosen[1]) == rates[n % 3].pk, n
