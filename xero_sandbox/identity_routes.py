"""HTTP side of identity: the consent page, the token and revocation endpoints, connections."""

import base64
import html
import re
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .accounting.envelope import problem
from .identity import AccessToken, GrantError
from .routes import Route
from .sandbox import Sandbox
from .wire import Request, Response, html_response, json_response, redirect

AUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _with_query(uri: str, **params: str | None) -> str:
    joiner = "&" if "?" in uri else "?"
    return uri + joiner + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def _consent_page(sandbox: Sandbox, params: dict[str, Any], message: str = "") -> Response:
    with sandbox.store.lock:
        tenants = list(sandbox.store.tenants.values())
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(params.get(k) or "")}">'
        for k in AUTH_PARAMS
    )
    boxes = "".join(
        f'<li><input type="checkbox" name="tenant" id="tenant-{t.id}" value="{t.id}">'
        f' <label for="tenant-{t.id}">{html.escape(t.name)}</label>'
        f" <small>({html.escape(t.organisation.get('CountryCode', ''))},"
        " owner: Demo Owner)</small></li>"
        for t in tenants
    )
    scopes = "".join(
        f"<li><code>{html.escape(s)}</code></li>" for s in (params.get("scope") or "").split()
    )
    note = f'<p class="error" id="consent-error">{html.escape(message)}</p>' if message else ""
    return html_response(f"""<!doctype html><html><head><meta charset="utf-8">
<title>Xero sandbox: allow access</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}.error{{color:#b00}}
button{{padding:.5em 1.5em;margin-right:1em}}</style></head><body>
<h1>Allow access to your Xero organisations</h1>
<p>Signed in as <strong>Demo Owner</strong> (demo.owner@sandbox.example).</p>
<p>The app <code>{html.escape(params.get("client_id") or "")}</code> asks for:</p><ul>{scopes}</ul>
{note}<form method="post" action="/identity/connect/authorize" id="consent-form">{hidden}
<fieldset><legend>Organisations</legend><ul id="organisations">{boxes}</ul></fieldset>
<button type="submit" name="action" value="allow" id="allow">Allow access</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form></body></html>""")


def _check_authorize(sandbox: Sandbox, params: dict[str, Any]) -> Response | None:
    """Errors shown to the user (no redirect) or sent back to a trusted redirect URI."""
    client_id, uri = params.get("client_id"), params.get("redirect_uri") or ""
    if client_id != sandbox.settings.client_id:
        return html_response(
            "<h1>Error</h1><p id='error'>unauthorized_client: unknown client_id</p>", 400
        )
    if not sandbox.identity.redirect_allowed(uri):
        return html_response("<h1>Error</h1><p id='error'>invalid redirect_uri</p>", 400)
    if params.get("response_type") != "code":
        return redirect(
            _with_query(uri, error="unsupported_response_type", state=params.get("state"))
        )
    if not (params.get("scope") or "").split():
        return redirect(_with_query(uri, error="invalid_scope", state=params.get("state")))
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "", "S256", "plain"):
        return redirect(_with_query(uri, error="invalid_request", state=params.get("state")))
    return None


def authorize_page(sandbox: Sandbox, request: Request) -> Response:
    params = dict(request.query)
    return _check_authorize(sandbox, params) or _consent_page(sandbox, params)


def authorize_submit(sandbox: Sandbox, request: Request) -> Response:
    form = request.form()
    params = {k: (form.get(k) or [""])[0] for k in AUTH_PARAMS}
    failure = _check_authorize(sandbox, params)
    if failure:
        return failure
    uri, state = params["redirect_uri"], params.get("state") or None
    if (form.get("action") or [""])[0] != "allow":
        return redirect(_with_query(uri, error="access_denied", state=state))
    chosen = form.get("tenant") or []
    with sandbox.store.lock:
        known = [t for t in chosen if sandbox.store.tenant(t)]
        if not known:
            return _consent_page(sandbox, params, "Choose at least one organisation.")
        code = sandbox.identity.consent(
            client_id=params["client_id"],
            redirect_uri=uri,
            scopes=params["scope"].split(),
            tenant_ids=known,
            challenge=params.get("code_challenge") or "",
            challenge_method=params.get("code_challenge_method") or "",
        )
    return redirect(_with_query(uri, code=code, scope=params["scope"], state=state))


