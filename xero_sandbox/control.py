"""The control API under /_sandbox/: what tests and `make dev` use to steer the sandbox. It never
counts against rate limits and never appears in the request log."""

import bisect
import fnmatch
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from . import jsonio
from . import seed as seed_module
from .accounting import tracking
from .accounting.contacts import contact_view
from .accounting.credit_notes import credit_note_view
from .accounting.invoices import invoice_view
from .accounting.items import item_view
from .accounting.payments import payment_view
from .config import as_dict, update_dataclass
from .currency_table import SIX_DP, VALID
from .in_xero import (
    Refused,
    allocate_credit_note_in_xero,
    delete_payment_in_xero,
    pay_invoice_in_xero,
    refund_credit_note_in_xero,
    remove_allocation_in_xero,
    save_contact_in_xero,
    save_credit_note_in_xero,
    save_invoice_in_xero,
)
from .money import to_decimal
from .msdates import ms_date, parse_date, parse_datetime
from .routes import Route
from .sandbox import OWN_LIMITS, Sandbox
from .store import Tenant
from .wire import Request, Response, json_response


def _body(request: Request) -> dict[str, Any]:
    return request.json or {}


def _error(message: str, status: int = 400):
    return json_response({"error": message}, status)


def tenant_summary(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenantId": tenant.id,
        "name": tenant.name,
        "shortCode": tenant.organisation.get("ShortCode", ""),
        "countryCode": tenant.organisation.get("CountryCode", ""),
        "contacts": len(tenant.contacts),
        "invoices": len(tenant.invoices),
        "credit_notes": len(tenant.credit_notes),
    }


def build_orgs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Seed specs: {"default": true, "contacts": N} and/or {"orgs": [{name, region, n_contacts,
    n_invoices, n_credit_notes, seed, short_code, currencies, count, per_day}]} and/or {"data":
    [raw org dicts shaped like seed.build_org output]}. An org spec with `count` stands for that
    many orgs, named `name` with {n} replaced by 1, 2, ... (or " 0001", ... appended) and seeded
    seed + n, so a platform of 1,000 small orgs is one short spec; `per_day` (1,000: a
    Starter-tier app) gives each its own day limit."""
    orgs = list(spec.get("data") or [])
    contacts = int(spec.get("contacts", 300))
    for org in spec.get("orgs") or []:
        if isinstance(org, str):
            org = {"name": org}
        count = org.get("count")
        if count is None:
            orgs.append(_build_org(org, org["name"], int(org.get("seed", 0)), contacts))
            continue
        width = len(str(int(count)))
        for n in range(1, int(count) + 1):
            name = org["name"]
            name = name.format(n=n) if "{n" in name else f"{name} {n:0{width}d}"
            orgs.append(_build_org(org, name, int(org.get("seed", 0)) + n, contacts))
    if spec.get("default"):
        orgs.extend(seed_module.default_orgs(n_contacts=contacts))
    return orgs


def _build_org(org: dict[str, Any], name: str, seed: int, contacts: int) -> dict[str, Any]:
    kwargs = {
        "name": name,
        "region": org.get("region", "NZ"),
        "n_contacts": int(org.get("n_contacts", org.get("contacts", contacts))),
        "seed": seed,
        "n_invoices": int(org.get("n_invoices", 0)),
        "n_credit_notes": int(org.get("n_credit_notes", 0)),
    }
    if org.get("short_code") and org.get("count") is None:
        kwargs["short_code"] = org["short_code"]
    if org.get("currencies"):
        kwargs["currencies"] = tuple(org["currencies"])
    built = seed_module.build_org(**kwargs)
    if org.get("per_day") is not None:
        built[OWN_LIMITS] = {"per_day": int(org["per_day"])}
    return built


# handlers ----------------------------------------------------------------------------
def health(sb: Sandbox, request: Request) -> Response:
    return json_response({"ok": True, "url": sb.base_url})


def reset(sb: Sandbox, request: Request) -> Response:
    sb.reset(reseed=_body(request).get("reseed", True))
    return tenants(sb, request)


def seed(sb: Sandbox, request: Request) -> Response:
    spec = _body(request)
    started = time.monotonic()
    loaded = sb.load_orgs(build_orgs(spec), replace=bool(spec.get("replace")))
    return json_response(
        {
            "tenants": [tenant_summary(t) for t in loaded],
            "seconds": round(time.monotonic() - started, 3),
        }
    )


def tenants(sb: Sandbox, request: Request) -> Response:
    with sb.store.lock:
        return json_response({"tenants": [tenant_summary(t) for t in sb.store.tenants.values()]})


def connections(sb: Sandbox, request: Request) -> Response:
    """The app's connections as Xero holds them (what /connections shows, without a token)."""
    with sb.store.lock:
        rows = [
            {
                "id": c.id,
                "tenantId": c.tenant_id,
                "tenantName": getattr(sb.store.tenant(c.tenant_id), "name", ""),
                "authEventId": c.auth_event_id,
            }
            for c in sb.identity.connections_for(sb.settings.client_id)
        ]
    return json_response({"connections": rows})


