"""The transport under every typed call: the SDK, a timeout on every call, per-organisation rate
limits, typed errors, and every call recorded. Only the client's own mixins call `_call`.

SDK traps handled here: a Configuration per client (the SDK's metaclass otherwise shares one
token between clients), no transport retries (urllib3 would silently re-send a timed-out
PUT), timeouts passed on every call, optional arguments omitted rather than None, and the
SDK never refreshing tokens by itself (xero_sync.connection.tokens does).
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import urllib3
from django.conf import settings
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.api_client.serializer import serialize
from xero_python.exceptions import ApiException
from xero_python.identity import IdentityApi
from xero_python.rest import RESTResponse

from ..connection.models import XeroCall, XeroConnection
from ..connection.tokens import TokenSet, access_token_for
from ..inbound import normalise
from .answers import (
    JsonObject,
    header,
    int_header,
    problem_detail,
    retry_after_seconds,
    safe_json,
    status_of,
    validation_messages,
)
from .errors import (
    AuthLost,
    BadAnswer,
    NotFound,
    RateLimited,
    Transient,
    ValidationFailed,
    XeroError,
)
from .limits import TenantLimiter, problem_kind

log = logging.getLogger(__name__)

# What a typed method hands the transport: fn(accounting_api, identity_api, **call_options),
# calling the SDK and returning (data, status, headers).
SdkCall = Callable[..., tuple[Any, int, Any]]

# While every call slot is taken: how often to look for a free one, and the longest wait a
# drain is asked to keep in the database before looking again.
CONCURRENT_POLL_SECONDS = 0.05
CONCURRENT_RETRY_CAP = 5.0

# How long a spent day waits when Xero's 429 does not say (Retry-After missing).
DAY_WAIT_UNSAID = 15 * 60.0

WAIT_WORDS = {
    "day": "Xero's daily allowance of calls for this organisation is used up.",
    "app": "Waiting for Xero's limit on calls from this app across all organisations.",
    "minute": "Waiting for Xero's limit of calls a minute for this organisation.",
}

# Fields xero-python puts in every request body though we never set them and the spec marks
# them read-only or answer-only: left out, so what we send is what we mean.
ANSWER_ONLY_FIELDS = frozenset(
    {
        "HasAttachments",
        "HasErrors",
        "HasValidationErrors",
        "HasAccount",
        "StatusAttributeString",
        "ValidationErrors",
        "Warnings",
        "IsDiscounted",
    }
)


def request_body(model: Any) -> JsonObject:
    """An SDK model as Xero's JSON, without the answer-only fields."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ANSWER_ONLY_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    stripped: JsonObject = strip(serialize(model))
    return stripped


def request_digest(model: Any) -> str:
    """What a request carries, for its idempotency key: a changed body is a new key."""
    return hashlib.sha256(
        json.dumps(request_body(model), sort_keys=True, default=str).encode()
    ).hexdigest()


def xero_bool(value: bool) -> str:
    """A boolean as the spec writes it in a query string (the SDK would send "True")."""
    return "true" if value else "false"


class _Unauthorized(Exception):
    """A 401: the access token was refused; refreshed once and retried by Transport._call."""

    message = "unauthorized"