def _client(request: Request, form: dict[str, Any]) -> tuple[str, str]:
    header = request.header("Authorization")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
            client_id, _, secret = decoded.partition(":")
            return urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
        except ValueError:
            return "", ""
    return (form.get("client_id") or [""])[0], (form.get("client_secret") or [""])[0]


def oauth_error(code: str, status: int = 400) -> Response:
    return json_response({"error": code}, status)


def token(sandbox: Sandbox, request: Request) -> Response:
    form = request.form()

    def value(name: str) -> str:
        return (form.get(name) or [""])[0]

    client_id, secret = _client(request, form)
    with sandbox.store.lock:
        if not sandbox.identity.client_ok(client_id, secret):
            return oauth_error("invalid_client")
        grant = value("grant_type")
        try:
            if grant == "authorization_code":
                pair = sandbox.identity.exchange_code(
                    client_id=client_id,
                    code=value("code"),
                    redirect_uri=value("redirect_uri"),
                    verifier=value("code_verifier"),
                )
            elif grant == "refresh_token":
                pair = sandbox.identity.refresh(client_id=client_id, token=value("refresh_token"))
            else:
                return oauth_error("unsupported_grant_type")
        except GrantError as error:
            return oauth_error(error.code)
    return json_response(pair, headers={"Cache-Control": "no-store"})


def revocation(sandbox: Sandbox, request: Request) -> Response:
    form = request.form()
    client_id, secret = _client(request, form)
    with sandbox.store.lock:
        if not sandbox.identity.client_ok(client_id, secret):
            return oauth_error("invalid_client")
        sandbox.identity.revoke(client_id=client_id, token=(form.get("token") or [""])[0])
    return Response(status=200, content_type="text/plain")


def _bearer(sandbox: Sandbox, request: Request) -> tuple[AccessToken | None, str]:
    header = request.header("Authorization")
    token_value = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return sandbox.identity.access(token_value)


def _utc(epoch: float) -> str:
    # Xero writes 7 fractional digits and no zone, e.g. 2019-07-09T23:40:30.1833130
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def connections(sandbox: Sandbox, request: Request) -> Response:
    with sandbox.store.lock:
        access, detail = _bearer(sandbox, request)
        if access is None:
            return problem(401, "Unauthorized", detail)
        wanted = (request.arg("authEventId") or "").lower()
        rows = []
        for conn in sandbox.identity.connections_for(access.client_id):
            if wanted and conn.auth_event_id != wanted:
                continue
            tenant = sandbox.store.tenant(conn.tenant_id)
            rows.append(
                {
                    "id": conn.id,
                    "authEventId": conn.auth_event_id,
                    "tenantId": conn.tenant_id,
                    "tenantType": "ORGANISATION",
                    "tenantName": tenant.name if tenant else "",
                    "createdDateUtc": _utc(conn.created),
                    "updatedDateUtc": _utc(conn.updated),
                }
            )
    return json_response(rows)


def delete_connection(sandbox: Sandbox, request: Request) -> Response:
    with sandbox.store.lock:
        access, detail = _bearer(sandbox, request)
        if access is None:
            return problem(401, "Unauthorized", detail)
        if not sandbox.identity.disconnect(access.client_id, request.params["id"]):
            return Response(status=404, content_type="text/plain")
    return Response(status=204, content_type="text/plain")


def _r(method: str, path: str, handler: Callable[..., Response]) -> Route:
    return Route(method, re.compile(f"^{path}/?$", re.I), handler, "identity")


IDENTITY_ROUTES = [
    _r("GET", "/identity/connect/authorize", authorize_page),
    _r("POST", "/identity/connect/authorize", authorize_submit),
    _r("POST", "/connect/token", token),
    _r("POST", "/connect/revocation", revocation),
    _r("GET", "/connections", connections),
    _r("DELETE", "/connections/(?P<id>[^/]+)", delete_connection),
]
