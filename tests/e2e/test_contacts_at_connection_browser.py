"""Contacts at connection, in headless Chromium against the sandbox with a real Celery worker:
set-up's last step starts the import with the filter the admin chose and sends the invoices
written before the connection from a date; an admin who leaves set-up before that step still
gets all contacts, and the integration page says so. Screenshots at 1280 and 390 px."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from invoices.services import payment_record
from platform_crm.models import Role
from xero_sync.contacts import imports
from xero_sync.models import ContactImport, InvoiceSync, InvoiceSyncState, XeroConnection

from ..browser import log_in, screenshots
from ..factories import account_create, invoice_make, user_create
from ..support.contacts import groups_named
from ..xero_sync.conftest import HARBOUR, KIWI, connect

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_contacts_come_in_at_connection_with_the_chosen_filter_or_all(
    page, base_url_on_sandbox, xero_sandbox, celery_worker
):
    xero, base = xero_sandbox, base_url_on_sandbox
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    today = timezone.localdate()
    # Written before Xero was connected, as the demo's INV-0001 to 0003: a draft, one sent,
    # one partly paid.
    older = invoice_make(account, tax_mode="no_tax", issue_date=today - timedelta(days=40))
    sent = invoice_make(
        account, tax_mode="no_tax", issue_date=today - timedelta(days=10), issue=True
    )
    paid = invoice_make(account, tax_mode="no_tax", issue_date=today, issue=True)
    payment_record(invoice=paid, amount=D("40.00"))
    kiwi = xero.tenant_id(KIWI)

    log_in(page, base, admin)
    page.goto(f"{base}/a/{account.slug}/settings/integrations/")
    page.click("#xero-connect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{kiwi}")
    page.click("#allow")
    page.wait_for_url("**/xero/payment-account/")
    page.check("label.check:has-text('Stripe clearing') input")
    page.click("#choose-payment-account")
    page.wait_for_url("**/xero/taxes/")
    page.click("#next-contacts")

    # The last step: all contacts unless chosen otherwise; the earlier invoices, from a date.
    page.wait_for_url("**/xero/setup/contacts/")
    expect(page.locator("input[name=scope][value=all]")).to_be_checked()
    expect(page.locator("#earlier-count")).to_have_text("3 earlier invoices")
    expect(page.locator("#id_since")).to_have_value(older.issue_date.isoformat())
    screenshots(page, "connect-01-last-step")
    (vip,) = groups_named(xero, "VIP customers")
    page.check(f"input[name=group][value='{vip['ContactGroupID']}']")
    page.fill("#id_since", sent.issue_date.isoformat())
    page.dispatch_event("#id_since", "change")
    expect(page.locator("#earlier-count")).to_have_text("2 earlier invoices")
    expect(page.locator("input[name=scope][value=groups]")).to_be_checked()
    screenshots(page, "connect-02-chosen")
    page.click("#finish-setup")

    page.wait_for_url(f"{base}/a/{account.slug}/settings/integrations/")
    expect(page.locator(".messages")).to_contain_text(
        "Importing contacts from Xero: Contacts in the group VIP customers."
    )
    expect(page.locator(".messages")).to_contain_text("Sending 2 earlier invoices to Xero")
    celery_worker.wait_for(
        lambda: (
            ContactImport.objects.filter(status="done").exists()
            and InvoiceSync.objects.filter(state=InvoiceSyncState.SYNCED).count() == 2
        ),
        timeout=30,
    )
    page.reload()
    expect(page.locator("#xero-contacts")).to_contain_text(
        "Contacts in the group VIP customers: done"
    )
    expect(page.locator("#earlier-count")).to_have_text("1 earlier invoice")
    expect(page.locator("#contacts-not-imported")).to_have_count(0)
    screenshots(page, "connect-03-connected-contacts-coming")
    in_xero = {i["InvoiceNumber"]: i for i in xero.invoices(kiwi)}
    assert set(in_xero) == {sent.number, paid.number}
    assert D(str(in_xero[paid.number]["AmountPaid"])) == D("40.00")
    run = ContactImport.objects.get()
    assert run.contact_group_ids == [vip["ContactGroupID"]] and not run.started_automatically

    # Another account's admin leaves set-up right after choosing the payment account.
    page.click("button:has-text('Log out')")
    harbour = account_create(name="Harbour Electrical")
    harbour_admin = user_create(account=harbour, role=Role.ADMIN)
    connect(xero, harbour, harbour_admin, org=HARBOUR)
    log_in(page, base, harbour_admin)
    integrations = f"{base}/a/{harbour.slug}/settings/integrations/"
    page.goto(integrations)
    expect(page.locator("#contacts-not-imported")).to_contain_text(
        f"Contacts from {HARBOUR} have not come in yet. All of them will be imported at"
    )
    screenshots(page, "connect-04-left-before-the-contacts-step")
    XeroConnection.objects.filter(account=harbour).update(
        status_changed_at=timezone.now() - timedelta(minutes=16)
    )
    assert imports.imports_start_where_setup_stopped() == 1  # beat, a minute later
    celery_worker.wait_for(
        lambda: ContactImport.objects.filter(connection__account=harbour, status="done").exists(),
        timeout=30,
    )
    page.reload()
    expect(page.locator("#contacts-automatic")).to_contain_text(
        f"All contacts were imported from {HARBOUR}, because set-up was left before choosing"
    )
    expect(page.locator("#xero-contacts")).to_contain_text("All contacts: done")
    screenshots(page, "connect-05-all-contacts-imported-automatically")
    page.click("#change-contact-filter")
    expect(page.locator("#import-filter")).to_contain_text(
        "Import of: All contacts (started automatically"
    )
    screenshots(page, "connect-06-change-the-filter")