class Transport:
    """Calls Xero for one connection. Build one per task; never share it between threads."""

    def __init__(
        self,
        connection: XeroConnection,
        *,
        grant: TokenSet | None = None,
        on_auth_lost: Callable[[AuthLost], None] | None = None,
    ):
        """`grant`: call with a fresh authorisation not (yet) kept on the connection, to see
        what it is for before it replaces anything. Its token is used as it is (never
        refreshed), and its refusal says nothing about the connection's own sign-in.

        `on_auth_lost`: told when the connection's own grant is refused, before AuthLost is
        raised; what that means for the connection is the caller's to decide
        (xero_sync.connection.calls)."""
        self.connection = connection
        self.grant = grant
        self.on_auth_lost = on_auth_lost if grant is None else None
        self.limiter = TenantLimiter(connection.tenant_id) if connection.tenant_id else None
        self._apis_for: tuple[str, tuple[AccountingApi, IdentityApi]] | None = None
        self._received = 0  # the bytes of the answer to the call in hand

    def _apis(self, access_token: str) -> tuple[AccountingApi, IdentityApi]:
        """The SDK's APIs for this access token, kept while the token lasts: building them
        costs more than a page's request, and their pool keeps the connection to Xero open
        between calls (one TLS handshake per import, not one per page)."""
        if self._apis_for is None or self._apis_for[0] != access_token:
            self._apis_for = (access_token, self._apis_build(access_token))
        return self._apis_for[1]

    def _apis_build(self, access_token: str) -> tuple[AccountingApi, IdentityApi]:
        # No arguments: given any, the SDK's metaclass shares one Configuration (and its
        # token) between every client.
        configuration = Configuration()
        configuration.oauth2_token = OAuth2Token(
            client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET
        )
        token = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 1800,
            # Far enough ahead that the SDK never tries to refresh on its own.
            "expires_at": time.time() + 3600,
            "scope": list(self.grant.scopes if self.grant else self.connection.scopes),
        }
        api_client = ApiClient(
            configuration, oauth2_token_getter=lambda: token, oauth2_token_saver=lambda t: None
        )
        pool = api_client.rest_client.pool_manager
        pool.connection_pool_kw["retries"] = urllib3.Retry(total=0, redirect=0)
        pool.clear()
        api_client.rest_client.request = partial(self._counted, api_client.rest_client.request)
        return (
            AccountingApi(api_client, base_url=settings.XERO_ACCOUNTING_API_URL),
            IdentityApi(api_client, base_url=settings.XERO_IDENTITY_API_URL),
        )

    def _counted(self, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The SDK's request, with the size of an answer it reads counted (one left unread,
        raw=True, is counted by _call_once as it reads it; a refusal, from its body)."""
        response = send(*args, **kwargs)
        if isinstance(response, RESTResponse):
            self._received += len(response.data or b"")
        return response

    def _acquire(self) -> str:
        """A slot under the organisation's limits; short waits are slept, long ones raised.
        While all five slots are taken, a free one is looked for every few hundredths of a
        second, for no longer than a short wait: slots held by a killed worker free only when
        their lease runs out, and that wait belongs in the database, not in a worker."""
        if self.limiter is None:
            return ""
        give_up_at = time.monotonic() + settings.XERO_MAX_INLINE_WAIT
        while True:
            decision = self.limiter.try_acquire()
            if decision.granted:
                return decision.lease
            if decision.reason == "concurrent":
                if time.monotonic() >= give_up_at:
                    raise RateLimited(
                        "Waiting for one of Xero's five calls in flight to finish.",
                        retry_after=min(max(decision.wait, 1.0), CONCURRENT_RETRY_CAP),
                        problem="concurrent",
                    )
                time.sleep(CONCURRENT_POLL_SECONDS)
                continue
            if decision.wait > settings.XERO_MAX_INLINE_WAIT:
                raise RateLimited(
                    WAIT_WORDS.get(decision.reason, "Waiting for Xero's rate limit."),
                    retry_after=decision.wait,
                    problem=decision.reason,
                )
            time.sleep(decision.wait)

    def _call(
        self,
        operation: str,
        fn: SdkCall,
        *,
        write: bool = False,
        tenant: bool = True,
        raw: bool = False,
        idempotency_key: str = "",
    ) -> Any:
        """Run fn(accounting_api, identity_api, **call_options) with everything around it.
        raw=True returns Xero's JSON as plain dicts, skipping the SDK's model building (the
        bulk contact pages, where that costs more than the request). Every write to an
        organisation carries the caller's stored idempotency key (128 characters at most), so
        a retry is the same request to Xero."""
        if write and tenant and not idempotency_key:
            raise ValueError(f"{operation}: a write to Xero needs a stored idempotency key")
        if len(idempotency_key) > 128:
            raise ValueError(f"{operation}: Xero takes idempotency keys of 128 characters at most")
        once = partial(
            self._call_once,
            operation,
            fn,
            write=write,
            tenant=tenant,
            raw=raw,
            idempotency_key=idempotency_key,
        )
        try:
            try:
                return once()
            except _Unauthorized as unauthorized:
                if self.grant is not None:
                    raise AuthLost("Xero did not accept the new sign-in.") from unauthorized
                # The token was refused before its time (revoked elsewhere, clock skew): one
                # forced refresh and one more try.
                access_token_for(self.connection, force_refresh=True)
            try:
                return once()
            except _Unauthorized as unauthorized:
                raise AuthLost(
                    "Xero no longer accepts this connection's sign-in; reconnect it."
                ) from unauthorized
        except AuthLost as lost:
            if self.on_auth_lost is not None:
                self.on_auth_lost(lost)
            raise

    def _call_once(
        self,
        operation: str,
        fn: SdkCall,
        *,
        write: bool,
        tenant: bool,
        raw: bool,
        idempotency_key: str,
    ) -> Any:
        access_token = self.grant.access_token if self.grant else access_token_for(self.connection)
        accounting, identity = self._apis(access_token)
        lease = self._acquire() if tenant else ""
        started = time.monotonic()
        self._received = 0
        status_code, headers, outcome, error_text = None, None, "ok", ""
        try:
            options = {"idempotency_key": idempotency_key} if idempotency_key else {}
            data, status_code, headers = fn(
                accounting,
                identity,
                _return_http_data_only=False,
                _preload_content=not raw,
                _request_timeout=(settings.XERO_CONNECT_TIMEOUT, settings.XERO_READ_TIMEOUT),
                **options,
            )
            if raw:
                body = data.data  # read here, so a slow body is inside the timeout handling
                self._received = len(body or b"")
                if status_code >= 400:
                    raise ApiException(http_resp=RESTResponse(data))
                if status_code == 204:
                    return {}  # done, nothing to say (an invoice's Email)
                answer = json.loads(body, parse_float=Decimal)
                if not isinstance(answer, dict):
                    raise BadAnswer("Xero's answer is not a JSON object.", outcome_unknown=write)
                return answer
            return data
        except ApiException as error:
            status_code, headers = status_of(error), getattr(error, "headers", None)
            if not self._received and isinstance(error.body, bytes | str):
                self._received = len(error.body)  # a refusal's body is received too
            outcome, raised = self._translate(error, write=write)
            error_text = raised.message
            raise raised from error
        except urllib3.exceptions.HTTPError as error:
            outcome, error_text = "transient", f"no answer from Xero ({type(error).__name__})"
            raise Transient(
                "Xero did not answer in time." if write else "Xero did not answer.",
                outcome_unknown=write,
            ) from error
        except XeroError as error:
            outcome, error_text = "bad_answer", error.message
            raise
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            # The SDK's parsing (a malformed date, an enum value it does not know) or ours.
            outcome, error_text = "bad_answer", f"unreadable answer ({type(error).__name__})"
            raise BadAnswer(
                f"Xero's answer could not be read ({normalise.text(error, 200)}).",
                outcome_unknown=write,
            ) from error
        finally:
            if lease and self.limiter is not None:
                self.limiter.release(lease, day_left=int_header(headers, "X-DayLimit-Remaining"))
            self._record(
                operation, status_code, headers, outcome, error_text, started, idempotency_key
            )

    def _translate(
        self, error: ApiException, *, write: bool
    ) -> tuple[str, "XeroError | _Unauthorized"]:
        status, headers = status_of(error), getattr(error, "headers", None)
        if status == 401:
            return "unauthorized", _Unauthorized(problem_detail(error) or "401")
        if status == 403:
            detail = problem_detail(error) or "Forbidden"
            return "auth_lost", AuthLost(f"Xero refused access to the organisation ({detail}).")
        if status == 404:
            return "not_found", NotFound("Xero has no such record.")
        problem = header(headers, "X-Rate-Limit-Problem")
        if status == 429 or (status == 503 and problem):
            problem = normalise.text(problem, 40)
            kind = problem_kind(problem)
            # A spent day without Retry-After (never seen; Xero documents it) is not asked
            # about again every second.
            default = DAY_WAIT_UNSAID if kind == "day" else 1.0
            retry_after = retry_after_seconds(header(headers, "Retry-After"), default)
            if self.limiter is not None:
                self.limiter.block_for(retry_after, problem=problem)
            return "rate_limited", RateLimited(
                WAIT_WORDS.get(kind, f"Xero's {problem or 'rate'} limit was reached."),
                retry_after=retry_after,
                problem=kind or problem,
            )
        if status == 400:
            if safe_json(error.body).get("error") == "invalid_grant":
                return "auth_lost", AuthLost("Xero's sign-in for this connection has expired.")
            messages, elements = validation_messages(error)
            return "validation", ValidationFailed(messages, elements=elements)
        if status and status >= 500:
            return "transient", Transient(
                f"Xero answered {status}; it will be tried again.", outcome_unknown=write
            )
        return "error", XeroError(f"Xero answered {status}.")

    def _record(
        self,
        operation: str,
        status_code: int | None,
        headers: Any,
        outcome: str,
        error_text: str,
        started: float,
        idempotency_key: str,
    ) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        minute_left = int_header(headers, "X-MinLimit-Remaining")
        day_left = int_header(headers, "X-DayLimit-Remaining")
        XeroCall.objects.create(
            connection=self.connection,
            operation=operation,
            status_code=status_code,
            outcome=outcome,
            duration_ms=duration_ms,
            minute_calls_remaining=minute_left,
            day_calls_remaining=day_left,
            idempotency_key=idempotency_key,
            error=error_text[:2000],
            response_bytes=self._received,
        )
        log.info(
            "xero call",
            extra={
                "account_id": self.connection.account_id,
                "connection_id": self.connection.pk,
                "tenant_id": self.connection.tenant_id,
                "operation": operation,
                "status": status_code,
                "outcome": outcome,
                "duration_ms": duration_ms,
            },
        )

    def _list(self, operation: str, fn: SdkCall, key: str, **options: Any) -> list[Any]:
        """The list under `key` in Xero's envelope (records of any shape: each is checked by
        its mapper, so one odd record never costs its neighbours)."""
        body = self._call(operation, fn, raw=True, **options)
        found = body.get(key)
        if found is None:
            return []
        if not isinstance(found, list):
            raise BadAnswer(
                f"Xero's answer has no list of {key}.", outcome_unknown=options.get("write", False)
            )
        return found

    def _write_one(self, operation: str, fn: SdkCall, key: str, *, idempotency_key: str) -> Any:
        """A write of one element; the element Xero answers (with any validation errors)."""
        found = self._list(operation, fn, key, write=True, idempotency_key=idempotency_key)
        if not found:
            raise BadAnswer(
                f"Xero's answer ({operation}) holds no {key[:-1].lower()}.", outcome_unknown=True
            )
        return found[0]
