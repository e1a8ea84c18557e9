"""The endpoints a sales invoice draws on (Currencies, Items, TrackingCategories, BrandingThemes)
and the invoice's own link and email, driven by the real SDK and checked both ways against the
official spec from the sandbox's request log, as test_contract_endpoints does for the rest."""

import datetime as dt
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Allocations,
    CreditNotes,
    Currency,
    CurrencyCode,
    Invoices,
    Item,
    Items,
    LineItem,
    LineItemTracking,
    Purchase,
    RequestEmpty,
)

from tests.support.exchanges import (
    API,
    Exchanges,
    make_invoice,
    raises,
    sdk_invoice,
)
from tests.xero_sandbox.conftest import api, sdk_allocation, sdk_credit_note, sdk_refund
from xero_sandbox import contract


@pytest.fixture
def log(xero_sandbox, client):
    return Exchanges(xero_sandbox)


@pytest.fixture
def contact_id(xero_sandbox, tenant):
    contacts = xero_sandbox.contacts(tenant)
    return next(
        c["ContactID"] for c in contacts if c.get("EmailAddress") and c["ContactStatus"] == "ACTIVE"
    )


def test_currencies_list_filter_add_and_refusal_match_the_spec(client, tenant, log):
    assert [c.code.value for c in client.accounting.get_currencies(tenant).currencies] == [
        "NZD",
        "AUD",
        "USD",
    ]
    client.accounting.get_currencies(tenant, where='Code=="USD"', order="Code ASC")
    added = client.accounting.create_currency(tenant, Currency(code=CurrencyCode.EUR))
    assert added.currencies[0].description == "Euro"
    log.validated(
        [
            ("GET", f"{API}/Currencies", 200),
            ("GET", f"{API}/Currencies", 200),
            ("PUT", f"{API}/Currencies", 200),
        ]
    )


def test_refused_currency_gives_a_spec_shaped_400(xero_sandbox, tenant, http):
    token = xero_sandbox.token_for(tenant)
    answer = api(http, xero_sandbox, "PUT", "/Currencies", token, tenant, body={"Code": "ZZZ"})
    assert answer.status == 400
    row = xero_sandbox.requests(path=f"{API}/Currencies", responses=True)[-1]
    # The request breaks the spec (ZZZ is not a CurrencyCode); the answer must not.
    contract.validate_response(
        "PUT", row["path"], 400, row["response_headers"], row["response_body"].encode()
    )


