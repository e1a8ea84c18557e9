"""Products: the account's price list. Staff list, add and edit them (codes unique in the
account, whatever their case); an invoice line may start from one (the form fills its
description, price and tax rate, which staff may still change) or stay free text; another
account's product is never a choice."""

import re
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.models import EventSource, Invoice, Product
from invoices.services import LineInput, invoice_create, product_create
from taxes.models import TaxRate

from ..factories import client_for, contact_make, invoice_make, product_make, tax_rate_make
from ..support.invoices import form_data

pytestmark = pytest.mark.django_db


def test_staff_add_list_and_edit_products(account, staff_user):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    client = client_for(staff_user)
    response = client.post(
        reverse("invoices:product_new", args=[account.slug]),
        {
            "code": " GAS-CERT ",
            "name": "",
            "description": "Gas safety certificate",
            "unit_price": "120.5",
            "tax_rate": gst.pk,
            "sales_account_code": "",
        },
    )
    assert response["Location"] == reverse("invoices:products", args=[account.slug])
    product = Product.objects.get(account=account)
    assert (product.code, product.name, product.unit_price, product.tax_rate) == (
        "GAS-CERT",
        "GAS-CERT",  # its code when no name is given
        D("120.5"),
        gst,
    )
    assert product.made_in == EventSource.CRM
    page = client.get(response["Location"]).content.decode()
    assert "GAS-CERT" in page and "120.50" in page and "GST" in page
    edit = reverse("invoices:product_edit", args=[account.slug, product.pk])
    # A rate no longer active stays the product's own until changed.
    TaxRate.objects.filter(pk=gst.pk).update(is_active=False)
    assert re.search(rf'<option value="{gst.pk}" selected>', client.get(edit).content.decode())
    client.post(
        edit,
        {"code": "GAS-CERT", "name": "Gas cert", "unit_price": "130", "sales_account_code": "260"},
    )
    product.refresh_from_db()
    assert (product.name, product.unit_price, product.tax_rate, product.sales_account_code) == (
        "Gas cert",
        D(130),
        None,
        "260",
    )


def test_a_code_is_unique_in_the_account_whatever_its_case_and_prices_are_not_negative(
    account, other_account, staff_user
):
    product_make(account, code="VALVE-15")
    product_make(other_account, code="VALVE-15")  # another account's: no clash
    response = client_for(staff_user).post(
        reverse("invoices:product_new", args=[account.slug]),
        {"code": "valve-15", "unit_price": "-1"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Ensure this value is greater than or equal to 0." in errors["unit_price"]
    response = client_for(staff_user).post(
        reverse("invoices:product_new", args=[account.slug]),
        {"code": "valve-15", "unit_price": "1"},
    )
    assert response.context["form"].errors["code"] == [
        "Another product already has the code valve-15."
    ]
    assert Product.objects.filter(account=account).count() == 1
    with pytest.raises(ValidationError):
        product_create(account=account, code="Valve-15", name="x")


def test_another_accounts_product_is_not_found_nor_a_choice(account, other_account, staff_user):
    theirs = product_make(other_account, code="THEIRS")
    client = client_for(staff_user)
    edit = reverse("invoices:product_edit", args=[account.slug, theirs.pk])
    assert client.get(edit).status_code == 404
    assert (
        "THEIRS"
        not in client.get(reverse("invoices:products", args=[account.slug])).content.decode()
    )
    contact = contact_make(account)
    response = client.post(
        reverse("invoices:new", args=[account.slug]),
        form_data(contact, {"description": "X", "unit_price": "1", "product": theirs.pk}),
    )
    assert response.status_code == 200 and not Invoice.objects.filter(account=account).exists()
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError, match="choose a product of this account"):
        invoice_create(
            account=account,
            lines=[LineInput("X", D(1), D(1), product=theirs)],
        )


def test_a_line_may_use_a_product_or_stay_free_text_and_the_form_carries_its_fill_ins(
    account, staff_user
):
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    product = product_make(
        account,
        code="LAB-HR",
        name="Labour",
        description="Labour, per hour",
        unit_price=D(95),
        tax_rate=gst,
    )
    client = client_for(staff_user)
    page = client.get(reverse("invoices:new", args=[account.slug])).content.decode()
    found = re.search(rf'<option value="{product.pk}"[^>]*>', page)
    assert found is not None
    option = found.group(0)
    assert 'data-description="Labour, per hour"' in option
    assert 'data-unit-price="95.00"' in option and f'data-tax-rate="{gst.pk}"' in option
    assert '<option value="" selected>Free text</option>' in page
    contact = contact_make(account)
    client.post(
        reverse("invoices:new", args=[account.slug]),
        form_data(
            contact,
            # Staff changed the price the product filled in.
            {
                "description": "Labour, Sunday",
                "unit_price": "120",
                "tax_rate": gst.pk,
                "product": product.pk,
                "quantity": "2",
            },
            {"description": "Parking", "unit_price": "8"},
        ),
    )
    invoice = Invoice.objects.get(account=account)
    first, second = invoice.lines.order_by("position")
    assert (first.product, first.unit_price, first.description) == (
        product,
        D(120),
        "Labour, Sunday",
    )
    assert second.product is None
    assert invoice.total == D("284.00")
    # The edit form shows the line's product chosen.
    edit = client.get(reverse("invoices:edit", args=[account.slug, invoice.pk])).content.decode()
    assert re.search(rf'<option value="{product.pk}"[^>]*selected', edit)


def test_the_edit_form_reads_the_products_once_however_many_lines(account, staff_user):
    """Each line's product select is filled from one read of the price list."""
    client = client_for(staff_user)
    products = [product_make(account, code=f"P{n}") for n in range(3)]

    def queries(lines: int) -> int:
        invoice = invoice_make(
            account,
            lines=[LineInput("X", D(1), D(1), product=products[n % 3]) for n in range(lines)],
        )
        url = reverse("invoices:edit", args=[account.slug, invoice.pk])
        client.get(url)  # the first visit remembers the account in the session
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        assert page.count('data-description="Part"') == 3 * (lines + 1)  # rows and template
        # (The tax rate select still reads its rates once per row: not this test's business.)
        return sum('FROM "invoices_product"' in q["sql"] for q in captured.captured_queries)

    assert queries(1) == queries(6) == 1
