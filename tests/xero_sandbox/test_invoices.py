"""Invoices through the real SDK: batches with and without summarizeErrors, Xero's tax
arithmetic, numbering and status rules."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, Invoice, Invoices, LineAmountTypes, LineItem
from xero_python.exceptions import AccountingBadRequestException

from tests.xero_sandbox.conftest import api, invoice_body, line


@pytest.fixture
def client(xero_sandbox):
    return xero_sandbox.sdk()


@pytest.fixture
def contact_id(client, xero_sandbox):
    return xero_sandbox.contacts(client.tenant_id)[0]["ContactID"]


def sdk_invoice(
    contact_id, *lines, number=None, status="AUTHORISED", types=LineAmountTypes.EXCLUSIVE
):
    kwargs = {"invoice_number": number} if number else {}
    return Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 31),
        line_amount_types=types,
        status=status,
        line_items=list(lines) or [sdk_line()],
        **kwargs,
    )


def sdk_line(unit="100.00", quantity="1", tax="OUTPUT2", account="200", **extra):
    return LineItem(
        description="Work",
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit),
        account_code=account,
        tax_type=tax,
        **extra,
    )


def test_batch_with_summarize_errors_false_reports_each_element(client, contact_id, xero_sandbox):
    result = client.accounting.create_invoices(
        client.tenant_id,
        Invoices(
            invoices=[
                sdk_invoice(contact_id, number="CRM-1"),
                sdk_invoice(contact_id, number="CRM-1"),
            ]
        ),
        summarize_errors=False,
    ).invoices
    assert [i.status_attribute_string for i in result] == ["OK", "ERROR"]
    assert result[1].has_errors and [e.message for e in result[1].validation_errors] == [
        "Invoice # must be unique."
    ]
    assert result[0].invoice_id and result[0].total == Decimal("115.00")


def test_batch_without_summarize_errors_is_400_but_valid_elements_are_created(
    client, contact_id, xero_sandbox
):
    bad = sdk_invoice(contact_id, sdk_line(account="999"), number="CRM-BAD")
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.create_invoices(
            client.tenant_id, Invoices(invoices=[sdk_invoice(contact_id, number="CRM-GOOD"), bad])
        )
    assert error.value.status == 400
    assert error.value.error_data["Type"] == "ValidationException"
    assert error.value.reason == "Account code '999' is not a valid code for this document."
    numbers = [i["InvoiceNumber"] for i in xero_sandbox.invoices(client.tenant_id)]
    assert numbers == ["CRM-GOOD"]


def test_unknown_tax_type_and_purchase_only_tax_type_are_rejected(client, contact_id):
    result = client.accounting.create_invoices(
        client.tenant_id,
        Invoices(
            invoices=[
                sdk_invoice(contact_id, sdk_line(tax="XYZ")),
                sdk_invoice(contact_id, sdk_line(tax="INPUT2")),
            ]
        ),
        summarize_errors=False,
    ).invoices
    assert [i.validation_errors[0].message for i in result] == [
        "The TaxType code 'XYZ' does not exist or cannot be used for this type of transaction.",
        "The TaxType code 'INPUT2' does not exist or cannot be used for this type of transaction.",
    ]


def test_tax_is_rounded_per_line_then_summed(http, xero_sandbox, contact_id):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    cases = [
        (
            "Exclusive",
            [line(unit="0.10"), line(unit="0.10")],
            ("0.20", "0.04", "0.24"),
        ),  # 0.015 -> 0.02 each
        ("Inclusive", [line(unit="10.00")], ("8.70", "1.30", "10.00")),
        ("NoTax", [line(unit="10.00")], ("10.00", "0.00", "10.00")),
        (
            "Exclusive",
            [line(quantity="3", unit="9.99", DiscountRate="10")],
            ("26.97", "4.05", "31.02"),
        ),
        ("Exclusive", [line(unit="100.00", tax="TAX002")], ("100.00", "17.30", "117.30")),
    ]
    for amount_types, lines, (sub, tax, total) in cases:
        answer = api(
            http,
            xero_sandbox,
            "PUT",
            "/Invoices",
            token,
            tenant,
            body={"Invoices": [invoice_body(contact_id, *lines, amount_types=amount_types)]},
        )
        invoice = json.loads(answer.data, parse_float=Decimal)["Invoices"][0]
        assert (str(invoice["SubTotal"]), str(invoice["TotalTax"]), str(invoice["Total"])) == (
            sub,
            tax,
            total,
        ), amount_types
        assert invoice["AmountDue"] == invoice["Total"]
    raw = api(http, xero_sandbox, "GET", "/Invoices", token, tenant, page="1").data.decode()
    assert '"TotalTax":0.04,' in raw  # money goes out as numbers with 2 dp


def test_unitdp_4_keeps_four_decimals(http, xero_sandbox, contact_id):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    body = {"Invoices": [invoice_body(contact_id, line(quantity="1.2345", unit="10.12345"))]}
    four = json.loads(
        api(http, xero_sandbox, "PUT", "/Invoices", token, tenant, body=body, unitdp="4").data,
        parse_float=Decimal,
    )
    assert str(four["Invoices"][0]["LineItems"][0]["UnitAmount"]) == "10.1235"
    two = json.loads(
        api(http, xero_sandbox, "PUT", "/Invoices", token, tenant, body=body).data,
        parse_float=Decimal,
    )
    assert str(two["Invoices"][0]["LineItems"][0]["UnitAmount"]) == "10.12"


def test_status_rules_draft_edit_authorised_void_deleted_frozen(client, contact_id, xero_sandbox):
    tenant = client.tenant_id
    draft = client.accounting.create_invoices(
        tenant, Invoices(invoices=[sdk_invoice(contact_id, status="DRAFT")])
    ).invoices[0]
    edited = client.accounting.update_invoice(
        tenant,
        draft.invoice_id,
        Invoices(invoices=[Invoice(reference="Edited", line_items=[sdk_line(unit="50")])]),
    ).invoices[0]
    assert (
        edited.reference == "Edited"
        and edited.total == Decimal("57.50")
        and edited.status == "DRAFT"
    )
    approved = client.accounting.update_invoice(
        tenant, draft.invoice_id, Invoices(invoices=[Invoice(status="AUTHORISED")])
    ).invoices[0]
    assert approved.status == "AUTHORISED" and approved.invoice_number.startswith("INV-")
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.update_invoice(
            tenant, draft.invoice_id, Invoices(invoices=[Invoice(status="DELETED")])
        )
    assert error.value.reason == "Invoice not of valid status for modification"
    voided = client.accounting.update_invoice(
        tenant, draft.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices[0]
    assert voided.status == "VOIDED"
    with pytest.raises(AccountingBadRequestException):
        client.accounting.update_invoice(
            tenant, draft.invoice_id, Invoices(invoices=[Invoice(reference="x")])
        )


def test_authorised_edit_can_be_forbidden_by_configuration(client, contact_id, xero_sandbox):
    xero_sandbox.configure(edit_authorised_invoices=False)
    invoice = client.accounting.create_invoices(
        client.tenant_id, Invoices(invoices=[sdk_invoice(contact_id)])
    ).invoices[0]
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.update_invoice(
            client.tenant_id, invoice.invoice_id, Invoices(invoices=[Invoice(reference="x")])
        )
    assert error.value.reason == "Invoice not of valid status for modification"


def test_post_upserts_by_invoice_id_and_not_by_number_unless_configured(
    client, contact_id, xero_sandbox
):
    tenant = client.tenant_id
    first = client.accounting.update_or_create_invoices(
        tenant, Invoices(invoices=[sdk_invoice(contact_id, number="CRM-7")])
    ).invoices[0]
    same = client.accounting.update_or_create_invoices(
        tenant, Invoices(invoices=[Invoice(invoice_id=first.invoice_id, reference="R")])
    ).invoices[0]
    assert same.invoice_id == first.invoice_id and same.reference == "R"
    dup = client.accounting.update_or_create_invoices(
        tenant, Invoices(invoices=[sdk_invoice(contact_id, number="CRM-7")]), summarize_errors=False
    ).invoices[0]
    assert dup.validation_errors[0].message == "Invoice # must be unique."
    xero_sandbox.configure(post_matches_invoice_number=True)
    matched = client.accounting.update_or_create_invoices(
        tenant, Invoices(invoices=[sdk_invoice(contact_id, number="CRM-7")])
    ).invoices[0]
    assert matched.invoice_id == first.invoice_id


def test_get_invoices_filters(client, contact_id, xero_sandbox):
    tenant = client.tenant_id
    other = xero_sandbox.contacts(tenant)[1]["ContactID"]
    made = client.accounting.create_invoices(
        tenant,
        Invoices(
            invoices=[
                sdk_invoice(contact_id, number="F-1"),
                sdk_invoice(contact_id, number="F-2", status="DRAFT"),
                sdk_invoice(other, number="F-3"),
            ]
        ),
    ).invoices
    ids = [i.invoice_id for i in made]
    get = client.accounting.get_invoices
    assert {i.invoice_number for i in get(tenant, statuses=["DRAFT"], page=1).invoices} == {"F-2"}
    assert {i.invoice_number for i in get(tenant, contact_i_ds=[other], page=1).invoices} == {"F-3"}
    assert {i.invoice_number for i in get(tenant, i_ds=ids[:2]).invoices} == {"F-1", "F-2"}
    assert {i.invoice_number for i in get(tenant, invoice_numbers=["F-3"]).invoices} == {"F-3"}
    one = client.accounting.get_invoice(tenant, ids[0]).invoices[0]
    assert one.line_items[0].line_item_id and one.date == dt.date(2026, 3, 1)
    since = dt.datetime.fromtimestamp(xero_sandbox.clock()["epoch"], dt.UTC)
    xero_sandbox.advance(seconds=5)
    client.accounting.update_invoice(tenant, ids[1], Invoices(invoices=[Invoice(reference="late")]))
    assert [i.invoice_id for i in get(tenant, if_modified_since=since, page=1).invoices] == [ids[1]]
    paged = get(tenant, page=1, page_size=2)
    assert paged.pagination.item_count == 3 and len(paged.invoices) == 2


def test_an_automatic_invoice_number_skips_one_a_client_chose(http, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    contact = xero_sandbox.contacts(tenant)[0]["ContactID"]
    chosen = {"Invoices": [invoice_body(contact, number="INV-0001")]}
    api(http, xero_sandbox, "PUT", "/Invoices", token, tenant, body=chosen)
    auto = {"Invoices": [invoice_body(contact)]}
    made = json.loads(api(http, xero_sandbox, "PUT", "/Invoices", token, tenant, body=auto).data)
    assert made["Invoices"][0]["InvoiceNumber"] == "INV-0002"
