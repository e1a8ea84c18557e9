"""Everything a test or `make dev` may tune. UNVERIFIED upstream behaviours default to the stricter
choice (see XERO-FACTS.md section 12) and can be switched through the control API."""

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any


@dataclass
class Limits:
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10000


@dataclass
class Behaviour:
    access_token_seconds: int = 1800
    refresh_token_idle_days: int = 60
    # Lost refresh responses may be retried with the old token for this long.
    refresh_grace_seconds: int = 1800
    # UNVERIFIED: a second refresh of the same old token within grace: "fresh" pair, "same" pair
    # as the first refresh returned, or "reject" (invalid_grant).
    refresh_grace_reuse: str = "fresh"
    # UNVERIFIED: sources say 30 s or 5 min; the shorter one is stricter.
    auth_code_seconds: int = 30
    # UNVERIFIED upstream (one summary says ~6 min); the lead chose 24 h.
    idempotency_window_seconds: int = 86400
    # UNVERIFIED: key reused with another body: "replay" the first response or "reject" (400).
    idempotency_mismatch: str = "replay"
    # UNVERIFIED: approved invoices without payments can be edited (Xero documents it as allowed).
    edit_authorised_invoices: bool = True
    # UNVERIFIED: POST /Invoices matching an existing invoice by InvoiceNumber alone.
    post_matches_invoice_number: bool = False
    # UNVERIFIED: whether a number of a DELETED invoice may be reused; stricter: never.
    invoice_numbers_reusable_after_delete: bool = False
    # UNVERIFIED: negative line quantities (WorkGuru reports Xero refuses them on invoices and
    # purchase orders: "Quantity must not be less than zero"); stricter: refuse.
    allow_negative_quantities: bool = False
    # UNVERIFIED: a DueDate before the invoice Date (a request in XeroAPI/Xero-Java#353 had one
    # and Xero's answer did not mention it); stricter: refuse.
    allow_due_before_date: bool = False
    # UNVERIFIED: paying an invoice (or allocating a credit note to it) fires INVOICE UPDATE.
    webhook_on_payment: bool = True
    # UNVERIFIED: whether the concurrent-limit 429 carries Retry-After.
    concurrent_retry_after: bool = False
    # Documented (a day breach carries Retry-After); False tries a client without it.
    day_retry_after: bool = True
    # UNVERIFIED: what GET /Contacts or /Invoices without `page` returns: "first_page" (100,
    # stricter: a client that forgets to page loses data visibly) or "all".
    unpaged_lists: str = "first_page"
    # GET /CreditNotes has no IDs filter in Xero's spec or SDK. "refuse" (400, so a client that
    # relies on it learns at once) or "filter" (as GET /Invoices does).
    credit_note_ids: str = "refuse"
    # UNVERIFIED: whether an ARCHIVED contact's name may be given to another contact. The
    # spec's refusal says names are unique "across all active contacts"; integrators quote a
    # refusal when details match an archived contact. "reserved" (stricter: a create or a
    # rename onto an archived contact's name is refused) or "free".
    archived_contact_names: str = "reserved"
    # UNVERIFIED: an API write that changes an ARCHIVED contact without restoring it
    # (integrators quote "Archived contacts cannot currently be edited via the API");
    # stricter: refuse. Restoring (ContactStatus ACTIVE) is always allowed.
    edit_archived_contacts: bool = False
    rate_limit_problem_minute: str = "minute"
    rate_limit_problem_day: str = "day"
    rate_limit_problem_concurrent: str = "concurrent"
    # UNVERIFIED: the value for the app-wide 10,000-a-minute limit.
    rate_limit_problem_app_minute: str = "appminute"
    # Exact registered redirect URIs; empty means any http://localhost or http://127.0.0.1 URI.
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class WebhookSettings:
    url: str = ""
    key: str = "sandbox-webhook-key"
    # Events arriving within this window share one POST, as Xero batches them.
    batch_seconds: float = 0.2
    # Delays before each retry; Xero retries "with decreasing frequency for up to 24 hours".
    retry_delays: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0, 8.0])
    timeout_seconds: float = 5.0


@dataclass
class Settings:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    behaviour: Behaviour = field(default_factory=Behaviour)
    limits: Limits = field(default_factory=Limits)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)


def update_dataclass(obj: Any, values: dict[str, Any]) -> list[str]:
    """Set known fields from a dict; return the unknown names so callers can report them."""
    known = {f.name for f in fields(obj)}
    unknown = [k for k in values if k not in known]
    for key, value in values.items():
        if key in known:
            setattr(obj, key, _plain(value))
    return unknown


def _plain(value: Any) -> Any:
    # Control bodies are parsed with Decimal floats; timers and counters want float.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)
