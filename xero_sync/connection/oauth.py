"""The OAuth2 authorization-code flow with PKCE, with a `state` bound to the user, the account
and the browser session, good once."""

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from platform_crm.models import Account

SESSION_KEY = "xero_oauth_pending"
STATE_SALT = "xero_sync.oauth.state"
STATE_MAX_AGE = 15 * 60


class StateRefused(Exception):
    """The callback's state is forged, foreign, stale or already used."""


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(request: HttpRequest, account: Account) -> str:
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(64)
    pending = request.session.get(SESSION_KEY, {})
    # Drop stale attempts; keep a few so two tabs do not trip over each other.
    now = time.time()
    pending = {k: v for k, v in pending.items() if now - v["at"] < STATE_MAX_AGE}
    pending[nonce] = {"verifier": verifier, "account": account.pk, "at": now}
    request.session[SESSION_KEY] = pending
    state = signing.dumps(
        {"n": nonce, "u": request.user.pk, "a": account.pk}, salt=STATE_SALT, compress=True
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": settings.XERO_REDIRECT_URI,
            "scope": " ".join(settings.XERO_SCOPES),
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.XERO_AUTHORIZE_URL}?{query}"


def authorization_claim(request: HttpRequest, state: str) -> tuple[int, str]:
    """(account id, PKCE verifier) for a state this user started in this session; once only."""
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature as error:
        raise StateRefused("The sign-in link is invalid or has expired.") from error
    if data.get("u") != request.user.pk:
        raise StateRefused("This sign-in was started by someone else.")
    pending = request.session.get(SESSION_KEY, {})
    attempt = pending.pop(data.get("n"), None)
    request.session[SESSION_KEY] = pending
    if attempt is None or attempt["account"] != data.get("a"):
        raise StateRefused("This sign-in was already used or was started in another browser.")
    return attempt["account"], attempt["verifier"]
