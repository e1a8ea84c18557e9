"""A paid invoice partly credited and refunded in the CRM, clicked through in headless Chromium
with a real Celery worker: the sandbox's own pages then show the credit note set against the
invoice, the refund out of the chosen payment account, and the invoice owing exactly what the
CRM's page says, to the cent. And Credit and reissue: the page says when to choose it over Void
and reissue, and the copy owes in Xero what it owes in the CRM."""

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from invoices.models import CreditNote, Invoice
from invoices.services import payment_record
from xero_sync.invoices.models import CreditNoteSync
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..browser import log_in, screenshots
from ..support.invoices import issue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_staff_credit_part_of_a_paid_invoice_with_a_refund_and_xero_owes_the_same(
    page, live_server, ready, account, admin_user, xero, celery_worker
):
    connection, gst = ready
    base = live_server.url
    invoice = issue(account, gst)  # 146.63 NZD: Call-out 120.00 and Washers 7.50, GST 15%
    washers = invoice.lines.get(description="Washers")
    log_in(page, base, admin_user)
    page.goto(f"{base}/a/{account.slug}/invoices/{invoice.pk}/")

    # Paid in part, in the CRM.
    form = page.locator("#record-payment")
    form.locator("input[name=amount]").fill("100.00")
    form.locator("button[type=submit]").click()
    expect(page.locator("#amount-due")).to_contain_text("46.63")

    # Credited: the washers came back; 3.00 of the credit goes back to the customer.
    page.click("#invoice-credit")
    expect(page.locator("h1")).to_have_text(f"Credit invoice {invoice.number}")
    expect(page.locator("#effects-xero")).to_contain_text("approved credit note")
    page.fill("#id_reason", "Washers returned unused")
    page.fill(f"#id_line_{washers.pk}", "2.5")
    page.fill("#id_refund", "3.00")
    screenshots(page, "credit-note-form")
    page.click("#credit-note-save")

    expect(page.locator(".messages")).to_contain_text("Credit note")
    note = CreditNote.objects.get(invoice=invoice)
    row = page.locator("#credit-notes tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(note.number)
    expect(row).to_contain_text("8.63")  # 7.50 + 1.13 GST, as Xero rounds it
    expect(page.locator("#amount-credited")).to_have_text("5.63")
    expect(page.locator("#amount-due")).to_contain_text("41.00")
    crm_due = D(page.locator("#amount-due").inner_text().split()[0])

    sync = celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(
            invoice=invoice, state=InvoiceSyncState.SYNCED, credit_notes__allocated=True
        ).first(),
        timeout=30,
    )
    record = CreditNoteSync.objects.get(credit_note=note)
    assert record.xero_refund_id
    page.reload()
    screenshots(page, "credit-note-invoice-page")

    # The sandbox's own pages, as someone looking in Xero sees them.
    tenant = connection.tenant_id
    page.goto(f"{xero.url}/orgs/{tenant}/credit-notes/{record.xero_credit_note_id}")
    expect(page.locator("#status")).to_have_text("PAID")  # all of it allocated or refunded
    expect(page.locator("#allocations tr:has(td)")).to_have_count(1)
    expect(page.locator("#allocations")).to_contain_text(invoice.number)
    expect(page.locator("#allocations")).to_contain_text("5.63")
    refunds = page.locator("#refunds tr:has(td)")
    expect(refunds).to_have_count(1)
    expect(refunds).to_contain_text("3.00")
    expect(refunds).to_contain_text(connection.payment_account_name)
    page.goto(f"{xero.url}/orgs/{tenant}/invoices/{sync.xero_invoice_id}")
    assert D(page.locator("#amount-due").inner_text()) == crm_due == D("41.00")
    assert D(page.locator("#amount-credited").inner_text()) == D("5.63")
    expect(page.locator("#credit-notes")).to_contain_text(note.number)

    # And the refund went out of the chosen account.
    [refund] = [p for p in xero.payments(tenant) if p["PaymentType"] == "ARCREDITPAYMENT"]
    assert refund["Account"]["AccountID"] == connection.payment_account_id
    assert D(str(refund["Amount"])) == note.refund_amount == D("3.00")


def test_credit_and_reissue_explains_the_choice_and_carries_the_payment_to_the_copy(
    page, live_server, ready, account, admin_user, xero, celery_worker
):
    connection, gst = ready
    base = live_server.url
    invoice = issue(account, gst)  # 146.63 NZD
    payment_record(invoice=invoice, amount=D("100.00"))
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(
            invoice=invoice, state=InvoiceSyncState.SYNCED, payments__xero_payment_id__gt=""
        ).exists(),
        timeout=30,
    )
    log_in(page, base, admin_user)
    page.goto(f"{base}/a/{account.slug}/invoices/{invoice.pk}/")
    expect(page.locator("#invoice-reissue")).to_have_text("Void and reissue…")
    page.click("#invoice-credit-reissue")

    # The payment is in Xero and nothing is credited yet: Xero takes both ways, and the page
    # says which to choose and why.
    expect(page.locator("h1")).to_have_text(f"Credit and reissue invoice {invoice.number}?")
    expect(page.locator("#effects-here")).to_contain_text("carried to the copy as credit")
    expect(page.locator("#effects-xero")).to_contain_text(
        "Xero allows both Void and reissue and Credit and reissue here"
    )
    expect(page.locator("#effects-xero")).to_contain_text("reconciled")
    page.fill("#id_reason", "Call-out charged at the wrong rate")
    screenshots(page, "credit-reissue-confirm")
    page.click("#confirm-button")

    copy = Invoice.objects.exclude(pk=invoice.pk).get(account=account)
    expect(page.locator("h1")).to_contain_text(f"Invoice {copy.number}")
    expect(page.locator("#invoice-status")).to_have_text("Draft")
    expect(page.locator("#amount-credited")).to_have_text("100.00")
    page.locator("form[action$='/issue/'] button").click()
    expect(page.locator("#amount-due")).to_contain_text("46.63")
    crm_due = D(page.locator("#amount-due").inner_text().split()[0])

    note = CreditNote.objects.get(invoice=invoice)
    celery_worker.wait_for(
        lambda: (
            CreditNoteSync.objects.filter(credit_note=note, carried_allocated=True).exists()
            and InvoiceSync.objects.filter(invoice=copy, state=InvoiceSyncState.SYNCED).exists()
        ),
        timeout=30,
    )
    page.reload()
    screenshots(page, "credit-reissue-copy")
    copy_sync = InvoiceSync.objects.get(invoice=copy)
    page.goto(f"{xero.url}/orgs/{connection.tenant_id}/invoices/{copy_sync.xero_invoice_id}")
    assert D(page.locator("#amount-due").inner_text()) == crm_due
    assert D(page.locator("#amount-credited").inner_text()) == D("100.00")
    original = InvoiceSync.objects.get(invoice=invoice)
    page.goto(f"{xero.url}/orgs/{connection.tenant_id}/invoices/{original.xero_invoice_id}")
    assert D(page.locator("#amount-due").inner_text()) == 0
    # The original keeps its payment in Xero: nothing was deleted or voided.
    assert [D(str(p["Amount"])) for p in xero.payments(connection.tenant_id)] == [D("100.00")]
