"""Contacts both ways, in the browser, with a real worker: staff edit a linked contact's email
and the sandbox has it about a second later, and the next invoice goes to that contact; an
admin resolves the demo's Chloe Wu case on Possible duplicates (the CRM's two Chloe Wus merged,
then her two Xero contacts settled), ending with one contact."""

import time
from decimal import Decimal

import pytest

from contacts.models import Contact
from demo.data import DEMO_DUPLICATES
from platform_crm.models import Role
from xero_sync.models import (
    ContactSync,
    ContactSyncState,
    DuplicateResolution,
    InvoiceSync,
    InvoiceSyncState,
    PossibleDuplicate,
    XeroContact,
)
from xero_sync.taxes import services as tax_services

from ..browser import log_in, screenshots
from ..factories import account_create, contact_make, invoice_make, tax_rate_make, user_create
from ..support.contacts import demo_contacts_make
from ..support.invoices import lines
from ..support.waiting import wait_until
from ..xero_sync.conftest import KIWI, connect, run_import

pytestmark = pytest.mark.slow


@pytest.fixture
def kiwi(live_server, base_url_on_sandbox, xero_sandbox, transactional_db, celery_worker):
    """The demo's Kiwi Plumbing, connected to the sandbox's demo organisation, its contacts
    imported (and so linked), with an admin and a staff member."""
    account = account_create(name="Kiwi Plumbing")
    demo_contacts_make(account)
    demo_contacts_make(account, DEMO_DUPLICATES)
    admin = user_create(account=account, role=Role.ADMIN)
    staff = user_create(account=account, role=Role.STAFF)
    connection = connect(xero_sandbox, account, admin)
    run_import(connection)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    return account, admin, staff, gst


def in_xero(xero_sandbox, xero_id: str) -> dict:
    contacts = xero_sandbox.contacts(xero_sandbox.tenant_id(KIWI))
    return next(c for c in contacts if c["ContactID"] == xero_id)


def test_staff_edit_a_linked_contacts_email_and_xero_has_it_then_the_next_invoice_goes_there(
    page, live_server, xero_sandbox, kiwi
):
    account, _, staff, gst = kiwi
    ben = Contact.objects.get(account=account, email="benjamin@carter-builds.example")
    xero_id = XeroContact.objects.get(contact=ben).xero_contact_id
    log_in(page, live_server.url, staff)
    page.goto(f"{live_server.url}/a/{account.slug}/contacts/{ben.pk}/edit/")
    page.fill("#id_email", "ben@new-office.example")
    saved_at = time.monotonic()
    page.click("form.card button.primary")
    page.wait_for_selector("#xero-link")

    wait_until(
        lambda: in_xero(xero_sandbox, xero_id)["EmailAddress"] == "ben@new-office.example",
        timeout=30,  # generous for a loaded machine; the time taken is printed
        interval=0.05,
    )
    took = time.monotonic() - saved_at
    print(f"\nthe edit was in the sandbox {took:.2f} s after Save")
    wait_until(
        lambda: ContactSync.objects.get(contact=ben).state == ContactSyncState.SYNCED, timeout=15
    )
    page.reload()
    assert "Changes made here: In Xero (last sent" in page.inner_text("#xero-push")
    screenshots(page, "contacts-to-xero-01-contact")

    # The next invoice is addressed to the contact Xero now has at the new address.
    invoice = invoice_make(account, contact=ben, issue=True, lines=lines(gst))
    wait_until(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=InvoiceSyncState.SYNCED).exists(),
        timeout=60,
        describe=lambda: str(
            InvoiceSync.objects.filter(invoice=invoice).values("state", "error").first()
        ),
    )
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero_invoice = next(
        i
        for i in xero_sandbox.invoices(xero_sandbox.tenant_id(KIWI))
        if i["InvoiceID"] == sync.xero_invoice_id
    )
    assert xero_invoice["Contact"]["ContactID"] == xero_id
    assert in_xero(xero_sandbox, xero_id)["EmailAddress"] == "ben@new-office.example"


def test_the_admin_resolves_chloe_wu_on_possible_duplicates(page, live_server, kiwi):
    account, admin, _, _ = kiwi
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/a/{account.slug}/contacts/")
    page.click("#possible-duplicates")
    page.wait_for_selector("#crm-duplicates")
    assert "2 contacts with the same name (chloe wu)" in page.inner_text("#crm-duplicates")
    assert "Xero also has Chloe Wu" in page.inner_text("#xero-duplicates")
    screenshots(page, "contacts-to-xero-02-duplicates")

    # The Chloe Wu linked to Xero is kept; the one typed in again is merged into her.
    linked = XeroContact.objects.get(contact__account=account, contact__last_name="Wu").contact
    group = page.locator(".duplicate-group[data-key='name:chloe wu']")
    group.locator(f"input[name=survivor][value='{linked.pk}']").check()
    group.locator("button[value=merge]").click()
    page.wait_for_selector("text=Merged into Chloe Wu")
    assert Contact.objects.filter(account=account, last_name="Wu").count() == 1
    survivor = Contact.objects.get(account=account, last_name="Wu")
    assert survivor.pk == linked.pk

    # Her two Xero contacts: she is the person Chloe Wu, not the company.
    page.locator(".xero-duplicate[data-contact='Chloe Wu'] button[value=link_instead]").click()
    page.wait_for_selector("text=is now linked to Chloe Wu in Xero")
    assert "No Xero contact is waiting for a decision." in page.inner_text("#xero-duplicates")
    assert "No contacts here share" in page.inner_text("#crm-duplicates")
    screenshots(page, "contacts-to-xero-03-resolved")
    held = PossibleDuplicate.objects.filter(contact=survivor).order_by("pk")
    assert sorted(held.values_list("resolution", flat=True)) == sorted(
        [DuplicateResolution.LINKED_INSTEAD, DuplicateResolution.KEPT_ONE]
    )
    assert XeroContact.objects.get(contact=survivor).payload["Name"] == "Chloe Wu"

    # Where the admin chooses which contacts go and the conflict rule, and where it shows.
    page.goto(f"{live_server.url}/a/{account.slug}/settings/integrations/")
    assert "Only contacts that are invoiced" in page.inner_text("#xero-contact-push")
    page.click("#change-contact-push")
    screenshots(page, "contacts-to-xero-04-choice")
    page.check("#push-customers")
    page.check("#rule-xero")
    page.click("#save-contact-sync")
    assert "Every customer; xero wins" in page.inner_text("#xero-contact-push")
    screenshots(page, "contacts-to-xero-05-integrations")
    page.goto(f"{live_server.url}/a/{account.slug}/settings/integrations/xero/activity/")
    assert "0 conflicts" in page.inner_text("#contact-conflicts")
    screenshots(page, "contacts-to-xero-06-activity")


