"""Every connection status, walked as the tenancy test walks every route: the Integrations page
offers at least one way forward from each, and every action it offers works (it is pressed,
and what it leads to is checked, at Xero too). A status added to ConnectionStatus fails here
until STATES says how to reach it and what each of its actions does; an action added to the
page fails until it is checked here."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test.html import parse_html
from django.urls import resolve, reverse

from xero_sync.client import XeroClient
from xero_sync.client.errors import AuthLost
from xero_sync.connection import tokens
from xero_sync.connection.calls import xero_client_for
from xero_sync.models import ConnectionStatus, XeroConnection

from ..factories import client_for
from .conftest import HARBOUR, KIWI, callback, connect, consent, start_connect

NEVER_CONNECTED = "never connected"


# How to reach each state, as an admin (and Xero) would -------------------------------------
def _never_connected(xero, account, admin):
    pass


def _disconnected(xero, account, admin):
    connect(xero, account, admin)
    client_for(admin).post(reverse("xero_sync:disconnect", args=[account.slug]), {"confirm": "yes"})


def _choosing_organisation(xero, account, admin):
    client = client_for(admin)
    query = start_connect(client, account)
    callback(client, query, consent(xero, query, [KIWI, HARBOUR]))


def _unfinished_reconnect(xero, account, admin):
    """What earlier versions left after a Reconnect that ticked another organisation: the
    grant for it kept in place of the working one, and the organisation still to choose."""
    connection = connect(xero, account, admin)
    stray = xero.token_for(xero.tenant_id(HARBOUR))
    grant = tokens.TokenSet(
        access_token=stray["access_token"],
        refresh_token=stray["refresh_token"],
        expires_at=connection.access_token_expires_at,
        scopes=stray["scope"],
    )
    tokens.connection_store_tokens(connection, grant)
    connection.auth_event_id = grant.auth_event_id
    connection.status = ConnectionStatus.CHOOSING_ORGANISATION
    connection.save()


def _choosing_payment_account(xero, account, admin):
    client = client_for(admin)
    query = start_connect(client, account)
    callback(client, query, consent(xero, query, [KIWI]))


def _needs_reconnect(xero, account, admin):
    connection = connect(xero, account, admin)
    # The organisation's connection is removed on Xero's side (Connected apps); the next
    # sync call finds out.
    XeroClient(connection).delete_connection(connection.xero_connection_id)
    with pytest.raises(AuthLost):
        xero_client_for(connection).organisation()


# What each action must lead to ---------------------------------------------------------------
def _connection(account):
    return XeroConnection.objects.filter(account=account).first()


def _at_xero(xero) -> list[str]:
    return sorted(c["tenantName"] for c in xero.connections())


def _connects_anew(xero, account, admin, response):
    """Connect from not connected: Xero's consent page, then on to the payment account."""
    client, query = _to_xero(admin, response)
    landed = callback(client, query, consent(xero, query, [KIWI]))
    assert landed["Location"] == reverse("xero_sync:payment_account", args=[account.slug])
    assert _connection(account).status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
    assert _at_xero(xero) == [KIWI]


def _reconnects(xero, account, admin, response):
    """Reconnect an account whose data is linked: Xero's consent page, then connected again
    to the same organisation with the same payment account, and syncing."""
    payment_account = _connection(account).payment_account_id
    client, query = _to_xero(admin, response)
    landed = callback(client, query, consent(xero, query, [KIWI]))
    assert landed["Location"] == reverse("xero_sync:integrations", args=[account.slug])
    connection = _connection(account)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.tenant_name == KIWI and connection.payment_account_id == payment_account
    assert XeroClient(connection).organisation().name == KIWI
    assert _at_xero(xero) == [KIWI]


def _to_xero(admin, response):
    """Where Connect sent the browser: Xero's consent page, with the query Xero receives."""
    assert response.status_code == 302
    assert response["Location"].startswith(settings.XERO_AUTHORIZE_URL)
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    return response.client, query  # the same browser session carries the state


def _cancelled_to_not_connected(xero, account, admin, response):
    assert response["Location"] == reverse("xero_sync:integrations", args=[account.slug])
    connection = _connection(account)
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_tokens and not connection.tenant_id
    assert _at_xero(xero) == []  # nothing granted is left dangling at Xero
    assert xero.requests(method="POST", path="/connect/revocation")
    page = response.client.get(response["Location"]).content.decode()
    assert "Not connected" in page and 'id="xero-connect"' in page


def _cancelled_to_needs_reconnect(xero, account, admin, response):
    connection = _connection(account)
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert connection.tenant_name == KIWI and connection.payment_account_id
    assert _at_xero(xero) == [KIWI]  # the stray grant's Harbour is released, Kiwi kept
    page = response.client.get(response["Location"]).content.decode()
    assert f"tick {KIWI}" in page and 'id="xero-reconnect"' in page


def _disconnected_kept_links(xero, account, admin, response):
    connection = _connection(account)
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_tokens and connection.tenant_name == KIWI
    assert connection.payment_account_id
    assert _at_xero(xero) == []


def _kept(xero, account, admin, response):
    assert _connection(account).status == ConnectionStatus.CONNECTED
    page = response.client.get(response["Location"]).content.decode()
    assert "the Xero connection stays" in page


def _page_opens(xero, account, admin, response):
    assert response.status_code == 200


