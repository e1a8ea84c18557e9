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
from xero_python.api_client.serializer import serialize
from xero_python.exceptions import ApiException
from xero_python.identity import IdentityApi
from xero_python.rest import RESTResponse

from . import normalise
from .errors import (
    AuthLost,
    BadAnswer,
    NotFound,
    RateLimited,
    Transient,
    ValidationFailed,
    XeroError,
)
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
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is None or abs(number) < 2**31 else None


def _dicts(value) -> list[dict]:
    """The objects of a list Xero sent; anything else in their place is left out."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def element_messages(element) -> list[str]:
    """Xero's ValidationErrors messages on one element (an invoice, contact or payment)."""
    if not isinstance(element, dict):
        return []
    return [
        normalise.text(v.get("Message"), 1000)
        for v in _dicts(element.get("ValidationErrors"))
        if normalise.text(v.get("Message"))
    ]


def _validation_messages(error: ApiException) -> tuple[list[str], list]:
    data = _safe_json(error.body)
    elements = _dicts(data.get("Elements"))
    messages = [m for element in elements for m in element_messages(element)]
    if not messages and data.get("Message"):
        messages = [normalise.text(data["Message"], 1000)]
    return messages, elements


def _problem_detail(error: ApiException) -> str:
    body = _safe_json(error.body)
    return normalise.text(body.get("Detail") or body.get("Title") or body.get("Message"), 500)


def _seconds(value, default: float = 1.0) -> float:
    """Retry-After as seconds: a number Xero sent, else the default (never negative, never
    more than a day)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(seconds, 0.0), 86400.0) if seconds == seconds else default


# Fields xero-python puts in every request body though we never set them and the spec marks
# them read-only or answer-only (SDK-NOTES §8): left out, so what we send is what we mean.
# While every call slot is taken: how often to look for a free one, and the longest wait a
# drain is asked to keep in the database before looking again.
CONCURRENT_POLL_SECONDS = 0.05
CONCURRENT_RETRY_CAP = 5.0

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


def request_body(model) -> dict:
    """An SDK model as Xero's JSON, without the answer-only fields."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ANSWER_ONLY_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(serialize(model))


