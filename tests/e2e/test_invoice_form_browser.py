"""Staff write an invoice in headless Chromium: line rows are added and removed in place, the
totals follow without a page reload, a bad value comes back next to its field with nothing lost."""

from decimal import Decimal as D

import pytest

from invoices.models import Invoice

from ..browser import log_in, pick_contact, screenshot
from ..factories import account_create, contact_make, tax_rate_make, user_create

pytestmark = pytest.mark.slow


def test_lines_added_and_removed_in_place_with_live_totals(page, live_server, transactional_db):
    account = account_create(name="Kiwi Plumbing")
    contact = contact_make(account, first_name="Aroha", last_name="Ngata")
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    log_in(page, live_server.url, user_create(account=account))
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/new/")
    page.evaluate("window.notReloaded = true")

    pick_contact(page, "ngata", contact)
    page.fill("#id_due_date", "2030-01-31")
    page.fill("#id_lines-0-description", "Call-out")
    page.fill("#id_lines-0-unit_price", "100")
    page.select_option("#id_lines-0-tax_rate", str(gst.pk))
    page.wait_for_selector("#total strong:text-is('115.00')")

    page.click("[data-line-add]")
    page.fill("#id_lines-1-description", "Washers")
    page.fill("#id_lines-1-quantity", "2")
    page.fill("#id_lines-1-unit_price", "5")
    page.wait_for_selector("#total strong:text-is('125.00')")

    page.click("[data-line-add]")
    page.fill("#id_lines-2-description", "Mistake")
    page.fill("#id_lines-2-unit_price", "1000")
    page.wait_for_selector("#total strong:text-is('1125.00')")
    page.locator("#lines tbody tr").nth(2).locator("[data-line-remove]").click()
    page.wait_for_selector("#total strong:text-is('125.00')")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "invoice-01-form")

    page.fill("#id_lines-1-discount_rate", "150")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=Ensure this value is less than or equal to 100.")
    assert page.input_value("#id_lines-0-description") == "Call-out"
    assert page.input_value("#id_lines-1-discount_rate") == "150"
    assert page.locator("#lines tbody tr").nth(2).is_hidden()

    page.fill("#id_lines-1-discount_rate", "0")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#invoice-status")
    invoice = Invoice.objects.get(account=account)
    assert (invoice.total, invoice.lines.count()) == (D("125.00"), 2)
    screenshot(page, "invoice-02-detail")
