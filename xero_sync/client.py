"""The one adapter over xero-python. Our small types in, our small types out, typed errors,
a timeout on every call, per-organisation rate limits, and every call recorded.

SDK traps handled here (../shared/xero/SDK-NOTES.md): a Configuration per client (the SDK's
metaclass otherwise shares one token between clients), no transport retries (urllib3 would
silently re-send a timed-out PUT), timeouts passed on every call, optional arguments omitted
rather than None, and the SDK never refreshing tokens by itself (xero_sync.tokens does).
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import urllib3
from django.conf import settings
from django.utils import timezone
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiException
from xero_python.identity import IdentityApi
from xero_python.rest import RESTResponse

from .errors import AuthLost, NotFound, RateLimited, Transient, ValidationFailed, XeroError
from .models import XeroCall, XeroConnection
from .rate_limits import TenantLimiter
from .reconnect import connection_mark_needs_reconnect
from .tokens import TokenSet, access_token_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str


@dataclass(frozen=True)
class LedgerAccount:
    """An account in the organisation's chart of accounts."""

    account_id: str
    code: str
    name: str
    type: str
    status: str
    enable_payments: bool

    @property
    def can_take_payments(self) -> bool:
        """What the payment-account picker offers: active, payments enabled, not a bank."""
        return self.status == "ACTIVE" and self.enable_payments and self.type != "BANK"


@dataclass(frozen=True)
class TaxRateInfo:
    tax_type: str
    name: str
    status: str
    effective_rate: Decimal
    components: tuple[tuple[str, Decimal, bool], ...]  # (name, rate, compound)
    can_apply_to_revenue: bool


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str
    short_code: str