def _xero_bool(value: bool) -> str:
    """A boolean as the spec writes it in a query string (the SDK would send "True")."""
    return "true" if value else "false"


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
                answer = json.loads(body, parse_float=Decimal)
                if not isinstance(answer, dict):
                    raise BadAnswer("Xero's answer is not a JSON object.", outcome_unknown=write)
                return answer
            return data
        except ApiException as error:
            status_code, headers = _status_of(error), getattr(error, "headers", None)
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
            if lease:
                self.limiter.release(lease)
            self._record(
                operation, status_code, headers, outcome, error_text, started, idempotency_key
            )

    def _translate(self, error: ApiException, *, write: bool) -> tuple[str, Exception]:
        status, headers = _status_of(error), getattr(error, "headers", None)
        if status == 401:
            return "unauthorized", _Unauthorized(_problem_detail(error) or "401")
        if status == 403:
            detail = _problem_detail(error) or "Forbidden"
            return "auth_lost", AuthLost(f"Xero refused access to the organisation ({detail}).")
        if status == 404:
            return "not_found", NotFound("Xero has no such record.")
        problem = _header(headers, "X-Rate-Limit-Problem")
        if status == 429 or (status == 503 and problem):
            retry_after = _seconds(_header(headers, "Retry-After"))
            if self.limiter is not None:
                self.limiter.block_for(retry_after)
            problem = normalise.text(problem, 40)
            return "rate_limited", RateLimited(
                f"Xero's {problem or 'rate'} limit was reached.",
                retry_after=retry_after,
                problem=problem,
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
        found = _dicts(
            self._list(
                "organisation.get",
                lambda acc, ident, **o: acc.get_organisations(self.connection.tenant_id, **o),
                "Organisations",
            )
        )
        if not found:
            raise BadAnswer("Xero's answer holds no organisation.")
        org = found[0]
        return Organisation(
            name=normalise.text(org.get("Name"), 255),
            country_code=normalise.text(org.get("CountryCode"), 3),
            base_currency=normalise.text(org.get("BaseCurrency"), 3),
            short_code=normalise.text(org.get("ShortCode"), 20),
        )

    def ledger_accounts(self) -> list[LedgerAccount]:
        """The chart of accounts; an account Xero sends without an id is left out (it could
        not be chosen anyway)."""
        accounts = self._list(
            "accounts.list",
            lambda acc, ident, **o: acc.get_accounts(self.connection.tenant_id, **o),
            "Accounts",
        )
        return [
            LedgerAccount(
                account_id=normalise.text(a.get("AccountID"))[:64],
                code=normalise.text(a.get("Code"), 10),
                name=normalise.text(a.get("Name"), 150),
                type=normalise.text(a.get("Type"), 20),
                status=normalise.text(a.get("Status"), 20),
                enable_payments=normalise.flag(a.get("EnablePaymentsToAccount")),
            )
            for a in _dicts(accounts)
            if normalise.text(a.get("AccountID"))
        ]

    def tax_rates(self) -> list:
        """The organisation's tax rates as Xero sent them (read by tax_mapping, one by one)."""
        return self._list(
            "tax_rates.list",
            lambda acc, ident, **o: acc.get_tax_rates(self.connection.tenant_id, **o),
            "TaxRates",
        )

    # --- raw JSON: plain dicts in Xero's own shape, read by pure mappers ----------------
    def _list(self, operation: str, fn, key: str, **options) -> list:
        """The list under `key` in Xero's envelope (records of any shape: each is checked by
        its mapper, so one odd record never costs its neighbours)."""
        body = self.call(operation, fn, raw=True, **options)
        found = body.get(key)
        if found is None:
            return []
        if not isinstance(found, list):
            raise BadAnswer(
                f"Xero's answer has no list of {key}.", outcome_unknown=options.get("write", False)
            )
        return found

    def invoices_page(
        self, page: int, *, page_size: int = 100, modified_since=None, where: str = ""
    ) -> list:
        """One page of invoices (with their payments), oldest change first."""
        kwargs = {"page": page, "page_size": page_size, "order": "UpdatedDateUTC ASC"}
        if where:
            kwargs["where"] = where
        if modified_since is not None:
            kwargs["if_modified_since"] = modified_since
        return self._list(
            "invoices.page",
            lambda acc, ident, **o: acc.get_invoices(self.connection.tenant_id, **kwargs, **o),
            "Invoices",
        )

    def invoice(self, invoice_id: str) -> dict | None:
        try:
            found = self._list(
                "invoices.get",
                lambda acc, ident, **o: acc.get_invoice(self.connection.tenant_id, invoice_id, **o),
                "Invoices",
            )
        except NotFound:
            return None
        return found[0] if found and isinstance(found[0], dict) else None

    def invoices_by_number(self, numbers: list[str]) -> list:
        return self._list(
            "invoices.find",
            lambda acc, ident, **o: acc.get_invoices(
                self.connection.tenant_id, invoice_numbers=numbers, page=1, **o
            ),
            "Invoices",
        )

    def invoices_save(self, invoices, *, idempotency_key: str) -> list:
        """POST /Invoices?summarizeErrors=false: creates and in-place updates, one answer per
        element (each with its own errors)."""
        body = request_body(invoices)
        return self._list(
            "invoices.save",
            lambda acc, ident, **o: acc.update_or_create_invoices(
                self.connection.tenant_id,
                body,
                summarize_errors=_xero_bool(False),
                unitdp=4,
                **o,
            ),
            "Invoices",
            write=True,
            idempotency_key=idempotency_key,
        )

    def contacts_create(self, contacts, *, idempotency_key: str) -> list:
        body = request_body(contacts)
        return self._list(
            "contacts.create",
            lambda acc, ident, **o: acc.create_contacts(
                self.connection.tenant_id, body, summarize_errors=_xero_bool(False), **o
            ),
            "Contacts",
            write=True,
            idempotency_key=idempotency_key,
        )

    def contacts_search(self, term: str) -> list:
        return self._list(
            "contacts.find",
            lambda acc, ident, **o: acc.get_contacts(
                self.connection.tenant_id, search_term=term, page=1, **o
            ),
            "Contacts",
        )

    def contacts_by_ids(self, ids: list[str]) -> list:
        """Contacts named by id (archived ones too), as a page of the contact list."""
        return self._list(
            "contacts.by_id",
            lambda acc, ident, **o: acc.get_contacts(
                self.connection.tenant_id,
                i_ds=ids,
                page=1,
                page_size=max(len(ids), 1),
                include_archived=_xero_bool(True),
                **o,
            ),
            "Contacts",
        )

    def payment_create(self, payment, *, idempotency_key: str):
        """POST /Payments with one payment; its answer (with any validation errors)."""
        body = request_body(payment)
        found = self._list(
            "payments.create",
            lambda acc, ident, **o: acc.create_payment(self.connection.tenant_id, body, **o),
            "Payments",
            write=True,
            idempotency_key=idempotency_key,
        )
        if not found:
            raise BadAnswer("Xero's answer to a payment holds no payment.", outcome_unknown=True)
        return found[0]

    def payment_delete(self, payment_id: str, *, idempotency_key: str) -> None:
        self.call(
            "payments.delete",
            lambda acc, ident, **o: acc.delete_payment(
                self.connection.tenant_id, payment_id, {"Status": "DELETED"}, **o
            ),
            raw=True,
            write=True,
            idempotency_key=idempotency_key,
        )

    # --- contacts ---------------------------------------------------------------------
    def contacts_page(
        self,
        page: int,
        *,
        page_size: int = 1000,
        modified_since=None,
        include_archived: bool = True,
    ) -> tuple[list[dict], dict]:
        """One page of contacts, oldest first, and Xero's pagination block."""
        kwargs = {
            "page": page,
            "page_size": page_size,
            "include_archived": _xero_bool(include_archived),
        }
        if modified_since is not None:
            kwargs["if_modified_since"] = modified_since
        body = self.call(
            "contacts.page",
            lambda acc, ident, **o: acc.get_contacts(self.connection.tenant_id, **kwargs, **o),
            raw=True,
        )
        contacts = body.get("Contacts") or []
        if not isinstance(contacts, list):
            raise BadAnswer("Xero's answer has no list of contacts.")
        return contacts, _pagination(body.get("pagination"))

    def contact(self, contact_id: str):
        """The contact as Xero sent it (any shape: page_apply checks it), or None."""
        try:
            found = self._list(
                "contacts.get",
                lambda acc, ident, **o: acc.get_contact(self.connection.tenant_id, contact_id, **o),
                "Contacts",
            )
        except NotFound:
            return None
        return found[0] if found else None

    def contact_groups(self) -> list[dict]:
        """The organisation's active groups as {"id", "name"}."""
        groups = self._list(
            "contact_groups.list",
            lambda acc, ident, **o: acc.get_contact_groups(self.connection.tenant_id, **o),
            "ContactGroups",
        )
        return [
            {"id": normalise.text(g.get("ContactGroupID")), "name": normalise.text(g.get("Name"))}
            for g in _dicts(groups)
            if g.get("ContactGroupID") and normalise.text(g.get("Status") or "ACTIVE") == "ACTIVE"
        ]

    def contact_group_member_ids(self, group_id: str) -> set[str]:
        groups = self._list(
            "contact_groups.get",
            lambda acc, ident, **o: acc.get_contact_group(self.connection.tenant_id, group_id, **o),
            "ContactGroups",
        )
        members = _dicts(groups[0].get("Contacts")) if _dicts(groups) else []
        return {normalise.text(c.get("ContactID")) for c in members if c.get("ContactID")}


def _status_of(error: ApiException) -> int | None:
    """The HTTP status of an SDK error. (The SDK's own `status` of a 400 parses the body as
    JSON, and raises when Xero's body is not JSON.)"""
    response = getattr(error, "http_resp", None)
    status = getattr(response, "status", None)
    if status is None:
        try:
            status = error.status
        except ValueError:
            return None
    return status if isinstance(status, int) else None


def _pagination(value) -> dict:
    """Xero's paging block with only the whole numbers it should hold."""
    if not isinstance(value, dict):
        return {}
    return {
        k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0
    }


class _Unauthorized(Exception):
    """A 401: the access token was refused; refreshed once and retried by XeroClient.call."""

    message = "unauthorized"


def _safe_json(body) -> dict:
    try:
        value = json.loads(body or b"{}")
        return value if isinstance(value, dict) else {}
    except (ValueError, TypeError):
        return {}