def clock(sb: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        body = _body(request)
        if body.get("reset"):
            sb.clock.reset()
        if "set" in body:
            value = body["set"]
            moment = parse_datetime(value) if isinstance(value, str) else None
            sb.clock.set(moment.timestamp() if moment else float(value))
        if body.get("advance_seconds"):
            sb.clock.advance(float(body["advance_seconds"]))
    return json_response(
        {
            "now": sb.clock.now().isoformat(),
            "epoch": sb.clock.time(),
            "offset_seconds": sb.clock.offset(),
        }
    )


def limits(sb: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        body = _body(request)
        if body.pop("reset_usage", False):
            sb.limits.reset()
        unknown = update_dataclass(sb.settings.limits, body)
        if unknown:
            return _error(f"unknown limits: {unknown}")
    return json_response(
        {**as_dict(sb.settings.limits), "usage": sb.limits.usage(), "app": sb.limits.app_usage()}
    )


def org_limits(sb: Sandbox, request: Request) -> Response:
    """One organisation's own limits: {per_day: 1000} (a Starter-tier app), per_minute,
    concurrent; null returns one to the app-wide setting."""
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
    if tenant is None:
        return _error("unknown tenant", 404)
    try:
        if request.method == "POST":
            applying = sb.limits.set_org_limits(tenant.id, _body(request))
        else:
            applying = sb.limits.org_limits(tenant.id)
    except ValueError as error:
        return _error(str(error))
    usage = sb.limits.usage().get(
        tenant.id, {"minute_used": 0, "day_used": 0, "day_resets_at": None, "in_flight": 0}
    )
    return json_response({**applying, "usage": usage})


def egress(sb: Sandbox, request: Request) -> Response:
    """Response bytes sent per organisation per UTC day: ?tenant=&day=YYYY-MM-DD."""
    return json_response({"egress": sb.egress(request.arg("tenant"), request.arg("day"))})


def faults(sb: Sandbox, request: Request) -> Response:
    if request.method == "DELETE":
        sb.faults.clear()
    elif request.method == "POST":
        try:
            added = sb.faults.add(_body(request))
        except (TypeError, ValueError) as error:
            return _error(str(error))
        return json_response(added.public())
    return json_response({"faults": sb.faults.list()})


def request_log(sb: Sandbox, request: Request) -> Response:
    if request.method == "DELETE":
        sb.clear_request_log()
        return json_response({"requests": []})
    rows = sb.request_log()
    method, path, tenant = request.arg("method"), request.arg("path"), request.arg("tenant")
    since = int(request.arg("since_id") or 0)
    if method:
        rows = [r for r in rows if r["method"] == method.upper()]
    if path:
        rows = [r for r in rows if fnmatch.fnmatch(r["path"].lower(), path.lower())]
    if tenant:
        rows = [r for r in rows if r["tenant_id"] == tenant.lower()]
    if since:
        rows = [r for r in rows if r["id"] > since]
    if request.arg("responses", "").lower() not in ("1", "true", "yes"):
        rows = [{k: v for k, v in r.items() if k != "response_body"} for r in rows]
    return json_response({"requests": rows})


def idempotency(sb: Sandbox, request: Request) -> Response:
    with sb.store.lock:
        return json_response({"entries": sb.idempotency.log()})


def config(sb: Sandbox, request: Request) -> Response:
    settings = sb.settings
    if request.method == "POST":
        body = _body(request)
        unknown = update_dataclass(settings.behaviour, body.get("behaviour", {}))
        for name in ("client_id", "client_secret"):
            if name in body:
                setattr(settings, name, body[name])
        if unknown:
            return _error(f"unknown behaviour settings: {unknown}")
    return json_response(
        {
            "client_id": settings.client_id,
            "behaviour": as_dict(settings.behaviour),
            "limits": as_dict(settings.limits),
            "webhooks": as_dict(settings.webhooks),
        }
    )


def webhooks(sb: Sandbox, request: Request) -> Response:
    if request.method == "POST":
        unknown = update_dataclass(sb.settings.webhooks, _body(request))
        if unknown:
            return _error(f"unknown webhook settings: {unknown}")
    return json_response(as_dict(sb.settings.webhooks))


def webhooks_flush(sb: Sandbox, request: Request) -> Response:
    ok = sb.webhooks.flush(float(_body(request).get("timeout", 10)))
    return json_response(
        {"flushed": ok, "deliveries": sb.webhooks.deliveries()}, 200 if ok else 504
    )


def webhooks_deliveries(sb: Sandbox, request: Request) -> Response:
    return json_response({"deliveries": sb.webhooks.deliveries()})


def webhooks_events(sb: Sandbox, request: Request) -> Response:
    return json_response({"events": list(sb.webhooks.emitted)})


def webhooks_bad_signature(sb: Sandbox, request: Request) -> Response:
    body = _body(request)
    return json_response(
        sb.webhooks.send_signed(
            body.get("events", []), good_signature=False, url=body.get("url", "")
        )
    )


def webhooks_intent(sb: Sandbox, request: Request) -> Response:
    return json_response(sb.webhooks.intent_to_receive(int(_body(request).get("rounds", 3))))


def state(sb: Sandbox, request: Request) -> Response:
    """A tenant's data as stored, for assertions that must not spend rate limit."""
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
        if tenant is None:
            return _error("unknown tenant", 404)
        kind = request.arg("kind")
        data = {"Organisation": tenant.organisation}
        if kind in (None, "contacts"):
            data["Contacts"] = [contact_view(tenant, c, False) for c in tenant.contacts.values()]
        if kind in (None, "contact_groups"):
            data["ContactGroups"] = [
                dict(g, Contacts=list(tenant.group_members.get(gid, [])))
                for gid, g in tenant.contact_groups.items()
            ]
        if kind in (None, "invoices"):
            data["Invoices"] = [invoice_view(tenant, i) for i in tenant.invoices.values()]
        if kind in (None, "credit_notes"):
            data["CreditNotes"] = [
                credit_note_view(tenant, c) for c in tenant.credit_notes.values()
            ]
        if kind in (None, "payments"):
            data["Payments"] = [payment_view(tenant, p) for p in tenant.payments.values()]
        if kind in (None, "accounts"):
            data["Accounts"] = list(tenant.accounts.values())
        if kind in (None, "tax_rates"):
            data["TaxRates"] = list(tenant.tax_rates.values())
        if kind in (None, "currencies"):
            data["Currencies"] = list(tenant.currencies.values())
        if kind in (None, "items"):
            data["Items"] = [item_view(i, 4) for i in tenant.items.values()]
        if kind in (None, "tracking_categories"):
            data["TrackingCategories"] = [
                tracking.category_view(c, True) for c in tenant.tracking_categories.values()
            ]
        if kind in (None, "branding_themes"):
            data["BrandingThemes"] = list(tenant.branding_themes.values())
        return json_response(data)


def _all_tenants(sb: Sandbox) -> list[str]:
    with sb.store.lock:
        return list(sb.store.tenants)


def authorize(sb: Sandbox, request: Request) -> Response:
    """The consent page without a browser: returns the code the redirect would carry."""
    body = _body(request)
    scopes = (
        body.get("scopes")
        or "openid profile email offline_access accounting.contacts "
        "accounting.settings accounting.invoices accounting.payments"
    )
    scopes = scopes.split() if isinstance(scopes, str) else list(scopes)
    tenant_ids = body.get("tenants") or _all_tenants(sb)
    with sb.store.lock:
        missing = [t for t in tenant_ids if sb.store.tenant(t) is None]
        if missing:
            return _error(f"unknown tenants: {missing}")
        code = sb.identity.consent(
            client_id=body.get("client_id", sb.settings.client_id),
            redirect_uri=body.get("redirect_uri", "http://localhost/callback"),
            scopes=scopes,
            tenant_ids=[sb.store.tenant(t).id for t in tenant_ids],
            challenge=body.get("code_challenge", ""),
            challenge_method=body.get("code_challenge_method", ""),
        )
        event = sb.identity.connections_for(body.get("client_id", sb.settings.client_id))
        auth_event = next((c.auth_event_id for c in event if c.tenant_id in tenant_ids), "")
    return json_response(
        {
            "code": code,
            "scope": " ".join(scopes),
            "authEventId": auth_event,
            "redirect_uri": body.get("redirect_uri", "http://localhost/callback"),
        }
    )


def token(sb: Sandbox, request: Request) -> Response:
    """Consent and code exchange in one step: a full token set, with expires_at for the SDK."""
    body = _body(request)
    answer = authorize(sb, request)
    if answer.status != 200:
        return answer
    grant = jsonio.loads(answer.body)
    with sb.store.lock:
        pair = sb.identity.exchange_code(
            client_id=body.get("client_id", sb.settings.client_id),
            code=grant["code"],
            redirect_uri=grant["redirect_uri"],
            verifier=body.get("code_verifier", ""),
        )
    pair["expires_at"] = sb.clock.time() + pair["expires_in"]
    pair["authEventId"] = grant["authEventId"]
    return json_response(pair)


def _in_xero(action):
    """A change "inside Xero"; `?quiet=1` makes it without a webhook (drift on purpose)."""

    def handler(sb: Sandbox, request: Request) -> Response:
        try:
            return json_response(action(sb, request, request.flag("quiet")))
        except Refused as refused:
            return json_response({"errors": refused.messages}, 400)

    return handler


edit_contact = _in_xero(
    lambda sb, r, q: save_contact_in_xero(
        sb, r.params["tenant"], _body(r), r.params.get("id"), quiet=q
    )
)
edit_invoice = _in_xero(
    lambda sb, r, q: save_invoice_in_xero(
        sb, r.params["tenant"], _body(r), r.params.get("id"), quiet=q
    )
)
pay_invoice = _in_xero(
    lambda sb, r, q: pay_invoice_in_xero(sb, r.params["tenant"], r.params["id"], _body(r), quiet=q)
)
delete_payment = _in_xero(
    lambda sb, r, q: delete_payment_in_xero(sb, r.params["tenant"], r.params["id"], quiet=q)
)
edit_credit_note = _in_xero(
    lambda sb, r, q: save_credit_note_in_xero(
        sb, r.params["tenant"], _body(r), r.params.get("id"), quiet=q
    )
)
allocate_credit_note = _in_xero(
    lambda sb, r, q: allocate_credit_note_in_xero(
        sb, r.params["tenant"], r.params["id"], _body(r), quiet=q
    )
)
remove_allocation = _in_xero(
    lambda sb, r, q: remove_allocation_in_xero(
        sb, r.params["tenant"], r.params["id"], r.params["allocation_id"], quiet=q
    )
)
refund_credit_note = _in_xero(
    lambda sb, r, q: refund_credit_note_in_xero(
        sb, r.params["tenant"], r.params["id"], _body(r), quiet=q
    )
)


def _org_setting(action):
    """A change to one org's settings "inside Xero": KeyError is a 404, ValueError a 400."""

    def handler(sb: Sandbox, request: Request) -> Response:
        with sb.store.lock:
            tenant = sb.store.tenant(request.params["tenant"])
            if tenant is None:
                return _error("unknown tenant", 404)
            try:
                answer = action(tenant, request, _body(request))
            except KeyError as missing:
                return _error(f"not found: {missing}", 404)
            except ValueError as error:
                return _error(str(error))
        if request.method != "GET":
            sb.changed.set()
        return json_response(answer)

    return handler


def _rates(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Day rates as Xero's feed would give them: {Code, Rate, Date?} sets 1 base = Rate Code
    from Date (from always, without one); GET lists what was set."""
    if request.method == "POST":
        code = body.get("Code")
        rate = to_decimal(body.get("Rate"))
        since = parse_date(body["Date"]) if body.get("Date") else date.min
        if code not in VALID or code == tenant.base_currency:
            raise ValueError(f"Code must be a currency code other than the base, not {code!r}")
        if rate is None or rate <= 0 or since is None:
            raise ValueError("Rate must be a positive number and Date a date")
        table = [r for r in tenant.rates.get(code, []) if r[0] != since]
        bisect.insort(table, (since, rate.quantize(SIX_DP)))
        tenant.rates[code] = table
    return {
        "base": tenant.base_currency,
        "rates": [
            {"Code": code, "Date": None if since == date.min else since.isoformat(), "Rate": rate}
            for code, table in tenant.rates.items()
            for since, rate in table
        ],
    }


def _lock_dates(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """{PeriodLockDate, EndOfYearLockDate}: a date sets it, null clears it, absent keeps it."""
    for field in ("PeriodLockDate", "EndOfYearLockDate"):
        if field not in body:
            continue
        if body[field] is None:
            tenant.organisation.pop(field, None)
            continue
        day = parse_date(body[field])
        if day is None:
            raise ValueError(f"{field} must be a date")
        tenant.organisation[field] = ms_date(day)
    return {k: tenant.organisation.get(k) for k in ("PeriodLockDate", "EndOfYearLockDate")}


PLAN_CAPS = {"ApprovedInvoicesPerMonth": "ACCREC", "ApprovedBillsPerMonth": "ACCPAY"}


def _plan(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """{Class, ApprovedInvoicesPerMonth, ApprovedBillsPerMonth}: a Starter-like plan caps the
    invoices (bills) approved per month of their date; null lifts a cap."""
    for field, kind in PLAN_CAPS.items():
        if field in body:
            cap = body[field]
            if cap is not None and (not isinstance(cap, int) or cap < 0):
                raise ValueError(f"{field} must be a whole number or null")
            tenant.plan[kind] = cap
    if body.get("Class"):
        tenant.organisation["Class"] = body["Class"]
    return {
        "Class": tenant.organisation.get("Class"),
        **{field: tenant.plan[kind] for field, kind in PLAN_CAPS.items()},
    }


def _add_tracking(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return tracking.category_view(
        tracking.add_category(tenant, body.get("Name"), list(body.get("Options") or [])), True
    )


def _edit_tracking(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    category_id = request.params["id"]
    if body.get("Status"):
        tracking.set_category_status(tenant, category_id, body["Status"])
    category = tenant.tracking_categories[category_id.lower()]
    return tracking.category_view(category, True)


def _add_option(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return tracking.add_option(tenant, request.params["id"], body.get("Name"))


def _edit_option(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return tracking.set_option_status(
        tenant, request.params["id"], request.params["option"], body.get("Status")
    )


def _delete_theme(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """A person deletes a branding theme in Xero; the last one stays (an org always has one)."""
    theme_id = request.params["id"].lower()
    if theme_id not in tenant.branding_themes:
        raise KeyError(theme_id)
    if len(tenant.branding_themes) == 1:
        raise ValueError("The organisation's last branding theme cannot be deleted.")
    return tenant.branding_themes.pop(theme_id)


def _emails(tenant: Tenant, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"emails": list(tenant.invoice_emails)}


def _c(method: str, path: str, handler: Callable[..., Response]) -> Route:
    return Route(method, re.compile(f"^/_sandbox{path}/?$", re.I), handler, "control")


_T = "/orgs/(?P<tenant>[^/]+)"
ROUTES = [
    _c("GET", "/health", health),
    _c("POST", "/reset", reset),
    _c("POST", "/seed", seed),
    _c("GET", "/tenants", tenants),
    _c("GET", "/connections", connections),
    _c("GET", "/clock", clock),
    _c("POST", "/clock", clock),
    _c("GET", "/limits", limits),
    _c("POST", "/limits", limits),
    _c("GET", "/egress", egress),
    _c("GET", "/faults", faults),
    _c("POST", "/faults", faults),
    _c("DELETE", "/faults", faults),
    _c("GET", "/requests", request_log),
    _c("DELETE", "/requests", request_log),
    _c("GET", "/idempotency", idempotency),
    _c("GET", "/config", config),
    _c("POST", "/config", config),
    _c("GET", "/webhooks", webhooks),
    _c("POST", "/webhooks", webhooks),
    _c("POST", "/webhooks/flush", webhooks_flush),
    _c("GET", "/webhooks/deliveries", webhooks_deliveries),
    _c("GET", "/webhooks/events", webhooks_events),
    _c("POST", "/webhooks/bad-signature", webhooks_bad_signature),
    _c("POST", "/webhooks/intent-to-receive", webhooks_intent),
    _c("GET", "/state/(?P<tenant>[^/]+)", state),
    _c("POST", "/authorize", authorize),
    _c("POST", "/token", token),
    _c("POST", f"{_T}/contacts", edit_contact),
    _c("POST", f"{_T}/contacts/(?P<id>[^/]+)", edit_contact),
    _c("POST", f"{_T}/invoices", edit_invoice),
    _c("POST", f"{_T}/invoices/(?P<id>[^/]+)", edit_invoice),
    _c("POST", f"{_T}/invoices/(?P<id>[^/]+)/payments", pay_invoice),
    _c("DELETE", f"{_T}/payments/(?P<id>[^/]+)", delete_payment),
    _c("GET", f"{_T}/limits", org_limits),
    _c("POST", f"{_T}/limits", org_limits),
    _c("GET", f"{_T}/rates", _org_setting(_rates)),
    _c("POST", f"{_T}/rates", _org_setting(_rates)),
    _c("POST", f"{_T}/lock-dates", _org_setting(_lock_dates)),
    _c("POST", f"{_T}/plan", _org_setting(_plan)),
    _c("POST", f"{_T}/tracking", _org_setting(_add_tracking)),
    _c("POST", f"{_T}/tracking/(?P<id>[^/]+)", _org_setting(_edit_tracking)),
    _c("POST", f"{_T}/tracking/(?P<id>[^/]+)/options", _org_setting(_add_option)),
    _c(
        "POST",
        f"{_T}/tracking/(?P<id>[^/]+)/options/(?P<option>[^/]+)",
        _org_setting(_edit_option),
    ),
    _c("DELETE", f"{_T}/branding-themes/(?P<id>[^/]+)", _org_setting(_delete_theme)),
    _c("GET", f"{_T}/emails", _org_setting(_emails)),
    _c("POST", f"{_T}/credit-notes", edit_credit_note),
    _c("POST", f"{_T}/credit-notes/(?P<id>[^/]+)", edit_credit_note),
    _c("POST", f"{_T}/credit-notes/(?P<id>[^/]+)/allocations", allocate_credit_note),
    _c(
        "DELETE",
        f"{_T}/credit-notes/(?P<id>[^/]+)/allocations/(?P<allocation_id>[^/]+)",
        remove_allocation,
    ),
    _c("POST", f"{_T}/credit-notes/(?P<id>[^/]+)/refunds", refund_credit_note),
]
