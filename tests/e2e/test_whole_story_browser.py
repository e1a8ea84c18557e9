"""The whole story, clicked through in headless Chromium against the Xero sandbox with a real
Celery worker: an admin connects Xero (two organisations offered, one picked), picks the
payment account, maps taxes (one of them multi-component and compound) and imports contacts;
a staff member then invoices an imported contact, sees the invoice in Xero, takes the full
payment and Xero shows it paid to the chosen account with the CRM's totals to the cent."""

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from invoices.models import Invoice
from platform_crm.models import Role
from xero_sync.models import XeroConnection, XeroContact

from ..browser import log_in, pick_contact, screenshot
from ..factories import account_create, tax_rate_make, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import HARBOUR, KIWI

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The Kiwi organisation's TAX002 is GST 15% plus a 2% levy compounding on it: 17.3% effective.
COMPOUND_TAX_TYPE = "TAX002"


def test_admin_sets_up_xero_then_staff_invoice_is_paid_in_xero(
    page, live_server, settings, xero_sandbox, celery_worker
):
    xero = xero_sandbox
    point_at_sandbox(settings, xero)
    base = live_server.url
    settings.XERO_REDIRECT_URI = f"{base}/xero/callback/"
    # "Open in Xero" goes to the sandbox's page for the invoice, as under `make dev`.
    settings.XERO_INVOICE_URL = f"{xero.url}/orgs/{{tenant_id}}/invoices/{{invoice_id}}"
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    staff = user_create(account=account, role=Role.STAFF)
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    levy = tax_rate_make(
        account, "GST + compound levy", ("GST", D(15), False), ("Levy", D(2), True)
    )
    kiwi = xero.tenant_id(KIWI)

    log_in(page, base, admin)
    admin_connects_and_picks_kiwi(page, xero, kiwi)
    admin_picks_payment_account(page)
    admin_maps_taxes(page, {gst.pk: "OUTPUT2", levy.pk: COMPOUND_TAX_TYPE})
    admin_imports_contacts(page)
    log_out(page, base)

    contact = XeroContact.objects.filter(connection__account=account).order_by("pk")[0].contact
    log_in(page, base, staff)
    staff_writes_and_issues_invoice(page, contact, gst.pk, levy.pk)
    invoice = Invoice.objects.get(account=account)
    wait_until_badge_says(page, celery_worker, "In Xero")
    screenshot(page, "story-06-invoice-synced")

    staff_records_full_payment(page, invoice)
    xero_invoice = celery_worker.wait_for(lambda: paid_in_xero(xero, kiwi, invoice), timeout=30)
    wait_until_badge_says(page, celery_worker, "In Xero")
    screenshot(page, "story-07-invoice-paid")

    # Xero has what the CRM has: the same totals (Decimal, exactly), the imported contact's
    # Xero twin (not a new contact), both tax rates, and the payment on the chosen account.
    invoice.refresh_from_db()
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == (
        D("219.99"),
        D("35.30"),
        D("255.29"),
    )
    assert (
        D(str(xero_invoice["SubTotal"])),
        D(str(xero_invoice["TotalTax"])),
        D(str(xero_invoice["Total"])),
    ) == (invoice.subtotal, invoice.total_tax, invoice.total)
    assert D(str(xero_invoice["AmountDue"])) == 0
    assert xero_invoice["InvoiceNumber"] == invoice.number
    assert xero_invoice["Contact"]["ContactID"] == contact.xero_link.xero_contact_id
    assert [line["TaxType"] for line in xero_invoice["LineItems"]] == [
        "OUTPUT2",
        COMPOUND_TAX_TYPE,
    ]
    connection = XeroConnection.objects.get(account=account)
    payments = xero.state(kiwi, "payments")["Payments"]
    assert [(p["Invoice"]["InvoiceID"], D(str(p["Amount"]))) for p in payments] == [
        (xero_invoice["InvoiceID"], invoice.total)
    ]
    accounts = {a["AccountID"]: a for a in xero.state(kiwi, "accounts")["Accounts"]}
    chosen = accounts[payments[0]["Account"]["AccountID"]]
    assert (chosen["AccountID"], chosen["Name"]) == (
        connection.payment_account_id,
        "Stripe clearing",
    )

    # "Open in Xero" leads to that invoice in Xero (the sandbox's page), paid.
    page.goto(page.get_attribute("#sync-link", "href"))
    expect(page.locator("#status")).to_have_text("PAID")
    screenshot(page, "story-08-paid-in-xero")


# --- the admin ---------------------------------------------------------------------------


