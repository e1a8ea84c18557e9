"""Pages that could confuse or mislead in a new account's first hour, clicked through in headless
Chromium against the Xero sandbox with a real worker, each page looked at 1280 and 390 px wide
(screenshots in test-artifacts/pages-*.png): at 390 the page never scrolls sideways and the whole
menu is on screen, and no page asks for anything that is not there (the favicon included).

Staff: the contact picker tells namesakes apart; the invoice page follows the push to Xero
without a reload; prices read as typed; Void and Delete payment ask first and say what happens
in Xero; a fix only an admin can make names the admins. Admins: Settings → Taxes shows the
mapping, one form maps every rate, a finished preview is at 100%, Sync activity reads in plain
words with the technical detail one click away, and Disconnect asks first."""

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from invoices.models import Invoice, InvoiceStatus
from platform_crm.models import Role
from xero_sync.models import ConnectionStatus, XeroConnection
from xero_sync.taxes import services as tax_services

from ..browser import log_in, pick_contact, screenshot
from ..factories import account_create, contact_make, tax_rate_make, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import KIWI, connect

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDE, PHONE = 1280, 390
LONG_DESCRIPTION = (
    "Replace the hot water cylinder (180 L, mains pressure) and its tempering valve; "
    "take the old one away"
)


def look(page, name: str) -> None:
    """Screenshots at 1280 and 390 px; at 390 nothing scrolls sideways, the menu fits and no
    status badge breaks over two lines."""
    page.set_viewport_size({"width": WIDE, "height": 900})
    screenshot(page, f"pages-{name}-{WIDE}")
    page.set_viewport_size({"width": PHONE, "height": 844})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        widest = page.eval_on_selector_all(
            "main *, header *",
            f"els => els.filter(e => e.getBoundingClientRect().right > {PHONE} + 1)"
            ".filter(e => !e.closest('.table-scroll'))"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)",
        )
        raise AssertionError(f"{name}: the page scrolls {overflow} px sideways: {widest}")
    menu = page.eval_on_selector_all(
        ".topbar a, .topbar summary, .topbar button",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.textContent.trim(), r.left, r.right]; })",
    )
    assert menu and all(left >= 0 and right <= PHONE for _, left, right in menu), menu
    wrapped = page.eval_on_selector_all(
        ".status",
        "els => els.filter(e => e.getClientRects().length > 1).map(e => e.textContent)",
    )
    assert wrapped == [], f"{name}: badges broken over lines: {wrapped}"
    screenshot(page, f"pages-{name}-{PHONE}")
    page.set_viewport_size({"width": WIDE, "height": 900})


def missing_requests(page) -> list[str]:
    """Every 4xx the pages ask for (a missing favicon was one on every page)."""
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if 400 <= r.status < 500 else None)
    return missing


@pytest.fixture
def kiwi(live_server, settings, xero_sandbox):
    point_at_sandbox(settings, xero_sandbox)
    account = account_create(name=KIWI)
    admin = user_create(account=account, role=Role.ADMIN, username="mere")
    admin.first_name, admin.last_name = "Mere", "Admin"
    admin.save()
    connection = connect(xero_sandbox, account, admin)
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    levy = tax_rate_make(account, "Levy 2%", ("Levy", D(2), False))
    tax_services.xero_tax_rates_refresh(connection)
    return account, admin, connection, gst, levy


