"""Data that could end up wrong or lost, seen in headless Chromium against the sandbox with a real
Celery worker: the import brings exactly what was previewed, a void invoice is owed nothing, one
failure is one email (Retry included), a number Xero holds is fixed in one click, and the sales
account keeps its name after a reconnect. Screenshots at 1280 and 390 px."""

import re
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from invoices.services import LineInput, invoice_void
from platform_crm.models import Role
from xero_sync.connection import services
from xero_sync.models import ContactImport, InvoiceSync, InvoiceSyncState, XeroConnection

from ..browser import log_in, screenshots
from ..factories import account_create, contact_make, invoice_make, user_create
from ..support.contacts import groups_named
from ..support.invoices import typed_in_xero
from ..xero_sync.conftest import KIWI, connect

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_wrong_or_lost_data_is_put_right(page, base_url_on_sandbox, xero_sandbox, celery_worker):
    xero, base = xero_sandbox, base_url_on_sandbox
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    connection = connect(xero, account, admin)
    log_in(page, base, admin)
    slug = account.slug

    # 2. Preview VIP and Trade; the preview says so, the form keeps it, Import brings exactly it.
    page.goto(f"{base}/a/{slug}/settings/integrations/xero/contacts/")
    vip, trade = groups_named(xero, "VIP customers", "Trade accounts")
    page.check(f"input[name=group][value='{vip['ContactGroupID']}']")
    expect(page.locator("input[name=scope][value=groups]")).to_be_checked()  # ticking a group
    page.check(f"input[name=group][value='{trade['ContactGroupID']}']")
    page.click("#preview-import")
    expect(page.locator("#import-status")).to_have_text("Ready to import", timeout=30_000)
    expect(page.locator("#import-filter")).to_contain_text(
        "Preview of: Contacts in the groups VIP customers or Trade accounts"
    )
    expect(page.locator("input[name=scope][value=groups]")).to_be_checked()
    to_create = int(page.inner_text("#count-created"))
    screenshots(page, "data-01-preview-says-its-filter")
    page.click("#import-previewed")
    expect(page.locator("#import-status")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#import-filter")).to_contain_text(
        "Import of: Contacts in the groups VIP customers or Trade accounts"
    )
    assert int(page.inner_text("#count-created")) == to_create
    assert Contact.objects.filter(account=account).count() == to_create
    run = ContactImport.objects.get(is_preview=False)
    assert run.contact_group_ids == [vip["ContactGroupID"], trade["ContactGroupID"]]
    screenshots(page, "data-02-imported-as-previewed")

    # 4. A void invoice is owed nothing, on its page and in the list.
    gutters = invoice_make(
        account,
        issue=True,
        tax_mode="no_tax",
        lines=[LineInput(description="Gutters", quantity=D(1), unit_price=D("308.15"))],
    )
    invoice_void(invoice=gutters)
    page.goto(f"{base}/a/{slug}/invoices/{gutters.pk}/")
    expect(page.locator("#amount-due")).to_have_text("0.00 NZD")
    screenshots(page, "data-03-void-owes-nothing")
    page.goto(f"{base}/a/{slug}/invoices/")
    row = page.locator(f"#invoices tr:has(a:text-is('{gutters.number}'))")
    expect(row.locator("td.num").last).to_have_text("0.00")

    # 5 and 6. A number someone typed in Xero: one email for the failure, Retry or not; then
    # "Use the next free number" in one click.
    typed_in_xero(xero, connection.tenant_id, "INV-0002")
    mails_before = len(celery_worker.sent_mail())
    taken = invoice_make(account, tax_mode="no_tax", contact=contact_make(account), issue=True)
    assert taken.number == "INV-0002"
    sync = celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(invoice=taken, state=InvoiceSyncState.FAILED).first()
    )
    assert sync.error_cause == "number_taken"
    celery_worker.wait_for(lambda: len(celery_worker.sent_mail()) == mails_before + 1)
    page.goto(f"{base}/a/{slug}/invoices/{taken.pk}/")
    expect(page.locator("#sync-error")).to_contain_text(
        "Xero already has another invoice numbered INV-0002"
    )
    page.click("#sync-retry")
    expect(page.locator(".messages")).to_contain_text("Sending the invoice to Xero again.")
    celery_worker.wait_for(  # tried again, and refused again (the history says so twice)
        lambda: taken.events.filter(what__startswith="Not sent to Xero").count() == 2
    )
    page.reload()
    expect(page.locator("#sync-state")).to_have_text("Not sent to Xero")
    screenshots(page, "data-04-number-taken")
    page.click("#sync-renumber")
    expect(page.locator(".messages")).to_contain_text("Invoice INV-0002 is now INV-0003")
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(invoice=taken, state=InvoiceSyncState.SYNCED).exists()
    )
    page.reload()
    expect(page.locator("#sync-state")).to_have_text("In Xero")
    expect(page.locator("h1")).to_contain_text("Invoice INV-0003")
    screenshots(page, "data-05-renumbered-and-in-xero")
    told = [m for m in celery_worker.sent_mail()[mails_before:] if "INV-0002" in m]
    assert len(told) == 1, told
    assert len(celery_worker.sent_mail()) == mails_before + 1
    # Its number is fixed now that Xero has it; a draft's is not.
    page.goto(f"{base}/a/{slug}/invoices/{taken.pk}/edit/")
    expect(page.locator("#id_number")).to_be_disabled()

    # 8. Reconnected: "Sales go to" still names the account.
    services.connection_disconnect(connection=XeroConnection.objects.get(pk=connection.pk))
    page.goto(f"{base}/a/{slug}/settings/integrations/")
    page.click("#xero-connect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{xero.tenant_id(KIWI)}")
    page.click("#allow")
    page.wait_for_url(f"{base}/a/{slug}/settings/integrations/")
    expect(page.locator("#xero-status")).to_have_text("Connected")
    said = " ".join(page.inner_text("#xero-sales-account").split())
    assert re.match(r"200 Sales\b", said), said
    screenshots(page, "data-06-reconnected-sales-account-named")
