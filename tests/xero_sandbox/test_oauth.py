"""OAuth 2.0 code flow with PKCE, refresh rotation and grace, 60-day death, revocation,
connections: driven over HTTP, and through the real SDK where the SDK has a call for it."""

import base64
import hashlib
import json
import time
import urllib.parse

import pytest
from xero_python.exceptions import HTTPStatusException

REDIRECT = "http://localhost:8000/xero/callback"
SCOPES = "openid profile email offline_access accounting.contacts accounting.settings " + (
    "accounting.invoices"
)


def consent(http, sandbox, action="allow", tenants=None, challenge="", state="st-1"):
    params = {
        "response_type": "code",
        "client_id": sandbox.client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": state,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = http.request("GET", sandbox.authorize_url, fields=params)
    assert page.status == 200 and b'name="tenant"' in page.data
    form = dict(params, action=action)
    body = urllib.parse.urlencode(form) + "".join(f"&tenant={t}" for t in tenants or [])
    answer = http.request(
        "POST",
        sandbox.authorize_url,
        body=body,
        redirect=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 302, answer.data
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def token_request(http, sandbox, basic=True, **form):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        raw = f"{sandbox.client_id}:{sandbox.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    else:
        form.update(client_id=sandbox.client_id, client_secret=sandbox.client_secret)
    answer = http.request(
        "POST", sandbox.token_url, body=urllib.parse.urlencode(form), headers=headers
    )
    return answer.status, json.loads(answer.data)


def refresh(http, sandbox, refresh_token):
    return token_request(
        http, sandbox, basic=False, grant_type="refresh_token", refresh_token=refresh_token
    )


def test_consent_with_pkce_returns_code_and_state_and_exchanges_once(http, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    back = consent(http, xero_sandbox, tenants=[tenant], challenge=challenge, state="xyz")
    assert back["state"] == "xyz" and back["code"]

    status, body = token_request(
        http,
        xero_sandbox,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier="wrong" * 10,
    )
    assert (status, body) == (400, {"error": "invalid_grant"})
    status, body = token_request(
        http,
        xero_sandbox,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert status == 200
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"
    assert set(body) >= {"id_token", "access_token", "refresh_token", "scope"}
    assert body["scope"] == SCOPES
    status, body = token_request(
        http,
        xero_sandbox,
        grant_type="authorization_code",
        code=back["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert (status, body) == (400, {"error": "invalid_grant"})


def test_cancel_redirects_with_access_denied_and_state(http, xero_sandbox):
    back = consent(http, xero_sandbox, action="cancel", state="s42")
    assert back == {"error": "access_denied", "state": "s42"}


def test_unregistered_redirect_uri_is_refused_when_uris_are_configured(http, xero_sandbox):
    xero_sandbox.configure(redirect_uris=["http://localhost:8000/other"])
    page = http.request(
        "GET",
        xero_sandbox.authorize_url,
        fields={
            "response_type": "code",
            "client_id": xero_sandbox.client_id,
            "redirect_uri": REDIRECT,
            "scope": SCOPES,
            "state": "s",
        },
    )
    assert page.status == 400


def test_code_expires_quickly_and_wrong_client_secret_is_invalid_client(http, xero_sandbox):
    code = xero_sandbox.authorize(redirect_uri=REDIRECT)
    xero_sandbox.advance(seconds=31)
    status, body = token_request(
        http, xero_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert (status, body) == (400, {"error": "invalid_grant"})
    answer = http.request(
        "POST",
        xero_sandbox.token_url,
        body="grant_type=refresh_token&refresh_token=x"
        "&client_id=sandbox-client-id&client_secret=nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 400 and json.loads(answer.data) == {"error": "invalid_client"}


def test_refresh_rotates_and_old_token_works_only_within_grace(http, xero_sandbox):
    first = xero_sandbox.token_for()
    status, second = refresh(http, xero_sandbox, first["refresh_token"])
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    # lost response: retrying the old token within 30 min still works (fresh pair by default)
    xero_sandbox.advance(minutes=29)
    status, again = refresh(http, xero_sandbox, first["refresh_token"])
    assert status == 200 and again["refresh_token"] not in (
        first["refresh_token"],
        second["refresh_token"],
    )
    xero_sandbox.advance(minutes=2)
    assert refresh(http, xero_sandbox, first["refresh_token"]) == (400, {"error": "invalid_grant"})
    status, _ = refresh(http, xero_sandbox, again["refresh_token"])
    assert status == 200


def test_grace_reuse_can_return_the_same_pair_or_reject(http, xero_sandbox):
    xero_sandbox.configure(refresh_grace_reuse="same")
    first = xero_sandbox.token_for()
    _, second = refresh(http, xero_sandbox, first["refresh_token"])
    _, again = refresh(http, xero_sandbox, first["refresh_token"])
    assert again["refresh_token"] == second["refresh_token"]
    xero_sandbox.configure(refresh_grace_reuse="reject")
    assert refresh(http, xero_sandbox, first["refresh_token"]) == (400, {"error": "invalid_grant"})


@pytest.mark.parametrize(("days", "alive"), [(59, True), (61, False)])
def test_refresh_token_dies_after_60_days_unused(http, xero_sandbox, days, alive):
    token = xero_sandbox.token_for()
    xero_sandbox.advance(days=days)
    status, body = refresh(http, xero_sandbox, token["refresh_token"])
    assert (status == 200) is alive
    if not alive:
        assert body == {"error": "invalid_grant"}


def test_sdk_refreshes_expired_access_token_and_saves_rotated_pair(xero_sandbox):
    client = xero_sandbox.sdk()
    old = dict(client.token)
    xero_sandbox.advance(minutes=31)
    client.token["expires_at"] = time.time() - 1  # the SDK judges expiry by its own clock
    orgs = client.accounting.get_organisations(client.tenant_id)
    assert orgs.organisations[0].name
    assert client.saved and client.token["refresh_token"] != old["refresh_token"]
    assert client.token["access_token"] != old["access_token"]


def test_expired_access_token_is_401_token_expired(http, xero_sandbox):
    token = xero_sandbox.token_for()
    xero_sandbox.advance(minutes=30, seconds=1)
    from tests.xero_sandbox.conftest import api

    answer = api(http, xero_sandbox, "GET", "/Organisation", token, xero_sandbox.tenant_id())
    assert answer.status == 401
    assert json.loads(answer.data)["Detail"].startswith("TokenExpired")


def test_unconnected_tenant_and_missing_scope_are_403(http, xero_sandbox):
    from tests.xero_sandbox.conftest import api

    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for(first, scopes="offline_access accounting.settings.read")
    assert api(http, xero_sandbox, "GET", "/Organisation", token, first).status == 200
    denied = api(http, xero_sandbox, "GET", "/Organisation", token, second)
    assert (
        denied.status == 403 and json.loads(denied.data)["Detail"] == "AuthenticationUnsuccessful"
    )
    assert api(http, xero_sandbox, "GET", "/Contacts", token, first, page="1").status == 403
    broad = xero_sandbox.token_for(first, scopes="accounting.transactions.read")
    assert api(http, xero_sandbox, "GET", "/Invoices", broad, first, page="1").status == 200
    assert (
        api(http, xero_sandbox, "PUT", "/Invoices", broad, first, body={"Invoices": []}).status
        == 403
    )


def test_connections_list_filter_and_delete_through_the_sdk(xero_sandbox):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    client = xero_sandbox.sdk(first)
    details = xero_sandbox.authorize_details(tenants=[second])
    connections = client.identity.get_connections()
    assert {c.tenant_id for c in connections} == {first, second}
    latest = client.identity.get_connections(auth_event_id=details["authEventId"])
    assert [c.tenant_id for c in latest] == [second]
    assert latest[0].tenant_name and latest[0].created_date_utc
    client.identity.delete_connection(latest[0].id)  # SDK path is /Connections/{id}
    assert {c.tenant_id for c in client.identity.get_connections()} == {first}
    with pytest.raises(HTTPStatusException) as error:
        client.identity.delete_connection(latest[0].id)
    assert error.value.status == 404
    with pytest.raises(HTTPStatusException) as error:
        client.accounting.get_organisations(second)
    assert error.value.status == 403


def test_revocation_removes_connections_and_kills_refresh(http, xero_sandbox):
    token = xero_sandbox.token_for()
    answer = http.request(
        "POST",
        xero_sandbox.revocation_url,
        body=urllib.parse.urlencode(
            {
                "token": token["refresh_token"],
                "client_id": xero_sandbox.client_id,
                "client_secret": xero_sandbox.client_secret,
            }
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200
    assert refresh(http, xero_sandbox, token["refresh_token"]) == (400, {"error": "invalid_grant"})
    listing = http.request(
        "GET",
        f"{xero_sandbox.url}/Connections",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert listing.status == 401