def _organisation_chosen(xero, account, admin, response):
    assert response.status_code == 200
    kiwi = xero.tenant_id(KIWI)
    chosen = client_for(admin).post(response.wsgi_request.path, {"tenant": kiwi})
    assert chosen["Location"] == reverse("xero_sync:payment_account", args=[account.slug])
    assert _connection(account).status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
    assert _at_xero(xero) == [KIWI]


def _payment_account_chosen(xero, account, admin, response):
    assert response.status_code == 200
    stripe = next(a for a in response.context["choices"] if a.name == "Stripe clearing")
    client_for(admin).post(response.wsgi_request.path, {"account": stripe.account_id})
    assert _connection(account).status == ConnectionStatus.CONNECTED


# Links that need a usable connection (contacts, account pickers) are offered only when it is.
CONNECTED_PAGES = {
    "GET tax_mapping": _page_opens,
    "GET contacts": _page_opens,
    "GET activity": _page_opens,
    "GET failures": _page_opens,
    "GET payment_account": _page_opens,
    "GET sales_account": _page_opens,
    "GET past_invoices": _page_opens,
    "GET contact_sync": _page_opens,
    "GET invoice_options": _page_opens,
}

# state -> (status, how to reach it, {action offered on the page: what it must lead to})
STATES = {
    NEVER_CONNECTED: (None, _never_connected, {"POST connect": _connects_anew}),
    "disconnected": (
        ConnectionStatus.DISCONNECTED,
        _disconnected,
        {"POST connect": _reconnects},
    ),
    "choosing organisation": (
        ConnectionStatus.CHOOSING_ORGANISATION,
        _choosing_organisation,
        {"GET organisation": _organisation_chosen, "POST cancel": _cancelled_to_not_connected},
    ),
    "choosing organisation, left by an unfinished reconnect": (
        ConnectionStatus.CHOOSING_ORGANISATION,
        _unfinished_reconnect,
        {"POST connect": _reconnects, "POST cancel": _cancelled_to_needs_reconnect},
    ),
    "choosing payment account": (
        ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
        _choosing_payment_account,
        {
            "GET payment_account": _payment_account_chosen,
            "POST cancel": _cancelled_to_not_connected,
        },
    ),
    "connected": (
        ConnectionStatus.CONNECTED,
        connect,
        {
            **CONNECTED_PAGES,
            # No contacts imported yet: set-up's last step, to choose which (else all come).
            "GET setup_contacts": _page_opens,
            "POST connect": _reconnects,
            "POST keep": _kept,
            "POST disconnect": _disconnected_kept_links,
        },
    ),
    "needs reconnect": (
        ConnectionStatus.NEEDS_RECONNECT,
        _needs_reconnect,
        {
            "GET tax_mapping": _page_opens,
            "GET activity": _page_opens,
            "GET failures": _page_opens,
            # Which contacts go to Xero, and the conflict rule, can be set while reconnecting.
            "GET contact_sync": _page_opens,
            "POST connect": _reconnects,
            "POST disconnect": _disconnected_kept_links,
        },
    ),
}


def test_every_connection_status_is_walked():
    walked = {status for status, _, _ in STATES.values()}
    assert walked == {*ConnectionStatus, None}, "add the new status to STATES in this test"
    assert all(actions for _, _, actions in STATES.values())


def offered_actions(page: str) -> dict[str, str]:
    """The Xero card's actions: "POST <url name>" for each form, "GET <url name>" for each
    link, mapped to their URL."""
    card = _find(parse_html(page), "section", "integration")
    actions = {}
    for element in _elements(card):
        attributes = dict(element.attributes)
        if element.name == "form" and attributes.get("method") == "post":
            url = attributes["action"]
            actions[f"POST {resolve(url).url_name}"] = url
        elif element.name == "a":
            url = attributes["href"]
            actions[f"GET {resolve(urlsplit(url).path).url_name}"] = url
    return actions


def _elements(node):
    for child in getattr(node, "children", []):
        if hasattr(child, "name"):
            yield child
            yield from _elements(child)


def _find(node, name, css_class):
    for element in _elements(node):
        if element.name == name and css_class in dict(element.attributes).get("class", ""):
            return element
    raise AssertionError(f"no <{name} class={css_class}> on the page")


def _reach(state, xero, account, admin):
    status, reach, _ = STATES[state]
    reach(xero, account, admin)
    connection = _connection(account)
    assert (connection.status if connection else None) == status
    xero.clear_requests()


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.django_db
def test_the_integrations_page_offers_a_way_forward_from(state, xero, account, admin_user):
    _reach(state, xero, account, admin_user)
    response = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert response.status_code == 200
    offered = offered_actions(response.content.decode())
    assert set(offered) == set(STATES[state][2]), "what the page offers is what is checked"


ACTIONS = [(state, action) for state, (_, _, actions) in STATES.items() for action in actions]


@pytest.mark.parametrize(("state", "action"), ACTIONS, ids=[f"{s}: {a}" for s, a in ACTIONS])
@pytest.mark.django_db
def test_each_action_offered_works(state, action, xero, account, admin_user):
    _reach(state, xero, account, admin_user)
    client = client_for(admin_user)
    page = client.get(reverse("xero_sync:integrations", args=[account.slug]))
    url = offered_actions(page.content.decode())[action]
    method, _ = action.split(" ")
    response = client.post(url) if method == "POST" else client.get(url)
    if method == "POST" and 'id="confirm-button"' in response.content.decode():
        # What cannot be undone with a click (Disconnect) only asks first; the admin confirms.
        assert response.status_code == 200
        response = client.post(url, {"confirm": "yes"})
    assert response.status_code < 500
    STATES[state][2][action](xero, account, admin_user, response)
