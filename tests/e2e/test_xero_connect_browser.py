"""The admin's Xero set-up, clicked through in headless Chromium against the sandbox:
Connect -> consent with two organisations -> pick one -> pick the payment account ->
integration page -> Disconnect -> Reconnect."""

import pytest

from platform_crm.models import Role
from xero_sync.models import ConnectionStatus, XeroConnection

from ..browser import log_in, screenshot, screenshots
from ..factories import account_create, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import HARBOUR, KIWI, connect

pytestmark = pytest.mark.slow


@pytest.fixture
def admin_in_browser(page, live_server, settings, xero_sandbox, transactional_db):
    point_at_sandbox(settings, xero_sandbox)
    settings.XERO_REDIRECT_URI = f"{live_server.url}/xero/callback/"
    account = account_create(name="Kiwi Plumbing")
    log_in(page, live_server.url, user_create(account=account, role=Role.ADMIN))
    page.wait_for_url(f"{live_server.url}/a/{account.slug}/contacts/")
    return page, account, live_server.url


def test_admin_connects_picks_org_and_account_then_disconnects_and_reconnects(
    admin_in_browser, xero_sandbox
):
    page, account, base = admin_in_browser
    integrations = f"{base}/a/{account.slug}/settings/integrations/"
    page.goto(integrations)
    page.click("#xero-connect")

    # Xero's consent page (the sandbox's), with both organisations.
    page.wait_for_selector("#consent-form")
    kiwi, harbour = xero_sandbox.tenant_id(KIWI), xero_sandbox.tenant_id(HARBOUR)
    page.check(f"#tenant-{kiwi}")
    page.check(f"#tenant-{harbour}")
    screenshot(page, "xero-01-consent")
    page.click("#allow")

    page.wait_for_url(f"{integrations}xero/organisation/")
    assert page.locator("input[name=tenant]").count() == 2
    page.check(f"input[name=tenant][value='{kiwi}']")
    screenshot(page, "xero-02-organisation")
    page.click("#choose-organisation")

    page.wait_for_url(f"{integrations}xero/payment-account/")
    offered = page.locator("label.check").all_inner_texts()
    assert any("Stripe clearing" in label for label in offered)
    accounts = xero_sandbox.state(kiwi, "accounts")["Accounts"]
    hidden = [
        a["Name"]
        for a in accounts
        if a["Type"] == "BANK" or a["Status"] != "ACTIVE" or not a.get("EnablePaymentsToAccount")
    ]
    assert hidden and not any(name in label for name in hidden for label in offered)
    page.click("summary:has-text('Unable to find the account?')")
    assert page.is_visible("text=Enable payments to this account")
    screenshot(page, "xero-03-payment-account")
    page.check("label.check:has-text('Stripe clearing') input")
    page.click("#choose-payment-account")

    page.wait_for_url(f"{integrations}xero/taxes/")
    page.goto(integrations)
    assert page.inner_text("#xero-status").strip() == "Connected"
    assert page.inner_text("#xero-org") == KIWI
    assert "Stripe clearing" in page.inner_text("#xero-payment-account")
    screenshot(page, "xero-04-connected")

    page.click("#xero-disconnect")
    page.click("#confirm-button")  # Disconnect asks first, saying what happens on both sides
    page.wait_for_selector("#xero-connect")
    assert page.inner_text("#xero-status").strip() == "Disconnected"
    assert XeroConnection.objects.get(account=account).status == ConnectionStatus.DISCONNECTED

    page.click("#xero-connect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{kiwi}")
    page.click("#allow")
    page.wait_for_url(integrations)
    assert page.inner_text("#xero-status").strip() == "Connected"
    assert page.is_visible(f"text=Reconnected to {KIWI}")
    screenshot(page, "xero-05-reconnected")


def test_a_reconnect_that_ticks_another_organisation_keeps_the_working_connection(
    admin_in_browser, xero_sandbox
):
    page, account, base = admin_in_browser
    admin = account.memberships.get().user
    connection = connect(xero_sandbox, account, admin, org=KIWI)
    refresh_token = connection.refresh_token_encrypted
    integrations = f"{base}/a/{account.slug}/settings/integrations/"
    page.goto(integrations)
    screenshots(page, "xero-reconnect-01-connected")

    page.click("#xero-reconnect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{xero_sandbox.tenant_id(HARBOUR)}")  # not the account's organisation
    page.click("#allow")

    page.wait_for_url(integrations)
    alert = page.inner_text(".messages")
    assert f"linked to {KIWI}" in alert and f"still connected to {KIWI}" in alert
    assert page.inner_text("#xero-status").strip() == "Connected"
    assert page.inner_text("#xero-org") == KIWI
    screenshots(page, "xero-reconnect-02-other-organisation-refused")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.refresh_token_encrypted == refresh_token
    assert [c["tenantName"] for c in xero_sandbox.connections()] == [KIWI]


def test_an_unfinished_connection_can_be_finished_or_cancelled(admin_in_browser, xero_sandbox):
    page, account, base = admin_in_browser
    integrations = f"{base}/a/{account.slug}/settings/integrations/"
    page.goto(integrations)
    page.click("#xero-connect")
    page.wait_for_selector("#consent-form")
    page.check(f"#tenant-{xero_sandbox.tenant_id(KIWI)}")
    page.check(f"#tenant-{xero_sandbox.tenant_id(HARBOUR)}")
    page.click("#allow")
    page.wait_for_url(f"{integrations}xero/organisation/")

    page.goto(integrations)  # the admin wanders off before choosing
    assert page.inner_text("#xero-status").strip() == "Choosing organisation"
    assert page.is_visible("#xero-finish") and page.is_visible("#xero-cancel")
    screenshots(page, "xero-unfinished-01-choosing-organisation")

    page.click("#xero-cancel")
    page.wait_for_selector("#xero-connect")
    assert page.inner_text("#xero-status").strip() == "Not connected"
    assert "cancelled" in page.inner_text(".messages")
    screenshots(page, "xero-unfinished-02-cancelled")
    assert xero_sandbox.connections() == []
