"""Xero Identity: authorisation codes, rotating refresh tokens with a grace period, access
tokens, connections and revocation. One demo user owns every organisation."""

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clock import Clock
from .config import Settings

DEMO_USER = {
    "xero_userid": "5f2e8d1c-7a44-4c5e-9a3b-2d1f0c9e8b7a",
    "email": "demo.owner@sandbox.example",
    "given_name": "Demo",
    "family_name": "Owner",
}
BROAD = {"accounting.transactions": ("accounting.invoices", "accounting.payments")}
ISSUER = "https://identity.xero.com"
RESOURCES_AUDIENCE = "https://identity.xero.com/resources"
# Key id in the JWT header. Signatures are random bytes: nothing verifies them, and the sandbox
# looks tokens up by the whole string, so every token is unique.
SIGNING_KID = "1CAF8E66772D6DC028D6726FD0261581570EFC19"
SIGNATURE_BYTES = 256  # an RS256 signature with a 2048-bit key


class GrantError(Exception):
    """An OAuth error answered as 400 {"error": code}."""

    def __init__(self, code: str = "invalid_grant", description: str = "") -> None:
        super().__init__(code)
        self.code, self.description = code, description


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    auth_event_id: str
    expires_at: float
    challenge: str = ""
    challenge_method: str = ""
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    scopes: list[str]
    family: str
    issued_at: float
    rotated_at: float | None = None
    revoked: bool = False
    successor: dict[str, Any] | None = None  # the pair issued when this token was first rotated
    auth_event_id: str = ""  # of the authorisation that started this family


@dataclass
class AccessToken:
    token: str
    client_id: str
    scopes: list[str]
    family: str
    expires_at: float
    auth_event_id: str = ""


@dataclass
class Connection:
    id: str
    tenant_id: str
    client_id: str
    auth_event_id: str
    created: float
    updated: float
    extra: dict[str, Any] = field(default_factory=dict)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwt(claims: dict[str, Any]) -> str:
    header = {"alg": "RS256", "kid": SIGNING_KID, "typ": "JWT"}
    parts = [json.dumps(part, separators=(",", ":")).encode() for part in (header, claims)]
    return ".".join([*map(_b64url, parts), _b64url(secrets.token_bytes(SIGNATURE_BYTES))])


def jwt_claims(token: str) -> dict[str, Any]:
    """The middle segment of a JWT, decoded without any signature check (as the product does)."""
    middle = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(middle + "=" * (-len(middle) % 4)))
    return claims


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def scope_allows(granted: list[str], needed: str, write: bool) -> bool:
    """`needed` is the granular scope family (accounting.contacts, accounting.invoices, ...)."""
    candidates = {needed} if write else {needed, needed + ".read"}
    for broad, narrower in BROAD.items():
        if needed in narrower:
            candidates |= {broad} if write else {broad, broad + ".read"}
    return bool(candidates & set(granted))