def _header(headers, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value
    return None


def _int_header(headers, name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _validation_messages(error: ApiException) -> tuple[list[str], list]:
    data = _safe_json(error.body)
    elements = data.get("Elements") or []
    messages = [
        v.get("Message", "")
        for element in elements
        for v in (element.get("ValidationErrors") or [])
        if v.get("Message")
    ]
    if not messages and data.get("Message"):
        messages = [data["Message"]]
    return messages, elements


def _problem_detail(error: ApiException) -> str:
    body = _safe_json(error.body)
    return body.get("Detail") or body.get("Title") or body.get("Message") or ""


class XeroClient:
    """Calls Xero for one connection. Build one per task; never share it between threads."""

    def __init__(self, connection: XeroConnection, *, grant: TokenSet | None = None):
        """`grant`: call with a fresh authorisation not (yet) kept on the connection, to see
        what it is for before it replaces anything. Its token is used as it is (never
        refreshed), and its refusal says nothing about the connection's own sign-in."""
        self.connection = connection
        self.grant = grant
        self.limiter = TenantLimiter(connection.tenant_id) if connection.tenant_id else None
        self._apis_for: tuple[str, tuple[AccountingApi, IdentityApi]] | None = None

    # --- plumbing ---------------------------------------------------------------------
    def _apis(self, access_token: str) -> tuple[AccountingApi, IdentityApi]:
        """The SDK's APIs for this access token, kept while the token lasts: building them
        costs more than a page's request, and their pool keeps the connection to Xero open
        between calls (one TLS handshake per import, not one per page)."""
        if self._apis_for is None or self._apis_for[0] != access_token:
            self._apis_for = (access_token, self._apis_build(access_token))
        return self._apis_for[1]

    def _apis_build(self, access_token: str) -> tuple[AccountingApi, IdentityApi]:
        configuration = Configuration()  # no arguments: see SDK-NOTES G1
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
        return (
            AccountingApi(api_client, base_url=settings.XERO_ACCOUNTING_API_URL),
            IdentityApi(api_client, base_url=settings.XERO_IDENTITY_API_URL),
        )

    def _acquire(self) -> str:
        """A slot under the organisation's limits; short waits are slept, long ones raised."""
        if self.limiter is None:
            return ""
        while True:
            decision = self.limiter.try_acquire()
            if decision.granted:
                return decision.lease
            if decision.wait > settings.XERO_MAX_INLINE_WAIT:
                raise RateLimited(
                    "Waiting for Xero's rate limit.",
                    retry_after=decision.wait,
                    problem=decision.reason,
                )
            time.sleep(decision.wait)

    def call(
        self,
        operation: str,
        fn: Callable,
        *,
        write: bool = False,
        tenant: bool = True,
        raw: bool = False,
        idempotency_key: str = "",
    ):
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
            if self.grant is None:
                connection_mark_needs_reconnect(connection=self.connection, reason=lost.message)
            raise

    def _call_once(
        self,
        operation: str,
        fn: Callable,
        *,
        write: bool,
        tenant: bool,
        raw: bool,
        idempotency_key: str,
    ):
        access_token = self.grant.access_token if self.grant else access_token_for(self.connection)
        accounting, identity = self._apis(access_token)
        lease = self._acquire() if tenant else ""
        started = time.monotonic()
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
                if status_code >= 400:
                    raise ApiException(http_resp=RESTResponse(data))
                return json.loads(body, parse_float=Decimal)
            return data
        except ApiException as error:
            status_code, headers = error.status, error.headers
            outcome, raised = self._translate(error, write=write)
            error_text = raised.message
            raise raised from error
        except urllib3.exceptions.HTTPError as error:
            outcome, error_text = "transient", f"no answer from Xero ({type(error).__name__})"
            raise Transient(
                "Xero did not answer in time." if write else "Xero did not answer.",
                outcome_unknown=write,
            ) from error
        finally:
            if lease:
                self.limiter.release(lease)
            self._record(
                operation, status_code, headers, outcome, error_text, started, idempotency_key
            )

    def _translate(self, error: ApiException, *, write: bool) -> tuple[str, Exception]:
        status, headers = error.status, error.headers
        if status == 401:
            return "unauthorized", _Unauthorized(_problem_detail(error) or "401")
        if status == 403:
            detail = _problem_detail(error) or "Forbidden"
            return "auth_lost", AuthLost(f"Xero refused access to the organisation ({detail}).")
        if status == 404:
            return "not_found", NotFound("Xero has no such record.")
        problem = _header(headers, "X-Rate-Limit-Problem")
        if status == 429 or (status == 503 and problem):
            retry_after = float(_header(headers, "Retry-After") or 1)
            if self.limiter is not None:
                self.limiter.block_for(retry_after)
            return "rate_limited", RateLimited(
                f"Xero's {problem or 'rate'} limit was reached.",
                retry_after=retry_after,
                problem=problem or "",
            )
        if status == 400:
            if _safe_json(error.body).get("error") == "invalid_grant":
                return "auth_lost", AuthLost("Xero's sign-in for this connection has expired.")
            messages, elements = _validation_messages(error)
            return "validation", ValidationFailed(messages, elements=elements)
        if status and status >= 500:
            return "transient", Transient(
                f"Xero answered {status}; it will be tried again.", outcome_unknown=write
            )
        return "error", XeroError(f"Xero answered {status}.")

    def _record(
        self, operation, status_code, headers, outcome, error_text, started, idempotency_key
    ) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        minute_left = _int_header(headers, "X-MinLimit-Remaining")
        day_left = _int_header(headers, "X-DayLimit-Remaining")
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
        )
        now = timezone.now()
        updates = {}
        if day_left is not None:
            updates |= {"day_calls_remaining": day_left, "day_calls_remaining_at": now}
        if updates:
            XeroConnection.objects.filter(pk=self.connection.pk).update(**updates)
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

    # --- operations -------------------------------------------------------------------
    def connections(self, *, auth_event_id: str = "") -> list[Tenant]:
        kwargs = {"auth_event_id": auth_event_id} if auth_event_id else {}
        rows = self.call(
            "connections.list",
            lambda acc, ident, **o: ident.get_connections(**kwargs, **o),
            tenant=False,
        )
        return [
            Tenant(
                connection_id=str(row.id),
                tenant_id=str(row.tenant_id),
                tenant_name=row.tenant_name or "",
                tenant_type=row.tenant_type or "",
                auth_event_id=str(row.auth_event_id or ""),
            )
            for row in rows or []
        ]

    def delete_connection(self, xero_connection_id: str) -> None:
        self.call(
            "connections.delete",
            lambda acc, ident, **o: ident.delete_connection(xero_connection_id, **o),
            tenant=False,
            write=True,
        )

    def organisation(self) -> Organisation:
        result = self.call(
            "organisation.get",
            lambda acc, ident, **o: acc.get_organisations(self.connection.tenant_id, **o),
        )
        org = result.organisations[0]
        return Organisation(
            name=org.name or "",
            country_code=getattr(org.country_code, "value", org.country_code) or "",
            base_currency=getattr(org.base_currency, "value", org.base_currency) or "",
            short_code=org.short_code or "",
        )

    def ledger_accounts(self) -> list[LedgerAccount]:
        result = self.call(
            "accounts.list",
            lambda acc, ident, **o: acc.get_accounts(self.connection.tenant_id, **o),
        )
        return [
            LedgerAccount(
                account_id=str(a.account_id),
                code=a.code or "",
                name=a.name or "",
                type=getattr(a.type, "value", a.type) or "",
                status=getattr(a.status, "value", a.status) or "",
                enable_payments=bool(a.enable_payments_to_account),
            )
            for a in result.accounts or []
        ]

    def tax_rates(self) -> list[TaxRateInfo]:
        result = self.call(
            "tax_rates.list",
            lambda acc, ident, **o: acc.get_tax_rates(self.connection.tenant_id, **o),
        )
        return [
            TaxRateInfo(
                tax_type=r.tax_type or "",
                name=r.name or "",
                status=getattr(r.status, "value", r.status) or "",
                effective_rate=Decimal(str(r.effective_rate or 0)),
                components=tuple(
                    (c.name or "", Decimal(str(c.rate or 0)), bool(c.is_compound))
                    for c in r.tax_components or []
                ),
                can_apply_to_revenue=bool(r.can_apply_to_revenue),
            )
            for r in result.tax_rates or []
        ]

    # --- contacts (raw JSON: plain dicts in Xero's own shape) ---------------------------
    def contacts_page(
        self,
        page: int,
        *,
        page_size: int = 1000,
        modified_since=None,
        include_archived: bool = True,
    ) -> tuple[list[dict], dict]:
        """One page of contacts, oldest first, and Xero's pagination block."""
        kwargs = {"page": page, "page_size": page_size, "include_archived": include_archived}
        if modified_since is not None:
            kwargs["if_modified_since"] = modified_since
        body = self.call(
            "contacts.page",
            lambda acc, ident, **o: acc.get_contacts(self.connection.tenant_id, **kwargs, **o),
            raw=True,
        )
        return body.get("Contacts") or [], body.get("pagination") or {}

    def contact(self, contact_id: str) -> dict | None:
        try:
            body = self.call(
                "contacts.get",
                lambda acc, ident, **o: acc.get_contact(self.connection.tenant_id, contact_id, **o),
                raw=True,
            )
        except NotFound:
            return None
        return (body.get("Contacts") or [None])[0]

    def contact_groups(self) -> list[dict]:
        body = self.call(
            "contact_groups.list",
            lambda acc, ident, **o: acc.get_contact_groups(self.connection.tenant_id, **o),
            raw=True,
        )
        return body.get("ContactGroups") or []

    def contact_group_member_ids(self, group_id: str) -> set[str]:
        body = self.call(
            "contact_groups.get",
            lambda acc, ident, **o: acc.get_contact_group(self.connection.tenant_id, group_id, **o),
            raw=True,
        )
        groups = body.get("ContactGroups") or [{}]
        return {c["ContactID"] for c in groups[0].get("Contacts") or []}


class _Unauthorized(Exception):
    """A 401: the access token was refused; refreshed once and retried by XeroClient.call."""

    message = "unauthorized"


def _safe_json(body) -> dict:
    try:
        value = json.loads(body or b"{}")
        return value if isinstance(value, dict) else {}
    except (ValueError, TypeError):
        return {}
