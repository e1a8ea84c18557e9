"""Access tokens shaped like Xero's JWTs: the product reads authentication_event_id from the
middle segment (no signature check) to call GET /connections?authEventId=."""

import base64
import json
import urllib.parse

from xero_sandbox.identity import jwt_claims

ACCESS_CLAIMS = {
    "nbf",
    "exp",
    "iss",
    "aud",
    "client_id",
    "sub",
    "auth_time",
    "xero_userid",
    "jti",
    "authentication_event_id",
    "scope",
}


def segment(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def exchange(http, sandbox, code: str) -> dict:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost/callback",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    answer = http.request(
        "POST",
        sandbox.token_url,
        body=urllib.parse.urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200, answer.data
    return json.loads(answer.data)


def test_access_token_is_a_xero_shaped_jwt_naming_its_auth_event(http, xero_sandbox):
    details = xero_sandbox.authorize_details(tenants=[xero_sandbox.tenant_id()])
    token = exchange(http, xero_sandbox, details["code"])
    access = token["access_token"]
    assert access.count(".") == 2
    header = segment(access, 0)
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"]
    claims = jwt_claims(access)
    assert set(claims) >= ACCESS_CLAIMS
    assert claims["authentication_event_id"] == details["authEventId"]
    assert claims["iss"] == "https://identity.xero.com"
    assert claims["client_id"] == xero_sandbox.client_id
    assert claims["scope"] == details["scope"].split() and isinstance(claims["scope"], list)
    assert claims["exp"] - claims["nbf"] == token["expires_in"] == 1800
    assert len(base64.urlsafe_b64decode(access.split(".")[2] + "==")) == 256
    id_claims = jwt_claims(token["id_token"])
    assert id_claims["xero_userid"] == claims["xero_userid"]
    assert id_claims["aud"] == xero_sandbox.client_id


def test_product_style_connections_lookup_by_the_tokens_auth_event(xero_sandbox):
    first, second = (t["tenantId"] for t in xero_sandbox.tenants()[:2])
    xero_sandbox.token_for(first)  # an earlier authorisation of another org
    client = xero_sandbox.sdk(second)
    event = jwt_claims(client.token["access_token"])["authentication_event_id"]
    found = client.identity.get_connections(auth_event_id=event)
    assert [c.tenant_id for c in found] == [second]


def test_tokens_are_unique_and_refresh_keeps_the_auth_event(xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    client = xero_sandbox.sdk(tenant)
    before = client.token
    client.token = dict(before, expires_at=0)  # the SDK refreshes before the next call
    client.accounting.get_organisations(tenant)
    after = client.token
    assert after["access_token"] != before["access_token"]
    old, new = jwt_claims(before["access_token"]), jwt_claims(after["access_token"])
    assert new["authentication_event_id"] == old["authentication_event_id"]
    assert new["jti"] != old["jti"]
    # same instant, same claims apart from ids: the signature segment alone keeps them apart
    signatures = {xero_sandbox.token_for(tenant)["access_token"].split(".")[2] for _ in range(3)}
    assert len(signatures) == 3