def test_items_reads_writes_and_refusals_match_the_spec(client, tenant, log):
    items = client.accounting.get_items(tenant).items
    client.accounting.get_items(tenant, where="IsSold==true", order="Code ASC", unitdp=4)
    client.accounting.get_items(tenant, if_modified_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client.accounting.get_item(tenant, items[0].item_id)
    made = client.accounting.create_items(
        tenant,
        Items(
            items=[
                Item(
                    code="CT-ITEM",
                    name="Contract item",
                    description="Sold by the hour",
                    sales_details=Purchase(
                        unit_price=Decimal("12.5"), account_code="200", tax_type="OUTPUT2"
                    ),
                )
            ]
        ),
    ).items[0]
    client.accounting.update_or_create_items(
        tenant, Items(items=[Item(code="CT-ITEM", name="Renamed")])
    )
    client.accounting.update_item(
        tenant, made.item_id, Items(items=[Item(code="CT-ITEM", description="Per hour")])
    )
    mixed = client.accounting.create_items(
        tenant,
        Items(items=[Item(code="CT-ITEM"), Item(code="CT-OTHER")]),
        summarize_errors=False,
    ).items
    assert [i.status_attribute_string for i in mixed] == ["ERROR", "OK"]
    assert raises(client.accounting.create_items, tenant, Items(items=[Item(code="CT-ITEM")]))
    log.validated(
        [
            ("GET", f"{API}/Items", 200),
            ("GET", f"{API}/Items", 200),
            ("GET", f"{API}/Items", 200),
            ("GET", f"{API}/Items/*", 200),
            ("PUT", f"{API}/Items", 200),
            ("POST", f"{API}/Items", 200),
            ("POST", f"{API}/Items/*", 200),
            ("PUT", f"{API}/Items", 200),
            ("PUT", f"{API}/Items", 400),
        ]
    )


def test_tracking_categories_and_branding_themes_match_the_spec(client, tenant, log):
    categories = client.accounting.get_tracking_categories(tenant).tracking_categories
    client.accounting.get_tracking_categories(tenant, include_archived=True)
    client.accounting.get_tracking_categories(tenant, where='Status=="ACTIVE"', order="Name")
    client.accounting.get_tracking_category(tenant, categories[0].tracking_category_id)
    themes = client.accounting.get_branding_themes(tenant).branding_themes
    client.accounting.get_branding_theme(tenant, themes[0].branding_theme_id)
    log.validated(
        [
            ("GET", f"{API}/TrackingCategories", 200),
            ("GET", f"{API}/TrackingCategories", 200),
            ("GET", f"{API}/TrackingCategories", 200),
            ("GET", f"{API}/TrackingCategories/*", 200),
            ("GET", f"{API}/BrandingThemes", 200),
            ("GET", f"{API}/BrandingThemes/*", 200),
        ]
    )


def test_an_invoice_with_item_tracking_theme_and_currency_matches_the_spec(
    client, tenant, contact_id, log
):
    region = next(
        c
        for c in client.accounting.get_tracking_categories(tenant).tracking_categories
        if c.name == "Region"
    )
    theme = client.accounting.get_branding_themes(tenant).branding_themes[-1]
    invoice = sdk_invoice(
        contact_id,
        "CT-RICH",
        lines=[
            LineItem(
                item_code="LAB-HR",
                quantity=Decimal(2),
                tracking=[LineItemTracking(name="Region", option=region.options[0].name)],
            )
        ],
    )
    invoice.currency_code = CurrencyCode.USD
    invoice.branding_theme_id = theme.branding_theme_id
    made = client.accounting.create_invoices(tenant, Invoices(invoices=[invoice])).invoices[0]
    assert made.line_items[0].item.code == "LAB-HR" and made.currency_rate == Decimal("0.6")
    client.accounting.get_invoice(tenant, made.invoice_id)
    log.validated([("PUT", f"{API}/Invoices", 200), ("GET", f"{API}/Invoices/*", 200)])


def test_a_credit_note_in_currency_with_item_and_tracking_its_allocation_and_refund_match_the_spec(
    client, tenant, contact_id, log
):
    theme = client.accounting.get_branding_themes(tenant).branding_themes[-1]
    invoice = sdk_invoice(contact_id, "CT-USD")
    invoice.currency_code = CurrencyCode.USD
    invoice = client.accounting.create_invoices(tenant, Invoices(invoices=[invoice])).invoices[0]
    note = sdk_credit_note(contact_id, currency_code=CurrencyCode.USD)
    note.branding_theme_id = theme.branding_theme_id
    note.line_items = [
        LineItem(
            item_code="CALLOUT",
            tracking=[LineItemTracking(name="Department", option="Commercial")],
        )
    ]
    made = client.accounting.create_credit_notes(
        tenant, CreditNotes(credit_notes=[note])
    ).credit_notes[0]
    assert made.line_items[0].item.code == "CALLOUT" and made.currency_rate == Decimal("0.6")
    allocations = client.accounting.create_credit_note_allocation(
        tenant,
        made.credit_note_id,
        Allocations(
            allocations=[
                sdk_allocation(invoice.invoice_id, "20.00"),
                sdk_allocation(invoice.invoice_id, "0.005"),  # finer than USD's cents
            ]
        ),
        summarize_errors=False,
    ).allocations
    assert [a.status_attribute_string for a in allocations] == ["OK", "ERROR"]
    refund = client.accounting.create_payment(tenant, sdk_refund(made.credit_note_id, "6.00"))
    assert refund.payments[0].bank_amount == Decimal("10.00")  # 6 USD at 0.60 from NZD 090
    client.accounting.get_credit_note(tenant, made.credit_note_id)
    log.validated(
        [
            ("PUT", f"{API}/CreditNotes", 200),
            ("PUT", f"{API}/CreditNotes/*/Allocations", 200),
            ("POST", f"{API}/Payments", 200),
            ("GET", f"{API}/CreditNotes/*", 200),
        ]
    )


def test_online_invoice_and_email_match_the_spec(client, tenant, contact_id, log):
    draft = make_invoice(client, contact_id, "CT-DRAFT", status="DRAFT")
    approved = make_invoice(client, contact_id, "CT-SENT")
    log.mark()
    url = client.accounting.get_online_invoice(tenant, approved.invoice_id)
    assert url.online_invoices[0].online_invoice_url
    assert raises(client.accounting.get_online_invoice, tenant, draft.invoice_id).status == 400
    client.accounting.email_invoice(tenant, approved.invoice_id, RequestEmpty())
    assert (
        raises(client.accounting.email_invoice, tenant, draft.invoice_id, RequestEmpty()).status
        == 400
    )
    missing = "00000000-0000-0000-0000-000000000001"
    assert raises(client.accounting.get_online_invoice, tenant, missing).status == 404
    log.validated(
        [
            ("GET", f"{API}/Invoices/*/OnlineInvoice", 200),
            ("GET", f"{API}/Invoices/*/OnlineInvoice", 400),
            ("POST", f"{API}/Invoices/*/Email", 204),
            ("POST", f"{API}/Invoices/*/Email", 400),
            ("GET", f"{API}/Invoices/*/OnlineInvoice", 404),
        ]
    )
