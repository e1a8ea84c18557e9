"""Connecting an account to Xero through the product's views, against the sandbox."""

import pytest
from django.core import mail
from django.urls import reverse

from platform_crm.models import Role
from xero_sync.client import XeroClient
from xero_sync.connection import token_vault, tokens
from xero_sync.contacts.pull import contacts_poll
from xero_sync.models import ConnectionStatus, XeroConnection, XeroContact

from ..factories import account_create, client_for, user_create
from .conftest import HARBOUR, KIWI, callback, connect, consent, run_import, start_connect


@pytest.mark.django_db
def test_connect_asks_xero_for_the_documented_scopes_with_pkce_and_state(xero, account, admin_user):
    query = start_connect(client_for(admin_user), account)
    assert query["response_type"] == "code"
    assert query["client_id"] == xero.client_id
    assert set(query["scope"].split()) == {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.contacts",
        "accounting.settings",
        "accounting.invoices",
        "accounting.payments",
    }
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"]


@pytest.mark.django_db
def test_two_organisations_the_admin_picks_one_and_the_other_is_released(xero, account, admin_user):
    connection = connect(xero, account, admin_user, org=KIWI, also=(HARBOUR,))
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.tenant_name == KIWI
    assert connection.payment_account_name == "Stripe clearing"
    assert connection.connected_by == admin_user
    # Harbour was authorised too, but is not ours to keep: its connection is deleted at Xero.
    deletes = xero.requests(method="DELETE", path="/connections/*")
    assert len(deletes) == 1 and deletes[0]["status"] == 204


@pytest.mark.django_db
def test_payment_account_choices_leave_out_bank_archived_and_payment_disabled(
    xero, account, admin_user
):
    client = client_for(admin_user)
    query = start_connect(client, account)
    response = callback(client, query, consent(xero, query, [KIWI]))
    page = client.get(response["Location"])
    names = {a.name for a in page.context["choices"]}
    accounts = xero.state(xero.tenant_id(KIWI), "accounts")["Accounts"]
    offered = {
        a["Name"]
        for a in accounts
        if a["Status"] == "ACTIVE" and a.get("EnablePaymentsToAccount") and a["Type"] != "BANK"
    }
    assert names == offered
    assert {"Stripe clearing", "Undeposited funds", "PayPal clearing"} <= names
    assert not names & {a["Name"] for a in accounts if a["Type"] == "BANK"}
    assert "Unable to find the account?" in page.content.decode()