class Identity:
    """All methods are called with the store lock held."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock, self.settings = clock, settings
        self.reset()

    def reset(self) -> None:
        self.codes: dict[str, Code] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.connections: dict[str, Connection] = {}

    # clients and redirects -----------------------------------------------------------
    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        s = self.settings
        return secrets.compare_digest(client_id or "", s.client_id) and secrets.compare_digest(
            secret or "", s.client_secret
        )

    def redirect_allowed(self, uri: str) -> bool:
        registered = self.settings.behaviour.redirect_uris
        if registered:
            return uri in registered
        return uri.startswith(("http://localhost", "http://127.0.0.1"))

    # authorisation -------------------------------------------------------------------
    def consent(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: list[str],
        tenant_ids: list[str],
        challenge: str = "",
        challenge_method: str = "",
    ) -> str:
        """The user allowed access to these organisations: connect them, return a code."""
        now = self.clock.time()
        auth_event_id = str(uuid.uuid4())
        for tenant_id in tenant_ids:
            existing = self._connection(client_id, tenant_id)
            if existing:
                existing.updated, existing.auth_event_id = now, auth_event_id
            else:
                conn = Connection(str(uuid.uuid4()), tenant_id, client_id, auth_event_id, now, now)
                self.connections[conn.id] = conn
        code = secrets.token_urlsafe(24)
        self.codes[code] = Code(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            auth_event_id=auth_event_id,
            expires_at=now + self.settings.behaviour.auth_code_seconds,
            challenge=challenge,
            challenge_method=challenge_method,
        )
        return code

    def exchange_code(
        self, *, client_id: str, code: str, redirect_uri: str, verifier: str
    ) -> dict[str, Any]:
        grant = self.codes.get(code)
        if grant is None or grant.used or grant.client_id != client_id:
            raise GrantError()
        if self.clock.time() > grant.expires_at:
            raise GrantError()
        if grant.redirect_uri != redirect_uri:
            raise GrantError()
        if grant.challenge:
            method = grant.challenge_method or "plain"
            expected = pkce_challenge(verifier) if method == "S256" else verifier
            if not verifier or not secrets.compare_digest(expected, grant.challenge):
                raise GrantError()
        grant.used = True
        return self._issue(
            client_id, grant.scopes, family=str(uuid.uuid4()), auth_event_id=grant.auth_event_id
        )

    def refresh(self, *, client_id: str, token: str) -> dict[str, Any]:
        rt = self.refresh_tokens.get(token)
        now = self.clock.time()
        b = self.settings.behaviour
        if rt is None or rt.revoked or rt.client_id != client_id:
            raise GrantError()
        if now > rt.issued_at + b.refresh_token_idle_days * 86400:
            raise GrantError()
        if not self.connections_for(client_id):
            raise GrantError()  # the user disconnected every organisation
        if rt.rotated_at is not None:
            if now > rt.rotated_at + b.refresh_grace_seconds or b.refresh_grace_reuse == "reject":
                raise GrantError()
            if b.refresh_grace_reuse == "same" and rt.successor:
                return dict(rt.successor)
            # "fresh": a new pair becomes the live one; the previous successor enters its grace.
            previous = self.refresh_tokens.get((rt.successor or {}).get("refresh_token", ""))
            if previous and previous.rotated_at is None:
                previous.rotated_at = now
        else:
            rt.rotated_at = now
        pair = self._issue(client_id, rt.scopes, family=rt.family, auth_event_id=rt.auth_event_id)
        rt.successor = pair
        return pair

    def revoke(self, *, client_id: str, token: str) -> None:
        """Revoking removes the token's family and all the user's connections for this app."""
        found = self.refresh_tokens.get(token) or self.access_tokens.get(token)
        if found is None or found.client_id != client_id:
            return  # RFC 7009: unknown tokens are not an error
        for rt in self.refresh_tokens.values():
            if rt.family == found.family:
                rt.revoked = True
        for key in [k for k, at in self.access_tokens.items() if at.family == found.family]:
            del self.access_tokens[key]
        for conn in self.connections_for(client_id):
            del self.connections[conn.id]

    def _issue(
        self, client_id: str, scopes: list[str], family: str, auth_event_id: str
    ) -> dict[str, Any]:
        now = self.clock.time()
        expires_at = now + self.settings.behaviour.access_token_seconds
        access = AccessToken(
            token=self._access_jwt(client_id, scopes, now, expires_at, auth_event_id),
            client_id=client_id,
            scopes=scopes,
            family=family,
            expires_at=expires_at,
            auth_event_id=auth_event_id,
        )
        self.access_tokens[access.token] = access
        pair = {
            "id_token": self._id_token(client_id, now),
            "access_token": access.token,
            "expires_in": self.settings.behaviour.access_token_seconds,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
        }
        if "offline_access" in scopes:
            rt = RefreshToken(
                secrets.token_urlsafe(32),
                client_id,
                scopes,
                family,
                issued_at=now,
                auth_event_id=auth_event_id,
            )
            self.refresh_tokens[rt.token] = rt
            pair["refresh_token"] = rt.token
        return pair

    def _access_jwt(
        self, client_id: str, scopes: list[str], now: float, expires_at: float, auth_event_id: str
    ) -> str:
        """Shaped like Xero's: RS256 header with a kid, Xero's claims, a random signature."""
        claims = {
            "nbf": int(now),
            "exp": int(expires_at),
            "iss": ISSUER,
            "aud": RESOURCES_AUDIENCE,
            "client_id": client_id,
            "sub": DEMO_USER["xero_userid"].replace("-", ""),
            "auth_time": int(now),
            "xero_userid": DEMO_USER["xero_userid"],
            "global_session_id": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "jti": uuid.uuid4().hex.upper(),
            "authentication_event_id": auth_event_id,
            "scope": list(scopes),
            "amr": ["pwd"],
        }
        return _jwt(claims)

    def _id_token(self, client_id: str, now: float) -> str:
        claims = {
            "nbf": int(now),
            "exp": int(now) + 300,
            "iss": ISSUER,
            "aud": client_id,
            "iat": int(now),
            "auth_time": int(now),
            "sub": DEMO_USER["xero_userid"].replace("-", ""),
            "global_session_id": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "amr": ["pwd"],
            "preferred_username": DEMO_USER["email"],
            "name": f"{DEMO_USER['given_name']} {DEMO_USER['family_name']}",
            **DEMO_USER,
        }
        return _jwt(claims)

    # bearer checks -------------------------------------------------------------------
    def access(self, token: str) -> tuple[AccessToken | None, str]:
        """(token, "") when usable, else (None, the 401 Detail)."""
        found = self.access_tokens.get(token)
        if found is None:
            return None, "TokenInvalid: token is not recognised"
        if self.clock.time() >= found.expires_at:
            moment = datetime.fromtimestamp(found.expires_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
            return None, f"TokenExpired: token expired at {moment}"
        return found, ""

    # connections ---------------------------------------------------------------------
    def _connection(self, client_id: str, tenant_id: str) -> Connection | None:
        for conn in self.connections.values():
            if conn.client_id == client_id and conn.tenant_id == tenant_id:
                return conn
        return None

    def connected(self, client_id: str, tenant_id: str) -> bool:
        return self._connection(client_id, tenant_id) is not None

    def connections_for(self, client_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.client_id == client_id]

    def disconnect(self, client_id: str, connection_id: str) -> bool:
        conn = self.connections.get(connection_id.lower()) or self.connections.get(connection_id)
        if conn is None or conn.client_id != client_id:
            return False
        del self.connections[conn.id]
        return True

    def drop_tenant(self, tenant_id: str) -> None:
        for key in [k for k, c in self.connections.items() if c.tenant_id == tenant_id]:
            del self.connections[key]