@pytest.mark.parametrize(("rule", "kept"), [("latest", "crm"), ("xero", "xero"), ("crm", "crm")])
def test_the_same_field_changed_in_both_places_follows_the_rule_and_the_history_shows_both(
    page, live_server, xero_sandbox, kiwi, rule, kept
):
    account, admin, _, _ = kiwi
    aroha = Contact.objects.get(account=account, first_name="Aroha")
    xero_id = XeroContact.objects.get(contact=aroha).xero_contact_id
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/a/{account.slug}/settings/integrations/xero/contacts/to-xero/")
    page.check(f"#rule-{rule}")
    page.click("#save-contact-sync")
    # Changed in Xero by someone there (its webhook not yet arrived), then here.
    xero_sandbox.edit_contact(
        xero_sandbox.tenant_id(KIWI), xero_id, EmailAddress="aroha@in-xero.example", quiet=True
    )
    page.goto(f"{live_server.url}/a/{account.slug}/contacts/{aroha.pk}/edit/")
    page.fill("#id_email", "aroha@in-crm.example")
    page.click("form.card button.primary")
    page.wait_for_selector("#xero-link")
    wait_until(
        lambda: ContactSync.objects.get(contact=aroha).state == ContactSyncState.SYNCED, timeout=30
    )
    winner = {"crm": "aroha@in-crm.example", "xero": "aroha@in-xero.example"}[kept]
    assert in_xero(xero_sandbox, xero_id)["EmailAddress"] == winner
    page.reload()
    assert page.inner_text("dl.details").count(winner) == 1
    history = page.inner_text("#history")
    assert "Conflict: Email changed in both places: here “aroha@in-crm.example”, in Xero" in (
        history
    )
    assert ("Kept Xero's" if kept == "xero" else "Kept this CRM's") in history
    if rule == "xero":
        screenshots(page, "contacts-to-xero-07-conflict")


def test_an_invoice_for_a_name_xero_gives_another_contact_waits_until_the_admin_says_same(
    page, live_server, xero_sandbox, kiwi
):
    """No silent link by name: "Clash Co" here (billing@clash-crm) is invoiced for the first
    time while Xero's "Clash Co" has another email. The invoice waits, saying why, with a link
    to Possible duplicates; the admin says they are the same, and it goes to that contact."""
    account, admin, _, gst = kiwi
    tenant = xero_sandbox.tenant_id(KIWI)
    xero_sandbox.create_contact(
        tenant, Name="Clash Co", EmailAddress="accounts@clash-xero.example", quiet=True
    )
    theirs = next(c for c in xero_sandbox.contacts(tenant) if c["Name"] == "Clash Co")
    clash = contact_make(
        account, first_name="", last_name="", company_name="Clash Co",
        email="billing@clash-crm.example",
    )  # fmt: skip
    invoice = invoice_make(account, contact=clash, issue=True, lines=lines(gst))
    wait_until(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=InvoiceSyncState.HELD).exists(),
        timeout=60,
        describe=lambda: str(InvoiceSync.objects.filter(invoice=invoice).values().first()),
    )
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/{invoice.pk}/")
    assert page.inner_text("#sync-state") == "Waiting for a decision"
    assert "accounts@clash-xero.example in Xero" in page.inner_text("#sync-error")
    screenshots(page, "contacts-to-xero-08-invoice-waits")
    page.click("#sync-fix")
    card = page.locator("form.xero-name-match", has_text="Clash Co")
    assert "nothing else says they are one" in card.inner_text()
    screenshots(page, "contacts-to-xero-09-name-match")
    card.get_by_role("button", name="Same contact: link them and send the invoice").click()
    page.wait_for_load_state()
    wait_until(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=InvoiceSyncState.SYNCED).exists(),
        timeout=60,
    )
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero_invoice = next(
        i for i in xero_sandbox.invoices(tenant) if i["InvoiceID"] == sync.xero_invoice_id
    )
    assert xero_invoice["Contact"]["ContactID"] == theirs["ContactID"]
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/{invoice.pk}/")
    assert page.inner_text("#sync-state") == "In Xero"