def admin_connects_and_picks_kiwi(page, xero, kiwi: str) -> None:
    """Settings -> Integrations -> Connect; allow both organisations at Xero; pick Kiwi."""
    page.click("nav >> text=Integrations")
    page.click("#xero-connect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{kiwi}")
    page.check(f"#tenant-{xero.tenant_id(HARBOUR)}")
    screenshot(page, "story-01-consent")
    page.click("#allow")

    page.wait_for_url("**/settings/integrations/xero/organisation/")
    expect(page.locator("input[name=tenant]")).to_have_count(2)
    page.check(f"input[name=tenant][value='{kiwi}']")
    screenshot(page, "story-02-organisation")
    page.click("#choose-organisation")


def admin_picks_payment_account(page) -> None:
    page.wait_for_url("**/settings/integrations/xero/payment-account/")
    page.check("label.check:has-text('Stripe clearing') input")
    screenshot(page, "story-03-payment-account")
    page.click("#choose-payment-account")


def admin_maps_taxes(page, xero_tax_types: dict[int, str]) -> None:
    """Map each CRM rate (by pk) to a Xero tax type; only equal effective rates are offered."""
    page.wait_for_url("**/settings/integrations/xero/taxes/")
    for pk, tax_type in xero_tax_types.items():
        page.locator(f"#tax-rate-{pk} select").select_option(tax_type)
    page.click("#save-tax-mapping")  # one form saves every row
    for pk in xero_tax_types:
        expect(page.locator(f"#tax-rate-{pk}")).to_contain_text("Mapped")
    screenshot(page, "story-04-tax-mapping")


def admin_imports_contacts(page) -> None:
    """Set-up's last step starts the import (all contacts: the default); the contacts page
    shows it to the end."""
    page.click("#next-contacts")
    expect(page.locator("input[name=scope][value=all]")).to_be_checked()
    page.click("#finish-setup")
    page.wait_for_url("**/settings/integrations/")
    page.click("#xero-contacts >> text=Change")
    expect(page.locator("#import-status")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#import-percent")).to_have_text("100%")
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    assert int(page.inner_text("#count-created")) > 0
    screenshot(page, "story-05-import-done")


def log_out(page, base: str) -> None:
    page.click("button:has-text('Log out')")
    page.wait_for_url(f"{base}/login/")


# --- the staff member --------------------------------------------------------------------


def staff_writes_and_issues_invoice(page, contact, gst_pk: int, levy_pk: int) -> None:
    page.click("nav >> text=Invoices")
    page.click("text=New invoice")
    pick_contact(page, contact.email or contact.display_name, contact)
    page.fill("#id_due_date", "2030-01-31")
    page.fill("#id_lines-0-description", "Call-out")
    page.fill("#id_lines-0-unit_price", "120")
    page.select_option("#id_lines-0-tax_rate", str(gst_pk))
    page.click("[data-line-add]")
    page.fill("#id_lines-1-description", "Filters")
    page.fill("#id_lines-1-quantity", "3")
    page.fill("#id_lines-1-unit_price", "33.33")
    page.select_option("#id_lines-1-tax_rate", str(levy_pk))
    # 120 + 18.00 GST; 99.99 + 17.30 at 17.3% (the levy compounds on the GST).
    expect(page.locator("#total strong")).to_have_text("255.29")
    page.click("button[type=submit].primary")
    expect(page.locator("#invoice-status")).to_have_text("Draft")
    page.click("button:has-text('Issue')")
    expect(page.locator("#invoice-status")).to_have_text("Sent")


def staff_records_full_payment(page, invoice: Invoice) -> None:
    form = page.locator("#record-payment")
    expect(form.locator("input[name=amount]")).to_have_value(str(invoice.total))
    form.locator("button[type=submit]").click()
    expect(page.locator("#invoice-status")).to_have_text("Paid")
    expect(page.locator("#amount-due")).to_contain_text("0.00")


def wait_until_badge_says(page, celery_worker, text: str) -> None:
    """The badge is rendered with the page: reload as a person would until the worker's push
    shows (the worker's log tail comes with a failure)."""

    def badge_shows() -> bool:
        page.reload()
        return page.locator("#sync-state").inner_text().strip() == text

    celery_worker.wait_for(badge_shows, timeout=30, interval=0.5)
    expect(page.locator("#sync-link")).to_have_text("Open in Xero")


def paid_in_xero(xero, tenant_id: str, invoice: Invoice) -> dict | None:
    for found in xero.invoices(tenant_id):
        if found.get("InvoiceNumber") == invoice.number and found["Status"] == "PAID":
            return found
    return None
