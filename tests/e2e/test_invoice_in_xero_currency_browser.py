"""A USD invoice in an NZD organisation, written in headless Chromium: the form offers Xero's
currencies; its line is a product (made on the product pages, its item created in Xero just in
time), with the invoice's own tracking option and branding theme; a real worker sends it, the
sandbox holds the same totals, currency, item code, tracking and theme; the page shows Xero's
exchange rate and the online link (copied with one click), and "Email from Xero" is recorded by
Xero and in the history. The product pages and the form with a product line are looked at in
1280 and 390 px (test-artifacts/pages-items-*.png)."""

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from invoices.models import Invoice, Product
from platform_crm.models import Role
from xero_sync.models import InvoiceSync, OrganisationSettings, XeroItem
from xero_sync.taxes import services as tax_services

from ..browser import log_in, pick_contact, screenshots
from ..factories import account_create, contact_make, tax_rate_make, user_create
from ..support.invoices import due_in
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import connect
from .test_first_hour_pages_browser import look

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_usd_invoice_with_an_item_tracking_and_theme_reaches_xero_with_its_rate_link_and_email(
    page, live_server, settings, xero_sandbox, celery_worker
):
    xero = xero_sandbox
    point_at_sandbox(settings, xero)
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    connection = connect(xero, account, admin)
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    xero.set_rate(connection.tenant_id, "USD", "0.600000")
    # A name Xero's seeded org does not have ("Aroha Ngata" there would hold the invoice for a
    # same-contact decision: no link by name alone).
    contact = contact_make(account, first_name="Mihi", last_name="Tawhiri", email="mihi@x.example")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, live_server.url, admin)

    base = f"{live_server.url}/a/{account.slug}"

    # A product, made on the product pages; the items made in Xero come in beside it.
    page.goto(f"{base}/invoices/products/")
    page.click("#new-product")
    page.fill("#id_code", "GAS-CERT")
    page.fill("#id_name", "Gas certificate")
    page.fill("#id_description", "Gas safety certificate")
    page.fill("#id_unit_price", "100")
    page.select_option("#id_tax_rate", str(gst.pk))
    look(page, "items-product-form")
    page.click("#save-product")
    page.click("#xero-items-refresh")
    expect(page.locator("text=Items from Xero: 3 new products")).to_be_visible()
    expect(page.locator("#products")).to_contain_text("Gas certificate")
    look(page, "items-products")
    product = Product.objects.get(account=account, code="GAS-CERT")

    page.goto(f"{base}/invoices/new/")
    options = page.locator("#id_currency option").all_inner_texts()
    assert options == ["NZD", "AUD", "USD"]
    pick_contact(page, "tawhiri", contact)
    page.select_option("#id_currency", "USD")
    page.fill("#id_due_date", due_in(20).isoformat())
    # Picking the product fills the line: description, price and tax rate.
    page.select_option("#id_lines-0-product", str(product.pk))
    expect(page.locator("#id_lines-0-description")).to_have_value("Gas safety certificate")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("100.00")
    expect(page.locator("#id_lines-0-tax_rate")).to_have_value(str(gst.pk))
    page.wait_for_selector("#total strong:text-is('115.00')")
    look(page, "items-invoice-form")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#invoice-status")
    # The invoice's own branding theme and tracking, then it is issued.
    page.click("#xero-own-options")
    page.select_option("#branding_theme", label="Special projects")
    page.check("#own_tracking")
    page.locator("fieldset:has(#own_tracking) select").first.select_option(label="North")
    page.click("#save-invoice-own-options")
    page.wait_for_selector("#invoice-status")
    page.click("form[action$='/issue/'] button")

    invoice = Invoice.objects.get(account=account)
    expect(page.locator("#sync-state")).to_have_text("In Xero", timeout=20_000)
    expect(page.locator("#xero-rate")).to_have_text("Xero's exchange rate: 1 NZD = 0.600000 USD")
    page.click("#xero-online-link-get")
    link = page.input_value("#xero-online-link")
    assert link.startswith(f"{xero.url}/in/")
    page.click("#xero-online-link-copy")
    expect(page.locator("#xero-online-link-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link

    sync = InvoiceSync.objects.get(invoice=invoice)
    (ours,) = [
        i for i in xero.invoices(connection.tenant_id) if i["InvoiceID"] == sync.xero_invoice_id
    ]
    assert (ours["CurrencyCode"], D(str(ours["Total"]))) == ("USD", D("115.00"))
    stored = OrganisationSettings.objects.get(connection=connection)
    theme = next(t["id"] for t in stored.branding_themes if t["name"] == "Special projects")
    assert ours["BrandingThemeID"] == theme
    (line,) = ours["LineItems"]
    assert (line["ItemCode"], line["Description"]) == ("GAS-CERT", "Gas safety certificate")
    assert [(t["Name"], t["Option"]) for t in line["Tracking"]] == [("Region", "North")]
    item = XeroItem.objects.get(connection=connection, product=product)
    assert line["Item"]["ItemID"] == item.xero_item_id
    invoice.refresh_from_db()
    assert invoice.total == D("115.00")

    page.click("#xero-email")
    expect(page.locator("#xero-email-state")).to_have_text("Emailed by Xero", timeout=20_000)
    (email,) = xero.invoice_emails(connection.tenant_id)
    assert email["InvoiceID"] == sync.xero_invoice_id
    page.reload()
    expect(page.locator("text=Emailed to the contact by Xero")).to_be_visible()
    screenshots(page, "invoice-in-xero-usd")