def test_staff_pages(page, live_server, xero_sandbox, celery_worker, kiwi):
    account, admin, connection, gst, levy = kiwi
    base = f"{live_server.url}/a/{account.slug}"
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    studio = contact_make(
        account,
        first_name="Chloe",
        last_name="Wu",
        company_name="Wu Design Studio",
        email="chloe@wu-design.example",
    )
    contact_make(account, first_name="Chloe", last_name="Wu", email="chloe.wu@mail.example")
    staff = user_create(account=account, role=Role.STAFF, username="tama")
    missing = missing_requests(page)
    log_in(page, live_server.url, staff)

    # The picker: two people called Chloe Wu, told apart by email and company.
    page.goto(f"{base}/invoices/new/")
    page.fill("#id_contact-search", "chloe wu")
    expect(page.locator(".picker-option")).to_have_count(2)
    expect(page.locator(".picker-options")).to_contain_text("chloe@wu-design.example")
    expect(page.locator(".picker-options")).to_contain_text("Wu Design Studio")
    expect(page.locator(".picker-options")).to_contain_text("chloe.wu@mail.example")
    look(page, "01-contact-picker")
    pick_contact(page, "chloe wu", studio)
    page.fill("#id_due_date", "2030-01-31")
    page.fill("#id_lines-0-description", LONG_DESCRIPTION)
    page.fill("#id_lines-0-unit_price", "240")
    page.select_option("#id_lines-0-tax_rate", str(gst.pk))
    expect(page.locator("#total strong")).to_have_text("276.00")
    look(page, "02-invoice-form")
    page.click("button[type=submit].primary")
    expect(page.locator("#invoice-status")).to_have_text("Draft")

    # Issued while Xero is slow: the badge says so, then follows the push without a reload.
    xero_sandbox.fault("latency", method="POST", path="/api.xro/2.0/Invoices", seconds=2)
    page.click("button:has-text('Issue')")
    expect(page.locator("#sync-state")).to_have_text("Sending to Xero…")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#sync-state")).to_have_text("In Xero", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#lines")).to_contain_text(LONG_DESCRIPTION)
    expect(page.locator("#lines")).to_contain_text("240.00")
    look(page, "03-invoice-in-xero")

    # A payment, in Xero once the badge says so; deleting it asks first, naming both sides.
    invoice = Invoice.objects.get(account=account)
    page.fill("#record-payment input[name=amount]", "100.00")
    page.click("#record-payment button[type=submit]")
    expect(page.locator("#sync-state")).to_have_text("In Xero", timeout=20_000)
    page.click(".payment-delete")
    expect(page.locator("#effects-here")).to_contain_text("owed 276.00 NZD again")
    expect(page.locator("#effects-xero")).to_contain_text(
        f"This payment is in {KIWI}: it is deleted there too"
    )
    look(page, "04-confirm-delete-payment")
    page.click("#confirm-cancel")
    expect(page.locator("#amount-paid")).to_have_text("100.00")

    # An invoice with a rate only an admin can map: staff are told whom to ask, and what.
    page.goto(f"{base}/invoices/new/")
    pick_contact(page, "wu-design", studio)
    page.fill("#id_due_date", "2030-01-31")
    page.fill("#id_lines-0-description", "Levy only")
    page.fill("#id_lines-0-unit_price", "50")
    page.select_option("#id_lines-0-tax_rate", str(levy.pk))
    page.click("button[type=submit].primary")
    page.click("button:has-text('Issue')")
    expect(page.locator("#sync-state")).to_have_text("Not sent to Xero", timeout=20_000)
    expect(page.locator("#sync-ask-admin")).to_contain_text(
        f"Only an admin of {KIWI} can fix this. Ask Mere Admin ({admin.email})"
    )
    expect(page.locator("#sync-fix")).to_have_count(0)
    look(page, "05-ask-an-admin")

    # Void asks first; this one never reached Xero, and the page says so.
    page.click("#invoice-void")
    expect(page.locator("#effects-xero")).to_contain_text("has not reached")
    look(page, "06-confirm-void")
    page.click("#confirm-button")
    expect(page.locator("#invoice-status")).to_have_text("Void")
    second = Invoice.objects.exclude(pk=invoice.pk).get(account=account)
    assert second.status == InvoiceStatus.VOID

    # The list: one "Due date" and one "Amount due"; badges on one line.
    page.goto(f"{base}/invoices/")
    headers = page.locator("#invoices th").all_inner_texts()
    assert headers.count("Due date") == 1 and headers.count("Amount due") == 1
    assert "Due" not in headers
    look(page, "07-invoice-list")
    page.goto(f"{base}/contacts/")
    look(page, "08-contacts")
    page.goto(f"{base}/settings/taxes/")
    expect(page.locator("#ask-admins")).to_contain_text("Mere Admin")
    look(page, "09-admin-only")
    assert [url for url in missing if "/settings/taxes/" not in url] == []


def test_admin_pages(page, live_server, xero_sandbox, celery_worker, kiwi):
    account, admin, connection, gst, levy = kiwi
    base = f"{live_server.url}/a/{account.slug}"
    missing = missing_requests(page)
    log_in(page, live_server.url, admin)

    # One form maps every rate; Settings → Taxes then shows it.
    page.goto(f"{base}/settings/integrations/xero/taxes/")
    page.select_option(f"#map-{gst.pk}", "OUTPUT2")
    look(page, "10-tax-mapping")
    page.click("#save-tax-mapping")
    expect(page.locator(".messages")).to_contain_text("Saved: mapped GST 15% to 15% GST on Income")
    expect(page.locator(f"#tax-rate-{gst.pk}")).to_contain_text("Mapped")
    page.click("nav >> text=Taxes")
    expect(page.locator("#tax-rates")).to_contain_text("15% GST on Income")
    expect(page.locator("main")).not_to_contain_text("not available yet")
    look(page, "11-taxes")

    # A finished preview is at 100%.
    page.goto(f"{base}/settings/integrations/xero/contacts/")
    page.click("#preview-import")
    expect(page.locator("#import-status")).to_have_text("Ready to import", timeout=30_000)
    expect(page.locator("#import-percent")).to_have_text("100%")
    look(page, "12-import-preview")

    # Sync activity in plain words; the technical detail one click away.
    page.goto(f"{base}/settings/integrations/xero/activity/")
    expect(page.locator("#problems")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("contacts.page")
    look(page, "13-sync-activity")
    page.click("#technical-link")
    expect(page.locator("#calls")).to_contain_text("contacts.page")
    look(page, "14-sync-technical")

    # Disconnect asks first, saying what happens on both sides.
    page.goto(f"{base}/settings/integrations/")
    page.click("#xero-disconnect")
    expect(page.locator("#effects-here")).to_contain_text("stay, with their links to Xero")
    expect(page.locator("#effects-xero")).to_contain_text("Nothing in Xero is deleted")
    assert XeroConnection.objects.get(account=account).status == ConnectionStatus.CONNECTED
    look(page, "15-confirm-disconnect")
    page.click("#confirm-button")
    expect(page.locator("#xero-status")).to_have_text("Disconnected")
    assert missing == []
