"""`SandboxHandle`: a typed client for the control API plus the URLs a Xero client needs.
Used by the pytest fixtures, the bench and anyone scripting the sandbox. Standard library only."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import jsonio

DEFAULT_SCOPES = (
    "openid profile email offline_access accounting.contacts accounting.settings "
    "accounting.invoices accounting.payments"
)
SDK_TOKEN_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "token_type",
    "expires_in",
    "expires_at",
)


UNSET = object()  # an argument left out, as opposed to None (clear it)


class ControlError(RuntimeError):
    def __init__(self, status: int, body) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status, self.body = status, body


@dataclass
class SandboxHandle:
    url: str
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    webhook_key: str = "sandbox-webhook-key"
    # The sandbox process's log, when the pytest plugin started it.
    log_path: Path | None = None

    # the URLs that replace Xero's real base URLs -------------------------------------------
    @property
    def api_url(self) -> str:  # https://api.xero.com/api.xro/2.0
        return f"{self.url}/api.xro/2.0"

    @property
    def identity_url(self) -> str:  # https://api.xero.com (connections)
        return self.url

    @property
    def authorize_url(self) -> str:  # https://login.xero.com/identity/connect/authorize
        return f"{self.url}/identity/connect/authorize"

    @property
    def token_url(self) -> str:  # https://identity.xero.com/connect/token
        return f"{self.url}/connect/token"

    @property
    def revocation_url(self) -> str:  # https://identity.xero.com/connect/revocation
        return f"{self.url}/connect/revocation"

    # plumbing -------------------------------------------------------------------------------
    def control(
        self,
        verb: str,
        route: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ):
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.url}/_sandbox{route}" + (
            f"?{urllib.parse.urlencode(params)}" if params else ""
        )
        # Decimals go as JSON numbers (seed data's rates and money); dates and such as text.
        data = jsonio.dumps_bytes(body, str) if body is not None else None
        request = urllib.request.Request(url, data=data, method=verb)  # noqa: S310 (our URL)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 (our URL)
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                raise ControlError(error.code, json.loads(raw)) from None
            except ValueError:
                raise ControlError(error.code, raw.decode()) from None

    # state ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.control("GET", "/health")

    def reset(self, *, reseed: bool = True) -> list[dict[str, Any]]:
        """Forget everything (tokens, data, logs, faults, clock, settings) and reload the seed."""
        return self.control("POST", "/reset", {"reseed": reseed})["tenants"]

    def seed(
        self,
        orgs=None,
        *,
        contacts: int = 300,
        default: bool = False,
        data=None,
        replace: bool = False,
    ) -> list[dict[str, Any]]:
        """Add orgs: names or {name, region, n_contacts, n_invoices, n_credit_notes, seed,
        short_code, currencies} specs (the base currency is always enabled; `currencies` adds
        others), the two demo orgs (default=True), or raw seed dicts (data=[...]). Returns the
        added tenants."""
        spec = {"contacts": contacts, "default": default, "replace": replace}
        if orgs is not None:
            spec["orgs"] = [orgs] if isinstance(orgs, str | dict) else list(orgs)
        if data is not None:
            spec["data"] = data
        return self.control("POST", "/seed", spec)["tenants"]

    def seed_many(
        self,
        count: int,
        *,
        name: str = "Platform Org",
        n_contacts: int = 5,
        per_day: int | None = None,
        region: str = "NZ",
    ) -> list[dict[str, Any]]:
        """`count` small orgs in one call ("Platform Org 0001", ...; {n} in `name` places the
        number), each with its own data; per_day=1000 puts them on a Starter-tier app."""
        spec = {"name": name, "count": count, "n_contacts": n_contacts, "region": region}
        if per_day is not None:
            spec["per_day"] = per_day
        return self.seed([spec])

    def tenants(self) -> list[dict[str, Any]]:
        return self.control("GET", "/tenants")["tenants"]

    def connections(self) -> list[dict[str, Any]]:
        """The app's connections at Xero: [{id, tenantId, tenantName, authEventId}]."""
        return self.control("GET", "/connections")["connections"]

    def tenant_id(self, name: str | None = None) -> str:
        """The id of the org with this name, or of the first org."""
        for tenant in self.tenants():
            if name is None or tenant["name"] == name:
                return tenant["tenantId"]
        raise KeyError(name)

    def state(self, tenant_id: str, kind: str | None = None) -> dict[str, Any]:
        """Stored data, free of rate limits: kind = contacts, invoices, payments, accounts, ..."""
        return self.control("GET", f"/state/{tenant_id}", query={"kind": kind})

    def invoices(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.state(tenant_id, "invoices")["Invoices"]

    def contacts(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.state(tenant_id, "contacts")["Contacts"]

    def credit_notes(self, tenant_id: str) -> list[dict[str, Any]]:
        return self.state(tenant_id, "credit_notes")["CreditNotes"]

    def payments(self, tenant_id: str) -> list[dict[str, Any]]:
        """Payments and refunds; a refund's Invoice is its credit note (as Xero shows it)."""
        return self.state(tenant_id, "payments")["Payments"]

    # clock, limits, config ------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        return self.control("GET", "/clock")

    def set_clock(self, when) -> dict[str, Any]:
        """`when`: epoch seconds or an ISO datetime string."""
        return self.control("POST", "/clock", {"set": when})

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0):
        total = days * 86400 + hours * 3600 + minutes * 60 + seconds
        return self.control("POST", "/clock", {"advance_seconds": total})

    def set_limits(self, *, reset_usage: bool = False, **limits) -> dict[str, Any]:
        """concurrent=, per_minute=, per_day=, app_per_minute=."""
        return self.control("POST", "/limits", {**limits, "reset_usage": reset_usage})

    def limits(self) -> dict[str, Any]:
        """The app-wide limits, each org's usage ("usage") and the app's minute ("app")."""
        return self.control("GET", "/limits")

    def set_org_limits(
        self, tenant_id: str, *, per_day=UNSET, per_minute=UNSET, concurrent=UNSET
    ) -> dict[str, Any]:
        """One org's own limits (per_day=1000: its app is on Xero's Starter tier); None
        returns one to the app-wide setting. Returns the limits that apply and its usage."""
        body = {}
        for field, value in (
            ("per_day", per_day),
            ("per_minute", per_minute),
            ("concurrent", concurrent),
        ):
            if value is not UNSET:
                body[field] = value
        return self.control("POST", f"/orgs/{tenant_id}/limits", body)

    def org_limits(self, tenant_id: str) -> dict[str, Any]:
        return self.control("GET", f"/orgs/{tenant_id}/limits")

    def egress(self, tenant: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
        """Response body bytes the sandbox sent per org per UTC day (sandbox clock):
        [{tenant, day, bytes, responses}], for comparing with what the product counts."""
        return self.control("GET", "/egress", query={"tenant": tenant, "day": day})["egress"]

    def configure(self, **behaviour) -> dict[str, Any]:
        """Switch UNVERIFIED behaviours, e.g. refresh_grace_reuse="same" (see config.Behaviour)."""
        return self.control("POST", "/config", {"behaviour": behaviour})

    def config(self) -> dict[str, Any]:
        return self.control("GET", "/config")

    # faults ---------------------------------------------------------------------------------
    def fault(
        self,
        kind: str,
        *,
        method: str = "*",
        path: str = "*",
        status: int = 500,
        seconds: float = 0.0,
        count: int | None = 1,
        probability: float = 1.0,
        seed: int = 0,
        body: str | None = None,
        after: int = 0,
    ) -> dict[str, Any]:
        """kind: status | latency | timeout | drop | lost_response. `path` is a glob on the URL
        path, e.g. "/api.xro/2.0/Invoices*". count=None means every matching call; `after`
        lets that many matching calls through first."""
        spec = {
            "kind": kind,
            "method": method,
            "path": path,
            "status": status,
            "seconds": seconds,
            "count": count,
            "probability": probability,
            "seed": seed,
            "after": after,
        }
        if body is not None:
            spec["body"] = body
        return self.control("POST", "/faults", spec)

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self.control("GET", "/faults")["faults"]

    # logs -----------------------------------------------------------------------------------
    def requests(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        tenant: str | None = None,
        since_id: int | None = None,
        responses: bool = False,
    ) -> list[dict[str, Any]]:
        """API requests as received: method, path, query, headers (lower-case), body, status,
        response_headers and response_bytes (the body's length as sent). responses=True adds
        response_body (text, at most 1 MiB, with response_truncated; None once evicted from
        the log's 64 MiB body budget)."""
        query = {"method": method, "path": path, "tenant": tenant, "since_id": since_id}
        if responses:
            query["responses"] = "1"
        return self.control("GET", "/requests", query=query)["requests"]

    def clear_requests(self) -> None:
        self.control("DELETE", "/requests")

    def idempotency_log(self) -> list[dict[str, Any]]:
        return self.control("GET", "/idempotency")["entries"]

    # webhooks -------------------------------------------------------------------------------
    def webhooks(self, **settings) -> dict[str, Any]:
        """Read or set url=, key=, batch_seconds=, retry_delays=[...], timeout_seconds=."""
        if settings.get("key"):
            self.webhook_key = settings["key"]
        return self.control("POST" if settings else "GET", "/webhooks", settings or None)

    def flush_webhooks(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until every event was delivered (or gave up); returns the deliveries."""
        return self.control("POST", "/webhooks/flush", {"timeout": timeout})["deliveries"]

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return self.control("GET", "/webhooks/deliveries")["deliveries"]

    def webhook_events(self) -> list[dict[str, Any]]:
        """Every event emitted, delivered or not (no URL configured)."""
        return self.control("GET", "/webhooks/events")["events"]

    def send_bad_signature(self, events: list[Any] | None = None, url: str = "") -> dict[str, Any]:
        return self.control("POST", "/webhooks/bad-signature", {"events": events or [], "url": url})

    def intent_to_receive(self, rounds: int = 3) -> dict[str, Any]:
        return self.control("POST", "/webhooks/intent-to-receive", {"rounds": rounds})

    # identity -------------------------------------------------------------------------------
    def authorize(
        self,
        *,
        scopes: str | list[Any] = DEFAULT_SCOPES,
        tenants: list[str] | None = None,
        redirect_uri: str = "http://localhost/callback",
        code_challenge: str = "",
        code_challenge_method: str = "",
    ) -> str:
        """The consent step without a browser: returns the authorisation code."""
        return self.authorize_details(
            scopes=scopes,
            tenants=tenants,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
        )["code"]

    def authorize_details(self, **kwargs) -> dict[str, Any]:
        """authorize() but returning {code, scope, authEventId, redirect_uri}."""
        return self.control("POST", "/authorize", _clean(kwargs))

    def token_for(
        self, tenant: str | list[str] | None = None, *, scopes=DEFAULT_SCOPES
    ) -> dict[str, Any]:
        """A fresh token set connected to `tenant` (id or ids; default all orgs), shaped for the
        SDK's token getter: scope is a list and expires_at is set."""
        tenants = [tenant] if isinstance(tenant, str) else tenant
        raw = self.control("POST", "/token", _clean({"tenants": tenants, "scopes": scopes}))
        token = {k: raw[k] for k in SDK_TOKEN_KEYS if k in raw}
        token["scope"] = raw["scope"].split()
        return token

    def sdk(
        self,
        tenant: str | None = None,
        *,
        scopes=DEFAULT_SCOPES,
        token: dict[str, Any] | None = None,
    ):
        """A real xero-python client (see sdk_client.SdkClient) pointed at this sandbox."""
        from .sdk_client import SdkClient

        tenant_id = tenant or self.tenant_id()
        return SdkClient(self, tenant_id, token or self.token_for(tenant_id, scopes=scopes))

    # "inside Xero" ---------------------------------------------------------------------------
    # Each fires the webhooks Xero would; quiet=True makes the same change without any (drift
    # on purpose: GET answers and If-Modified-Since polls see it, no webhook tells of it).
    def in_xero(
        self, verb: str, route: str, body: dict[str, Any] | None = None, *, quiet: bool = False
    ):
        return self.control(verb, route, body, query={"quiet": "1"} if quiet else None)

    def edit_contact(self, tenant_id: str, contact_id: str, *, quiet: bool = False, **fields):
        """Edit, rename, archive (ContactStatus="ARCHIVED") or restore a contact in Xero."""
        return self.in_xero("POST", f"/orgs/{tenant_id}/contacts/{contact_id}", fields, quiet=quiet)

    def create_contact(self, tenant_id: str, *, quiet: bool = False, **fields) -> dict[str, Any]:
        return self.in_xero("POST", f"/orgs/{tenant_id}/contacts", fields, quiet=quiet)

    def create_invoice(
        self, tenant_id: str, invoice: dict[str, Any], *, quiet: bool = False
    ) -> dict[str, Any]:
        return self.in_xero("POST", f"/orgs/{tenant_id}/invoices", invoice, quiet=quiet)

    def edit_invoice(self, tenant_id: str, invoice_id: str, *, quiet: bool = False, **fields):
        """Edit or approve an invoice in Xero ({LineItems: [...]} changes its total)."""
        return self.in_xero("POST", f"/orgs/{tenant_id}/invoices/{invoice_id}", fields, quiet=quiet)

    def void_invoice(
        self, tenant_id: str, invoice_id: str, *, quiet: bool = False
    ) -> dict[str, Any]:
        return self.edit_invoice(tenant_id, invoice_id, quiet=quiet, Status="VOIDED")

    def pay_invoice(
        self, tenant_id: str, invoice_id: str, amount=None, account_code=None, *, quiet=False
    ) -> dict[str, Any]:
        payment = {}
        if amount is not None:
            payment["Amount"] = str(amount)
        if account_code:
            payment["Account"] = {"Code": account_code}
        route = f"/orgs/{tenant_id}/invoices/{invoice_id}/payments"
        return self.in_xero("POST", route, payment, quiet=quiet)

    def delete_payment(
        self, tenant_id: str, payment_id: str, *, quiet: bool = False
    ) -> dict[str, Any]:
        """Remove a payment (or a refund) in Xero: its invoice (credit note) is owed again."""
        return self.in_xero("DELETE", f"/orgs/{tenant_id}/payments/{payment_id}", quiet=quiet)

    def create_credit_note(
        self, tenant_id: str, credit_note: dict[str, Any], *, quiet=False
    ) -> dict[str, Any]:
        """A credit note made in Xero (fires CREDITNOTE CREATE). Shaped as the API takes it:
        {Type, Contact: {ContactID}, LineItems, Status, ...}."""
        return self.in_xero("POST", f"/orgs/{tenant_id}/credit-notes", credit_note, quiet=quiet)

    def edit_credit_note(self, tenant_id: str, credit_note_id: str, *, quiet=False, **fields):
        """Edit or approve (Status="AUTHORISED") in Xero; refused as Xero would (ControlError)."""
        route = f"/orgs/{tenant_id}/credit-notes/{credit_note_id}"
        return self.in_xero("POST", route, fields, quiet=quiet)

    def void_credit_note(
        self, tenant_id: str, credit_note_id: str, *, quiet=False
    ) -> dict[str, Any]:
        return self.edit_credit_note(tenant_id, credit_note_id, quiet=quiet, Status="VOIDED")

    def allocate_credit_note(
        self,
        tenant_id: str,
        credit_note_id: str,
        invoice_id: str,
        amount,
        date=None,
        *,
        quiet: bool = False,
    ) -> dict[str, Any]:
        """ "Allocate credit" in Xero: returns the allocation (with its AllocationID)."""
        allocation = {"Invoice": {"InvoiceID": invoice_id}, "Amount": str(amount)}
        if date is not None:
            allocation["Date"] = str(date)
        route = f"/orgs/{tenant_id}/credit-notes/{credit_note_id}/allocations"
        return self.in_xero("POST", route, allocation, quiet=quiet)

    def remove_allocation(
        self, tenant_id: str, credit_note_id: str, allocation_id: str, *, quiet=False
    ) -> dict[str, Any]:
        route = f"/orgs/{tenant_id}/credit-notes/{credit_note_id}/allocations/{allocation_id}"
        return self.in_xero("DELETE", route, quiet=quiet)

    def refund_credit_note(
        self,
        tenant_id: str,
        credit_note_id: str,
        amount=None,
        account_code=None,
        date=None,
        reference=None,
        *,
        quiet: bool = False,
    ) -> dict[str, Any]:
        """ "Make a cash refund" in Xero: all the remaining credit from the first bank account
        unless amount / account_code say otherwise. Returns the payment."""
        refund = {}
        if amount is not None:
            refund["Amount"] = str(amount)
        if account_code:
            refund["Account"] = {"Code": account_code}
        if date is not None:
            refund["Date"] = str(date)
        if reference:
            refund["Reference"] = reference
        route = f"/orgs/{tenant_id}/credit-notes/{credit_note_id}/refunds"
        return self.in_xero("POST", route, refund, quiet=quiet)

    # settings "inside Xero": rates, lock dates, plan, tracking; the invoice emails sent ------
    def set_rate(self, tenant_id: str, code: str, rate, day=None) -> dict[str, Any]:
        """From `day` (always, without one) 1 base currency = `rate` of `code`, as Xero's
        feed would have it; invoices and payments without a CurrencyRate take it."""
        body = {"Code": code, "Rate": str(rate)}
        if day is not None:
            body["Date"] = str(day)
        return self.control("POST", f"/orgs/{tenant_id}/rates", body)

    def rates(self, tenant_id: str) -> dict[str, Any]:
        return self.control("GET", f"/orgs/{tenant_id}/rates")

    def set_lock_dates(self, tenant_id: str, *, period=UNSET, end_of_year=UNSET) -> dict[str, Any]:
        """Organisation PeriodLockDate / EndOfYearLockDate: a date sets, None clears."""
        body = {}
        for field, value in (("PeriodLockDate", period), ("EndOfYearLockDate", end_of_year)):
            if value is not UNSET:
                body[field] = None if value is None else str(value)
        return self.control("POST", f"/orgs/{tenant_id}/lock-dates", body)

    def set_plan(
        self,
        tenant_id: str,
        *,
        approved_invoices_per_month=UNSET,
        approved_bills_per_month=UNSET,
        plan_class: str | None = None,
    ) -> dict[str, Any]:
        """A Starter-like plan: caps on approved invoices (bills) per month; None lifts one."""
        body = {}
        if approved_invoices_per_month is not UNSET:
            body["ApprovedInvoicesPerMonth"] = approved_invoices_per_month
        if approved_bills_per_month is not UNSET:
            body["ApprovedBillsPerMonth"] = approved_bills_per_month
        if plan_class:
            body["Class"] = plan_class
        return self.control("POST", f"/orgs/{tenant_id}/plan", body)

    def add_tracking_category(self, tenant_id: str, name: str, options=()) -> dict[str, Any]:
        return self.control(
            "POST", f"/orgs/{tenant_id}/tracking", {"Name": name, "Options": list(options)}
        )

    def set_tracking_category_status(self, tenant_id: str, category_id: str, status: str):
        return self.control("POST", f"/orgs/{tenant_id}/tracking/{category_id}", {"Status": status})

    def add_tracking_option(self, tenant_id: str, category_id: str, name: str) -> dict[str, Any]:
        return self.control(
            "POST", f"/orgs/{tenant_id}/tracking/{category_id}/options", {"Name": name}
        )

    def set_tracking_option_status(
        self, tenant_id, category_id, option_id, status
    ) -> dict[str, Any]:
        route = f"/orgs/{tenant_id}/tracking/{category_id}/options/{option_id}"
        return self.control("POST", route, {"Status": status})

    def delete_branding_theme(self, tenant_id: str, theme_id: str) -> dict[str, Any]:
        """A person deletes a branding theme in Xero (the last one cannot be)."""
        return self.control("DELETE", f"/orgs/{tenant_id}/branding-themes/{theme_id}")

    def invoice_emails(self, tenant_id: str) -> list[dict[str, Any]]:
        """Invoice emails Xero sent (POST /Invoices/{id}/Email): time, InvoiceID, To, ..."""
        return self.control("GET", f"/orgs/{tenant_id}/emails")["emails"]


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}
