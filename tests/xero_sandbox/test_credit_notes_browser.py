"""The sandbox's own pages in headless Chromium: a person in "Xero" approves a credit note,
allocates part of it to an invoice and refunds the rest from a bank account; the invoice then
shows what was credited and what is left due. Screenshots at 1280 and 390 px."""

import pytest
from playwright.sync_api import expect

from tests.browser import screenshots
from tests.xero_sandbox.conftest import credit_note_body, invoice_body

pytestmark = pytest.mark.slow


def test_a_credit_note_is_allocated_and_refunded_in_the_sandbox_pages(page, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    contact_id = xero_sandbox.contacts(tenant)[0]["ContactID"]
    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact_id))  # 115.00
    note = xero_sandbox.create_credit_note(tenant, credit_note_body(contact_id, status="DRAFT"))
    base = f"{xero_sandbox.url}/orgs/{tenant}"

    page.goto(f"{base}/credit-notes/{note['CreditNoteID']}")
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("AUTHORISED")
    page.select_option("#invoice", invoice["InvoiceID"])
    page.fill("#allocate-amount", "30.00")
    page.click("#allocate")
    expect(page.locator("#remaining-credit")).to_have_text("16.00")
    page.fill("#refund-amount", "16.01")
    page.click("#refund")
    expect(page.locator("#error")).to_have_text(
        "Payment amount exceeds the amount outstanding on this document"
    )
    page.fill("#refund-amount", "16.00")
    page.select_option("#account", "091")
    page.fill("#reference", "Cash back")
    page.click("#refund")
    expect(page.locator("#status")).to_have_text("PAID")
    expect(page.locator("#remaining-credit")).to_have_text("0.00")
    expect(page.locator("#allocations")).to_contain_text(invoice["InvoiceNumber"])
    expect(page.locator("#refunds")).to_contain_text("091 Business Savings Account")
    screenshots(page, "sandbox-credit-note-allocated-and-refunded")

    page.click(f"#allocations a:has-text('{invoice['InvoiceNumber']}')")
    expect(page.locator("#amount-credited")).to_have_text("30.00")
    expect(page.locator("#amount-due")).to_have_text("85.00")
    expect(page.locator("#credit-notes")).to_contain_text("CN-0001")
    screenshots(page, "sandbox-invoice-partly-credited")

    page.goto(base)
    expect(page.locator("#credit-notes")).to_contain_text("CN-0001")
    screenshots(page, "sandbox-organisation-with-credit-notes")
