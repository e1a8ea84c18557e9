"""OAuth tokens: the code exchange, and refreshing from one place, one at a time.

Xero refresh tokens are single-use: two workers refreshing the same token leave one of them
with a superseded token and, past the grace period, invalid_grant. So a refresh claims the
connection row (SELECT ... FOR UPDATE), re-reads it, refreshes only if still needed, and saves
before anyone uses the new token. The SDK never refreshes by itself: it is handed an access
token only (no refresh token), and its token endpoint has no timeout.
"""

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..client.errors import AuthLost, NotConfigured, Transient
from . import token_vault
from .models import XeroConnection

log = logging.getLogger(__name__)

# Refresh this long before expiry: past half the 30-minute life, so a token handed to a
# long call never expires mid-way.
REFRESH_MARGIN = timedelta(minutes=15)

_http = urllib3.PoolManager(retries=urllib3.Retry(total=0, redirect=0))


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: list[str]
    id_token: str = ""

    @property
    def auth_event_id(self) -> str:
        """Xero access tokens are JWTs naming the authorisation that issued them."""
        return str(_jwt_claims(self.access_token).get("authentication_event_id", ""))

    @property
    def xero_user_id(self) -> str:
        return str(
            _jwt_claims(self.id_token).get("xero_userid", "")
            or _jwt_claims(self.access_token).get("xero_userid", "")
        )


def _jwt_claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _post_token_endpoint(url: str, fields: dict[str, str]) -> dict[str, Any]:
    if not (settings.XERO_CLIENT_ID and settings.XERO_CLIENT_SECRET):
        raise NotConfigured("XERO_CLIENT_ID and XERO_CLIENT_SECRET are not set.")
    basic = base64.b64encode(
        f"{settings.XERO_CLIENT_ID}:{settings.XERO_CLIENT_SECRET}".encode()
    ).decode()
    try:
        response = _http.request(
            "POST",
            url,
            fields=fields,
            encode_multipart=False,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            timeout=urllib3.Timeout(
                connect=settings.XERO_CONNECT_TIMEOUT, read=settings.XERO_READ_TIMEOUT
            ),
        )
    except urllib3.exceptions.HTTPError as error:
        raise Transient(
            f"Xero's sign-in service did not answer ({type(error).__name__})."
        ) from error
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status == 400 and body.get("error") in ("invalid_grant", "invalid_client"):
        raise AuthLost(f"Xero refused the sign-in ({body['error']}).")
    if response.status >= 500 or response.status == 429:
        raise Transient(f"Xero's sign-in service answered {response.status}.")
    if response.status != 200:
        raise AuthLost(f"Xero's sign-in service answered {response.status}.")
    return body


def _token_set(body: dict[str, Any], *, now: datetime) -> TokenSet:
    scope = body.get("scope", "")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        # expires_at is what every later freshness check reads; never leave it out.
        expires_at=now + timedelta(seconds=int(body.get("expires_in", 1800))),
        scopes=scope.split() if isinstance(scope, str) else list(scope),
        id_token=body.get("id_token", ""),
    )


def token_exchange_code(*, code: str, code_verifier: str) -> TokenSet:
    now = timezone.now()
    body = _post_token_endpoint(
        settings.XERO_TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.XERO_REDIRECT_URI,
            "code_verifier": code_verifier,
        },
    )
    return _token_set(body, now=now)


def connection_store_tokens(connection: XeroConnection, tokens: TokenSet) -> None:
    connection.access_token_encrypted = token_vault.encrypt(tokens.access_token)
    connection.refresh_token_encrypted = token_vault.encrypt(tokens.refresh_token)
    connection.access_token_expires_at = tokens.expires_at
    connection.refresh_token_obtained_at = timezone.now()
    connection.scopes = tokens.scopes


def connection_wipe_tokens(connection: XeroConnection) -> None:
    connection.access_token_encrypted = ""
    connection.refresh_token_encrypted = ""
    connection.access_token_expires_at = None
    connection.refresh_token_obtained_at = None


def _needs_refresh(connection: XeroConnection, now: datetime) -> bool:
    expires = connection.access_token_expires_at
    return expires is None or expires - now < REFRESH_MARGIN


def access_token_for(connection: XeroConnection, *, force_refresh: bool = False) -> str:
    """A usable access token, refreshed first when close to expiry (or when forced, after a
    401). Updates `connection` in place with what is saved."""
    if not connection.has_tokens:
        raise AuthLost("This Xero connection has no tokens; reconnect it.")
    if not force_refresh and not _needs_refresh(connection, timezone.now()):
        return token_vault.decrypt(connection.access_token_encrypted)
    seen_access = connection.access_token_encrypted
    with transaction.atomic():
        # NO KEY: the refresh changes no key, so the calls meanwhile recording themselves
        # (XeroCall's foreign key takes KEY SHARE on this row) go on rather than queue behind
        # the token endpoint's answer.
        locked = XeroConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
        # Another worker may have refreshed while we waited for the lock.
        refreshed_meanwhile = locked.access_token_encrypted != seen_access
        if refreshed_meanwhile or not (force_refresh or _needs_refresh(locked, timezone.now())):
            _copy_token_fields(locked, connection)
            return token_vault.decrypt(locked.access_token_encrypted)
        if not locked.refresh_token_encrypted:
            raise AuthLost("This Xero connection has no tokens; reconnect it.")
        now = timezone.now()
        body = _post_token_endpoint(
            settings.XERO_TOKEN_URL,
            {
                "grant_type": "refresh_token",
                "refresh_token": token_vault.decrypt(locked.refresh_token_encrypted),
            },
        )
        tokens = _token_set(body, now=now)
        connection_store_tokens(locked, tokens)
        locked.save(
            update_fields=[
                "access_token_encrypted",
                "refresh_token_encrypted",
                "access_token_expires_at",
                "refresh_token_obtained_at",
                "scopes",
            ]
        )
        log.info("xero token refreshed", extra={"connection_id": locked.pk})
        _copy_token_fields(locked, connection)
        return tokens.access_token


def _copy_token_fields(source: XeroConnection, target: XeroConnection) -> None:
    for field in (
        "access_token_encrypted",
        "refresh_token_encrypted",
        "access_token_expires_at",
        "refresh_token_obtained_at",
        "scopes",
    ):
        setattr(target, field, getattr(source, field))


def token_revoke(refresh_token: str) -> None:
    """Revoke a refresh token at Xero (which also removes all its user's connections to the
    app)."""
    if refresh_token:
        _post_token_endpoint(settings.XERO_REVOKE_URL, {"token": refresh_token})