@pytest.mark.django_db
def test_tokens_are_stored_encrypted_with_expiry_and_scope_list(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    assert connection.access_token_expires_at is not None
    assert "offline_access" in connection.scopes
    access = token_vault.decrypt(connection.access_token_encrypted)
    assert access and access not in connection.access_token_encrypted


@pytest.mark.django_db
def test_an_organisation_held_by_another_account_is_refused(xero, account, admin_user):
    connect(xero, account, admin_user)
    other = account_create(name="Copycat Ltd")
    other_admin = user_create(account=other, role=Role.ADMIN)
    client = client_for(other_admin)
    query = start_connect(client, other)
    response = callback(client, query, consent(xero, query, [KIWI]))
    page = client.get(response["Location"], follow=True).content.decode()
    assert "already connected to another Platform CRM account" in page
    assert XeroConnection.objects.get(account=other).status != ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_a_replayed_or_foreign_state_is_refused(xero, account, admin_user):
    client = client_for(admin_user)
    query = start_connect(client, account)
    code = consent(xero, query, [KIWI])
    # Someone else's browser presenting this state (and code) gets nothing.
    intruder = client_for(user_create(account=account, role=Role.ADMIN))
    refused = intruder.get(
        reverse("xero_callback"), {"code": code, "state": query["state"]}, follow=True
    )
    assert "Xero connection refused" in refused.content.decode()
    # The rightful callback works once; replaying it is refused.
    assert callback(client, query, code)["Location"].endswith("/payment-account/")
    replay = client.get(
        reverse("xero_callback"), {"code": code, "state": query["state"]}, follow=True
    )
    assert "already used" in replay.content.decode()
    forged = client.get(reverse("xero_callback"), {"code": code, "state": "forged"}, follow=True)
    assert "invalid or has expired" in forged.content.decode()


@pytest.mark.django_db
def test_cancel_on_the_consent_page_changes_nothing(xero, account, admin_user):
    client = client_for(admin_user)
    query = start_connect(client, account)
    response = client.get(
        reverse("xero_callback"), {"error": "access_denied", "state": query["state"]}, follow=True
    )
    assert "cancelled" in response.content.decode()
    assert not XeroConnection.objects.filter(account=account, status="connected").exists()


@pytest.mark.django_db
def test_disconnect_deletes_the_connection_at_xero_and_reconnect_resumes(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    client = client_for(admin_user)
    disconnect = reverse("xero_sync:disconnect", args=[account.slug])
    # One click only asks, saying what happens on both sides; nothing changes yet.
    for asked in (client.get(disconnect), client.post(disconnect)):
        assert asked.status_code == 200
        page = asked.content.decode()
        assert 'id="effects-here"' in page and 'id="effects-xero"' in page
        assert f"Platform CRM&#x27;s access to {KIWI} is removed" in page
        assert "Nothing in Xero is deleted" in page
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert not xero.requests(method="DELETE", path="/connections/*")
    client.post(disconnect, {"confirm": "yes"})
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_tokens
    assert xero.requests(method="DELETE", path="/connections/*")[-1]["status"] == 204
    assert xero.requests(method="POST", path="/connect/revocation")
    # Local choices stay, so a reconnect to the same organisation resumes without set-up.
    assert connection.payment_account_name == "Stripe clearing"
    query = start_connect(client, account)
    response = callback(client, query, consent(xero, query, [KIWI]))
    assert response["Location"] == reverse("xero_sync:integrations", args=[account.slug])
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert XeroConnection.objects.filter(account=account).count() == 1


@pytest.mark.django_db
def test_reconnecting_to_a_different_organisation_is_refused(xero, account, admin_user):
    connect(xero, account, admin_user, org=KIWI)
    client = client_for(admin_user)
    client.post(reverse("xero_sync:disconnect", args=[account.slug]), {"confirm": "yes"})
    query = start_connect(client, account)
    response = callback(client, query, consent(xero, query, [HARBOUR]))
    page = client.get(response["Location"], follow=True).content.decode()
    assert f"linked to {KIWI}" in page and "Nothing changed here" in page
    connection = XeroConnection.objects.get(account=account)
    assert connection.status == ConnectionStatus.DISCONNECTED and not connection.has_tokens
    assert xero.connections() == []  # the grant for Harbour is given back


@pytest.mark.django_db
def test_integration_page_shows_the_connection(xero, account, admin_user):
    connect(xero, account, admin_user)
    page = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    text = page.content.decode()
    assert KIWI in text and "Stripe clearing" in text and admin_user.username in text
    assert "API calls left today" in text
    assert "Read the chart of accounts" in text  # recent sync activity, in words


@pytest.mark.django_db
def test_staff_cannot_connect_and_other_admins_cannot_see(
    xero, account, admin_user, staff_user, outsider
):
    connect(xero, account, admin_user)
    url = reverse("xero_sync:integrations", args=[account.slug])
    assert client_for(staff_user).get(url).status_code == 403
    assert (
        client_for(staff_user)
        .post(reverse("xero_sync:disconnect", args=[account.slug]), {"confirm": "yes"})
        .status_code
        == 403
    )
    response = client_for(outsider).get(url)
    assert response.status_code == 404 and KIWI not in response.content.decode()
    assert XeroConnection.objects.get(account=account).status == ConnectionStatus.CONNECTED
    assert not mail.outbox


@pytest.mark.django_db
def test_a_reconnect_that_ticks_another_organisation_leaves_the_working_connection_alone(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user, org=KIWI)
    run_import(connection, admin_user)
    connection.refresh_from_db()
    refresh_token = token_vault.decrypt(connection.refresh_token_encrypted)
    client = client_for(admin_user)

    query = start_connect(client, account)
    response = callback(client, query, consent(xero, query, [HARBOUR]))

    assert response["Location"] == reverse("xero_sync:integrations", args=[account.slug])
    page = client.get(response["Location"]).content.decode()
    assert f"linked to {KIWI}" in page and f"still connected to {KIWI}" in page
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.tenant_name == KIWI
    # The working refresh token is the one kept, and Xero still takes it.
    assert token_vault.decrypt(connection.refresh_token_encrypted) == refresh_token
    tokens.access_token_for(connection, force_refresh=True)
    # The access to Harbour that the stray consent created is given back at Xero.
    assert [t.tenant_name for t in XeroClient(connection).connections()] == [KIWI]
    # And the live sync goes on: a contact added in Xero arrives with the next poll.
    made = xero.create_contact(connection.tenant_id, Name="After The Stray Reconnect Ltd")
    contacts_poll(connection)
    assert XeroContact.objects.filter(
        connection=connection, xero_contact_id=made["ContactID"]
    ).exists()


@pytest.mark.django_db
def test_a_first_consent_only_to_an_organisation_held_elsewhere_goes_back_to_not_connected(
    xero, account, admin_user
):
    holder = connect(xero, account, admin_user, org=HARBOUR)
    other = account_create(name="Latecomer Ltd")
    other_admin = user_create(account=other, role=Role.ADMIN)
    client = client_for(other_admin)

    query = start_connect(client, other)
    response = callback(client, query, consent(xero, query, [HARBOUR]))

    integrations = reverse("xero_sync:integrations", args=[other.slug])
    assert response["Location"] == integrations
    page = client.get(integrations).content.decode()
    assert "already connected to another Platform CRM account" in page
    assert 'id="xero-connect"' in page and "Not connected" in page
    latecomer = XeroConnection.objects.get(account=other)
    assert latecomer.status == ConnectionStatus.DISCONNECTED
    assert not latecomer.has_tokens and not latecomer.tenant_id
    # The account that holds Harbour is untouched and still reaches it.
    holder.refresh_from_db()
    assert holder.status == ConnectionStatus.CONNECTED
    assert XeroClient(holder).organisation().name == HARBOUR
    assert [c["tenantName"] for c in xero.connections()] == [HARBOUR]


@pytest.mark.django_db
def test_a_reconnect_that_ticks_its_organisation_among_others_keeps_it_and_releases_the_rest(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user, org=KIWI)
    client = client_for(admin_user)
    query = start_connect(client, account)
    response = callback(client, query, consent(xero, query, [HARBOUR, KIWI]))
    # No organisation to choose: the account's data says which one it is.
    assert response["Location"] == reverse("xero_sync:integrations", args=[account.slug])
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED and connection.tenant_name == KIWI
    assert [c["tenantName"] for c in xero.connections()] == [KIWI]


@pytest.mark.django_db
def test_the_organisation_chooser_marks_one_held_elsewhere_and_will_not_take_it(
    xero, account, admin_user
):
    connect(xero, account, admin_user, org=HARBOUR)
    other = account_create(name="Latecomer Ltd")
    client = client_for(user_create(account=other, role=Role.ADMIN))
    query = start_connect(client, other)
    chooser = callback(client, query, consent(xero, query, [KIWI, HARBOUR]))["Location"]
    page = client.get(chooser).content.decode()
    assert f"{HARBOUR} (connected to another Platform CRM account)" in page
    refused = client.post(chooser, {"tenant": xero.tenant_id(HARBOUR)}, follow=True)
    assert "already connected to another Platform CRM account" in refused.content.decode()
    assert XeroConnection.objects.get(account=other).status == (
        ConnectionStatus.CHOOSING_ORGANISATION
    )
    # Cancel from the chooser: Kiwi, granted for nothing, is released; Harbour stays with
    # the account that holds it.
    client.post(reverse("xero_sync:cancel", args=[other.slug]))
    assert [c["tenantName"] for c in xero.connections()] == [HARBOUR]
    assert XeroConnection.objects.get(account=account).status == ConnectionStatus.CONNECTED
