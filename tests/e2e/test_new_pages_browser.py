"""This round's new pages, looked at in headless Chromium at 1280 and 390 px wide (screenshots in
test-artifacts/pages-2*.png, with `look()`'s checks: no sideways scroll at 390, the menu on
screen, no badge broken over two lines): the contact form and page with a billing address; a
USD invoice in an NZD organisation with Xero's rate, the online link and "Email from Xero"; an
invoice credited in Xero with credit not used yet; Possible duplicates with a name clash (its
invoice waiting for a decision) and a phone clash; Sync activity counting the held invoice; and
the past-invoice preview with its credit notes. The states are built through services and the
sandbox (each path is tested on its own elsewhere); one session, one worker."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from invoices.models import CreditNote, Invoice
from platform_crm.queueing import enqueue
from xero_sync.models import InvoiceSync, InvoiceSyncState
from xero_sync.organisation.services import organisation_settings_refresh
from xero_sync.taxes import services as tax_services

from ..browser import log_in
from ..factories import contact_make, invoice_make
from ..support.invoices import lines
from ..support.waiting import wait_until
from . import test_first_hour_pages_browser as first_hour
from .test_invoices_made_in_xero_browser import credit_note, sales_invoice

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

look = first_hour.look
kiwi = first_hour.kiwi


def synced(invoice: Invoice, state: str = InvoiceSyncState.SYNCED) -> None:
    wait_until(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=state).exists(),
        timeout=30,
        describe=lambda: str(InvoiceSync.objects.filter(invoice=invoice).values().first()),
    )


def test_this_rounds_pages_read_well_at_1280_and_390(
    page, live_server, xero_sandbox, celery_worker, kiwi
):
    account, admin, connection, gst, _ = kiwi
    xero, tenant = xero_sandbox, connection.tenant_id
    base = f"{live_server.url}/a/{account.slug}"
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    missing = first_hour.missing_requests(page)
    log_in(page, live_server.url, admin)

    # 1. The contact form with the billing address, then the contact page showing it.
    page.goto(f"{base}/contacts/new/")
    page.fill("#id_first_name", "Aroha")
    page.fill("#id_last_name", "Ngata-Whakarewarewa")
    page.fill("#id_company_name", "Ngata Whakarewarewa Landscaping & Garden Design Ltd")
    page.fill("#id_email", "accounts@ngata-whakarewarewa-landscaping.example")
    page.fill("#id_phone", "021 555 0199")
    page.fill("#id_address_line1", "Unit 14, The Old Woolstore Building")
    page.fill("#id_address_line2", "118 Tuam Street")
    page.fill("#id_address_city", "Christchurch")
    page.fill("#id_address_region", "Canterbury")
    page.fill("#id_address_postal_code", "8011")
    page.fill("#id_address_country", "New Zealand")
    look(page, "20-contact-form")
    page.click("button[type=submit].primary")
    expect(page.locator("#billing-address")).to_contain_text("118 Tuam Street")
    expect(page.locator("#billing-address")).to_contain_text("Christchurch 8011")
    look(page, "21-contact-page")
    aroha = Contact.objects.get(account=account, last_name="Ngata-Whakarewarewa")

    # 2. A USD invoice in the NZD organisation: Xero's rate, the online link, Email from Xero.
    xero.set_rate(tenant, "USD", "0.600000")
    usd = invoice_make(account, contact=aroha, issue=True, lines=lines(gst), currency="USD")
    synced(usd)
    page.goto(f"{base}/invoices/{usd.pk}/")
    # Made without the form, so the organisation's base currency is not read yet: the rate
    # says what it is against rather than a bare "0.600000 USD".
    expect(page.locator("#xero-rate")).to_have_text(
        f"Xero's exchange rate: 0.600000 USD to 1 of {connection.tenant_name}'s base currency"
    )
    expect(page.locator("#sync-badge")).to_contain_text("synced just now")  # not "0 minutes"
    organisation_settings_refresh(connection)  # as the invoice form does
    page.reload()
    expect(page.locator("#xero-rate")).to_have_text("Xero's exchange rate: 1 NZD = 0.600000 USD")
    page.click("#xero-online-link-get")
    assert page.input_value("#xero-online-link").startswith(f"{xero.url}/in/")
    page.click("#xero-online-link-copy")
    expect(page.locator("#xero-online-link-copy")).to_have_text("Copied")
    expect(page.locator("#xero-email")).to_have_text("Email from Xero")
    look(page, "22-invoice-usd")

    # 3. Made in Xero and credited there: 30.00 of a 46.00 credit note set against it, the
    # rest not used yet; the beat's poll brings both in.
    customer = xero.create_contact(tenant, Name="Rangi Gardens", quiet=True)
    made = xero.create_invoice(tenant, sales_invoice(customer, "Gutters"), quiet=True)
    note = xero.create_credit_note(tenant, credit_note(customer, "Missed a gutter"), quiet=True)
    xero.allocate_credit_note(tenant, note["CreditNoteID"], made["InvoiceID"], "30.00", quiet=True)
    enqueue("xero_sync.tasks.invoices_poll_task")
    credited = celery_worker.wait_for(
        lambda: CreditNote.objects.filter(number=note["CreditNoteNumber"]).first(), timeout=30
    )
    page.goto(f"{base}/invoices/{credited.invoice_id}/")
    expect(page.locator("#made-in-xero")).to_have_text("Made in Xero")
    row = page.locator(f'[data-credit-note="{note["CreditNoteNumber"]}"]')
    expect(row.locator(".credit-note-by")).to_have_text("In Xero")
    expect(row).to_contain_text("16.00 not used yet")
    expect(page.locator("#amount-credited")).to_have_text("30.00")
    look(page, "23-invoice-credited-in-xero")

    # 4. Possible duplicates: Xero's "Clash Co" against ours (its invoice waits), and two
    # contacts here with one phone.
    xero.create_contact(
        tenant, Name="Clash Co", EmailAddress="accounts@clash-xero.example", quiet=True
    )
    clash = contact_make(
        account, first_name="", last_name="", company_name="Clash Co",
        email="billing@clash-crm.example",
    )  # fmt: skip
    held = invoice_make(account, contact=clash, issue=True, lines=lines(gst))
    contact_make(account, first_name="Hemi", last_name="Walker", phone="027 555 0142")
    contact_make(
        account, first_name="Hemi", last_name="Walker-Smith", company_name="Walker Builders",
        phone="+64 27 555 0142", email="hemi@walker-builders.example",
    )  # fmt: skip
    synced(held, InvoiceSyncState.HELD)
    page.goto(f"{base}/invoices/{held.pk}/")
    expect(page.locator("#sync-state")).to_have_text("Waiting for a decision")
    expect(page.locator("#sync-error")).to_contain_text("accounts@clash-xero.example in Xero")
    look(page, "24-invoice-waiting")
    page.click("#sync-fix")
    expect(page.locator("form.xero-name-match")).to_contain_text("Clash Co")
    expect(page.locator("#crm-duplicates")).to_contain_text("Hemi Walker-Smith")
    look(page, "25-possible-duplicates")

    # 5. Sync activity counts the held invoice; the past-invoice preview has its credit notes.
    page.goto(f"{base}/settings/integrations/xero/activity/")
    expect(page.locator("#invoices-held")).to_contain_text("1 waiting for a decision")
    name_question = page.locator(".problem", has_text="1 contact")
    expect(name_question).to_contain_text("may be one of the contacts here")
    expect(name_question.locator("a")).to_have_text("Decide on Possible duplicates")
    expect(page.locator("#problems")).not_to_contain_text("0 minutes")
    look(page, "26-sync-activity-held")
    # The failures page lists the name question too, and sends it to Possible duplicates (its
    # own buttons are for email and phone matches).
    page.goto(f"{base}/settings/integrations/xero/failures/")
    name_row = page.locator("#possible-duplicates tr", has_text="name only")
    expect(name_row.get_by_role("link", name="Decide on Possible duplicates")).to_be_visible()
    expect(name_row.locator("button")).to_have_count(0)
    page.goto(f"{base}/settings/integrations/")
    page.click("#past-invoices-link")
    page.fill("#id_since", "2000-01-01")
    page.click("#preview-past")
    expect(page.locator("#past-status")).to_have_text("Ready to import", timeout=30_000)
    expect(page.locator("#past-credit-notes-already-in")).to_have_text("1")
    look(page, "27-past-invoices-preview")
    assert missing == []


def test_the_xero_invoice_options_pages_read_well_at_1280_and_390(
    page, live_server, xero_sandbox, kiwi
):
    """The connection's default branding theme and tracking (from the Integrations page), and
    an invoice's own choice over them, each looked at and used once."""
    account, admin, connection, gst, _ = kiwi
    base = f"{live_server.url}/a/{account.slug}"
    missing = first_hour.missing_requests(page)
    log_in(page, live_server.url, admin)

    page.goto(f"{base}/settings/integrations/")
    page.click("#change-invoice-options")
    expect(page.locator("form select").first).to_be_visible()
    look(page, "28-xero-invoice-options")
    page.locator("form select").first.select_option(index=1)
    page.click("form button[type=submit].primary")
    expect(page.locator(".messages, .message, [role=status]").first).to_be_visible()

    invoice = invoice_make(account, lines=lines(gst))
    page.goto(f"{base}/invoices/{invoice.pk}/edit/")
    page.click("#xero-invoice-own-options a")
    expect(page.locator("form select").first).to_be_visible()
    look(page, "29-invoice-own-options")
    assert missing == []
