"""The pages work in Chromium under the Content-Security-Policy: no violation is reported on
any of them, and htmx still does its work (live search, live invoice totals)."""

from decimal import Decimal as D

import pytest

from platform_crm.models import Role

from ..browser import log_in, screenshot
from ..factories import account_create, contact_make, invoice_make, tax_rate_make, user_create

pytestmark = pytest.mark.slow

# Runs before any page script, whatever the policy: every violation the browser reports.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""


def test_every_page_runs_under_the_policy_and_htmx_still_works(page, live_server, transactional_db):
    account = account_create(name="Kiwi Plumbing")
    contact = contact_make(account, first_name="Aroha", last_name="Ngata")
    contact_make(account, first_name="Tama", last_name="Walker")
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    invoice = invoice_make(account, contact=contact, issue=True)
    admin = user_create(account=account, role=Role.ADMIN)
    page.add_init_script(RECORD_VIOLATIONS)
    violations = []
    base = f"{live_server.url}/a/{account.slug}"

    def visit(url):
        response = page.goto(url)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        violations.extend(page.evaluate("window.cspViolations"))

    visit(f"{live_server.url}/login/")
    log_in(page, live_server.url, admin)
    for path in (
        "/contacts/",
        f"/contacts/{contact.pk}/",
        f"/contacts/{contact.pk}/edit/",
        "/invoices/",
        f"/invoices/{invoice.pk}/",
        "/settings/integrations/",
        "/settings/taxes/",
        f"/settings/taxes/{gst.pk}/edit/",
    ):
        visit(base + path)

    visit(base + "/contacts/")
    page.fill("#q", "Tama")  # htmx swaps the results in place
    page.wait_for_selector("#results :text('Aroha Ngata')", state="detached")
    assert page.locator("#results :text('Tama Walker')").count() == 1
    violations.extend(page.evaluate("window.cspViolations"))

    visit(base + "/invoices/new/")
    page.fill("#id_lines-0-description", "Call-out")
    page.fill("#id_lines-0-unit_price", "100")
    page.select_option("#id_lines-0-tax_rate", str(gst.pk))
    page.wait_for_selector("#total strong:text-is('115.00')")  # htmx recomputed the totals
    page.click("[data-line-add]")  # our own script, from our origin
    assert page.locator("#lines tbody tr").count() == 2
    violations.extend(page.evaluate("window.cspViolations"))
    screenshot(page, "csp-invoice-form-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "csp-invoice-form-390")
    assert violations == []
