"""Reads for the ops pages: an account's Sync activity (account first) and, across accounts,
/ops/health/. A fixed number of queries each."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from invoices.models import EventSource, InvoiceEvent
from platform_crm.models import Account

from ..models import (
    ContactImport,
    ImportStatus,
    InvoiceSync,
    InvoiceSyncState,
    PossibleDuplicate,
    QuarantinedRecord,
    WebhookEvent,
    XeroCall,
    XeroConnection,
)
from .failure_groups import FAILURE_CAUSE_TITLES

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    AccountWithHealth = WithAnnotations[Account, "HealthFigures"]


def recent_calls(account: Account, *, limit: int = 15) -> QuerySet[XeroCall]:
    return xero_call_list(account)[:limit]


# --- Sync activity (one account) ---------------------------------------------------------


def xero_call_list(account: Account) -> QuerySet[XeroCall]:
    """Every call made for the account, newest first (the activity page pages through it)."""
    return XeroCall.objects.filter(connection__account=account).order_by("-created_at", "-id")


def webhook_events_for(account: Account, connection: XeroConnection) -> QuerySet[WebhookEvent]:
    """Events for the account's organisation: those dispatched to its connection, and those for
    its organisation that found no connected account since this account connected."""
    unassigned = Q(connection__isnull=True, tenant_id=connection.tenant_id)
    if connection.connected_at:
        unassigned &= Q(delivery__received_at__gte=connection.connected_at)
    if not connection.tenant_id:
        unassigned = Q(pk__in=[])
    return WebhookEvent.objects.filter(Q(connection__account=account) | unassigned).annotate(
        received_at=F("delivery__received_at")
    )


def webhook_event_recent(
    account: Account, *, connection: XeroConnection, limit: int = 20
) -> QuerySet[WebhookEvent]:
    return webhook_events_for(account, connection).order_by("-id")[:limit]


def webhook_delivery_count(account: Account, *, connection: XeroConnection, since: datetime) -> int:
    """Deliveries since `since` that carried at least one event for the account."""
    return (
        webhook_events_for(account, connection)
        .filter(delivery__received_at__gte=since)
        .values("delivery_id")
        .distinct()
        .count()
    )


def contact_import_recent(account: Account, *, limit: int = 10) -> QuerySet[ContactImport]:
    return (
        ContactImport.objects.filter(connection__account=account)
        .select_related("started_by")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class InvoiceOutbox:
    pending: int
    synced: int
    failed: int
    waiting: int
    held: int  # waiting for an admin's decision about their contact (contacts.name_links)
    oldest_pending_at: datetime | None


def invoice_outbox_summary(account: Account) -> InvoiceOutbox:
    """Where the account's invoices stand with Xero, in one query."""
    rows = InvoiceSync.objects.filter(invoice__account=account).aggregate(
        **{
            state: Count("id", filter=Q(state=state))
            for state in ("pending", "synced", "failed", "waiting", "held")
        },
        oldest_pending_at=Min("updated_at", filter=Q(state=InvoiceSyncState.PENDING)),
    )
    return InvoiceOutbox(**rows)


def xero_failures_by_cause(
    account: Account, *, since: datetime, limit: int = 20
) -> "QuerySet[XeroCall, Any]":
    """Calls that did not succeed since `since`, one row per (outcome, error) with its count
    and when it was last seen; the most recent cause first."""
    return (
        XeroCall.objects.filter(connection__account=account, created_at__gte=since)
        .exclude(outcome="ok")
        .values("outcome", "error")
        .annotate(count=Count("id"), last_seen=Max("created_at"))
        .order_by("-last_seen")[:limit]
    )


# --- Sync activity in plain words ------------------------------------------------------------
# A failed call's outcome (XeroCall.outcome) in the admin's words.
CALL_OUTCOME_WORDS = {
    "transient": "Xero could not be reached or answered with an error; the work was tried again",
    "rate_limited": (
        "Xero asked us to slow down (its call limits); the work waits its turn, then goes on by "
        "itself"
    ),
    "auth_lost": "Xero refused the connection's sign-in; reconnecting Xero fixes it",
    "validation": "Xero refused what was sent",
    "not_found": "Xero did not have a record we asked for",
}


@dataclass(frozen=True)
class Problem:
    """One kind of problem on the Sync activity page, in plain words."""

    what: str  # one sentence
    count: int
    unit: str  # what `count` counts, singular ("invoice", "call", ...)
    last_seen: datetime | None
    link_name: str = ""  # an account-scoped URL name where it is seen or fixed
    link_text: str = ""


def _invoices_not_sent(
    account: Account, *, connection: XeroConnection, since: datetime
) -> list[Problem]:
    """Invoices Xero refused (an element refused inside a 200 answer counts) or that were held
    back before a call: still not sent, whenever they failed. Then those waiting for an admin's
    decision about their contact (a name Xero gives another contact). One query."""
    rows = (
        InvoiceSync.objects.filter(
            invoice__account=account,
            state__in=[InvoiceSyncState.FAILED, InvoiceSyncState.HELD],
        )
        .order_by()
        .values("state", "error_cause")
        .annotate(count=Count("id"), last_seen=Max(Coalesce("failed_at", "updated_at")))
    )
    held = [r for r in rows if r["state"] == InvoiceSyncState.HELD]
    failed = [r for r in rows if r["state"] == InvoiceSyncState.FAILED]
    waiting = (
        [
            Problem(
                what="Waiting for a decision: Xero gives the contact's name to another contact",
                count=sum(r["count"] for r in held),
                unit="invoice",
                last_seen=max(r["last_seen"] for r in held),
                link_name="contacts:duplicates",
                link_text="Decide on Possible duplicates",
            )
        ]
        if held
        else []
    )
    return waiting + [
        Problem(
            what=f"Not sent to Xero: {FAILURE_CAUSE_TITLES.get(r['error_cause'], 'other cause')}",
            count=r["count"],
            unit="invoice",
            last_seen=r["last_seen"],
            link_name="xero_sync:failures",
            link_text="See them and fix",
        )
        for r in sorted(failed, key=lambda r: -r["count"])
    ]


def _calls_failed(
    account: Account, *, connection: XeroConnection, since: datetime
) -> list[Problem]:
    return [
        Problem(
            what=CALL_OUTCOME_WORDS.get(r["outcome"], f"Calls to Xero failed ({r['outcome']})"),
            count=r["count"],
            unit="call",
            last_seen=r["last_seen"],
            link_name="xero_sync:activity_technical",
            link_text="Technical details",
        )
        for r in XeroCall.objects.filter(connection__account=account, created_at__gte=since)
        .exclude(outcome="ok")
        .order_by()
        .values("outcome")
        .annotate(count=Count("id"), last_seen=Max("created_at"))
        .order_by("-last_seen")
    ]


def _changes_from_xero_failed(
    account: Account, *, connection: XeroConnection, since: datetime
) -> list[Problem]:
    found = (
        webhook_events_for(account, connection)
        .filter(outcome="failed", delivery__received_at__gte=since)
        .aggregate(count=Count("id"), last_seen=Max("delivery__received_at"))
    )
    if not found["count"]:
        return []
    return [
        Problem(
            what="Changes made in Xero could not be applied here",
            count=found["count"],
            unit="change",
            last_seen=found["last_seen"],
            link_name="xero_sync:activity_technical",
            link_text="Technical details",
        )
    ]


def _records_held(
    account: Account, *, connection: XeroConnection, since: datetime
) -> list[Problem]:
    """Records Xero sent that could not be stored, and Xero contacts that may be a CRM contact
    twice: still held, whenever they were found (a query each)."""
    held = QuarantinedRecord.objects.filter(
        connection__account=account, resolved_at=None
    ).aggregate(count=Count("id"), last_seen=Max("last_seen_at"))
    duplicates = PossibleDuplicate.objects.filter(
        connection__account=account, resolved_at=None
    ).aggregate(count=Count("id"), last_seen=Max("found_at"))
    problems = []
    if held["count"]:
        problems.append(
            Problem(
                what="Sent by Xero but could not be stored here (everything around them was)",
                count=held["count"],
                unit="record",
                last_seen=held["last_seen"],
                link_name="xero_sync:failures",
                link_text="See them and retry",
            )
        )
    if duplicates["count"]:
        problems.append(
            Problem(
                what="Possible duplicates: a Xero contact may be one of the contacts here",
                count=duplicates["count"],
                unit="contact",
                last_seen=duplicates["last_seen"],
                link_name="contacts:duplicates",
                link_text="Decide on Possible duplicates",
            )
        )
    return problems


# Each source adds its rows to the page's Problems, in this order.
PROBLEM_SOURCES = (_invoices_not_sent, _calls_failed, _changes_from_xero_failed, _records_held)


def activity_problems(
    account: Account, *, connection: XeroConnection, since: datetime
) -> list[Problem]:
    return [
        p for source in PROBLEM_SOURCES for p in source(account, connection=connection, since=since)
    ]


@dataclass(frozen=True)
class CallSummary:
    total: int
    failed: int


def xero_call_summary(account: Account, *, since: datetime) -> CallSummary:
    return CallSummary(
        **XeroCall.objects.filter(connection__account=account, created_at__gte=since).aggregate(
            total=Count("id"), failed=Count("id", filter=~Q(outcome="ok"))
        )
    )


def invoice_sync_events(account: Account) -> QuerySet[InvoiceEvent]:
    """What the sync did to invoices and what came back from Xero, newest first (paged)."""
    return (
        InvoiceEvent.objects.filter(
            invoice__account=account, source__in=[EventSource.SYNC, EventSource.XERO]
        )
        .select_related("invoice")
        .order_by("-at", "-id")
    )


def invoice_sync_list(account: Account) -> QuerySet[InvoiceSync]:
    """Every invoice's twin row with its Xero id, key and attempts, latest change first."""
    return (
        InvoiceSync.objects.filter(invoice__account=account)
        .select_related("invoice")
        .order_by("-updated_at", "-id")
    )


@dataclass(frozen=True)
class DayBudget:
    """The organisation's day with Xero: what Xero last said was left (its plan sets the
    allowance, 1,000 or 5,000, so only Xero's word is shown), our calls today, and the
    invoices held back until Xero's day turns."""

    remaining: int | None  # as Xero last reported it; None if it never did
    reported_at: datetime | None
    calls_today: int  # calls we made since midnight (the site's time zone)
    waiting_for_day: int  # invoices waiting for the day to turn
    resumes_at: datetime | None  # when the first of them goes
    bytes_today: int = 0  # received from Xero since midnight (data egress, which Xero bills)
    bytes_yesterday: int = 0  # received from Xero the day before


def xero_day_report(account: Account) -> XeroCall | None:
    """The last call whose answer said what is left of Xero's day (X-DayLimit-Remaining)."""
    return (
        XeroCall.objects.filter(connection__account=account, day_calls_remaining__isnull=False)
        .only("day_calls_remaining", "created_at")
        .order_by("-created_at", "-id")
        .first()
    )


def _per_connection(rows: QuerySet[Any], total: Any) -> Coalesce:
    """`total` over `rows` (filtered on the outer connection, OuterRef("pk")) as a subquery of
    the connection's row; 0 when there are none."""
    return Coalesce(Subquery(rows.values("connection").annotate(n=total).values("n")), 0)


def xero_day_budget(account: Account, *, connection: XeroConnection, now: datetime) -> DayBudget:
    """One query: each figure is a subquery on the connection's row. Bytes are those received
    from Xero (data egress), summed from each call's row."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    calls = XeroCall.objects.filter(connection=OuterRef("pk")).order_by()
    reports = calls.filter(day_calls_remaining__isnull=False).order_by("-created_at", "-id")
    waiting = InvoiceSync.objects.filter(
        connection=OuterRef("pk"),
        state=InvoiceSyncState.PENDING,
        waiting_for="day",
        next_attempt_at__gt=now,
    ).order_by()
    figures = (
        XeroConnection.objects.filter(pk=connection.pk, account=account)
        .annotate(
            calls_today=_per_connection(calls.filter(created_at__gte=midnight), Count("id")),
            bytes_today=_per_connection(
                calls.filter(created_at__gte=midnight), Sum("response_bytes")
            ),
            bytes_yesterday=_per_connection(
                calls.filter(created_at__gte=midnight - timedelta(days=1), created_at__lt=midnight),
                Sum("response_bytes"),
            ),
            remaining=Subquery(reports.values("day_calls_remaining")[:1]),
            reported_at=Subquery(reports.values("created_at")[:1]),
            waiting_for_day=_per_connection(waiting, Count("id")),
            resumes_at=Subquery(
                waiting.values("connection").annotate(t=Min("next_attempt_at")).values("t")
            ),
        )
        .values(
            "calls_today",
            "bytes_today",
            "bytes_yesterday",
            "remaining",
            "reported_at",
            "waiting_for_day",
            "resumes_at",
        )
        .get()
    )
    return DayBudget(**figures)


PENDING_IMPORT_STATUSES = [ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.PREVIEWING]


# When a pending invoice push became due: its retry time when one is set, else its last change
# (the change that queued it). The oldest of these is how far the invoice outbox lags.
INVOICE_DUE_AT = Coalesce("next_attempt_at", "updated_at")


def _invoice_sync_count(state: str, **per_connection: Any) -> Coalesce:
    return Coalesce(
        Subquery(
            InvoiceSync.objects.filter(**per_connection, state=state)
            .order_by()
            .values("connection")
            .annotate(n=Count("id"))
            .values("n")
        ),
        0,
    )


class HealthFigures(TypedDict):
    """What connection_health_list adds to each account."""

    failed_calls: int
    failed_events: int
    oldest_pending_import_at: datetime | None
    invoices_pending: int
    invoices_failed: int
    invoices_waiting: int
    invoices_held: int
    oldest_invoice_due_at: datetime | None
    quarantined: int
    bytes_today: int


def connection_health_list(
    *, since: datetime, today_from: datetime
) -> "QuerySet[AccountWithHealth]":
    """Every account with its Xero connection (if any) and, per connection, the calls that
    failed since `since`, the webhook events that failed since then, the start of the
    oldest contact import still waiting or running, and its invoice outbox: syncs pending,
    failed, waiting for a reconnect and waiting for a decision, and when the oldest pending
    one became due; the records from Xero held in quarantine; and the bytes received from Xero
    since `today_from` (data egress). One query, whatever the number of rows."""
    per_connection = {"connection": OuterRef("xero_connection")}
    received_today = (
        XeroCall.objects.filter(**per_connection, created_at__gte=today_from)
        .order_by()
        .values("connection")
        .annotate(n=Sum("response_bytes"))
        .values("n")
    )
    failed_calls = (
        XeroCall.objects.filter(**per_connection, created_at__gte=since)
        .exclude(outcome="ok")
        .order_by()
        .values("connection")
        .annotate(n=Count("id"))
        .values("n")
    )
    failed_events = (
        WebhookEvent.objects.filter(**per_connection, outcome="failed", processed_at__gte=since)
        .order_by()
        .values("connection")
        .annotate(n=Count("id"))
        .values("n")
    )
    oldest_pending = (
        ContactImport.objects.filter(**per_connection, status__in=PENDING_IMPORT_STATUSES)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    quarantined = (
        QuarantinedRecord.objects.filter(**per_connection, resolved_at=None)
        .order_by()
        .values("connection")
        .annotate(n=Count("id"))
        .values("n")
    )
    oldest_invoice_due = (
        InvoiceSync.objects.filter(**per_connection, state=InvoiceSyncState.PENDING)
        .annotate(due_at=INVOICE_DUE_AT)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return (
        Account.objects.select_related("xero_connection")
        .annotate(
            failed_calls=Coalesce(Subquery(failed_calls), 0),
            failed_events=Coalesce(Subquery(failed_events), 0),
            oldest_pending_import_at=Subquery(oldest_pending),
            invoices_pending=_invoice_sync_count(InvoiceSyncState.PENDING, **per_connection),
            invoices_failed=_invoice_sync_count(InvoiceSyncState.FAILED, **per_connection),
            invoices_waiting=_invoice_sync_count(InvoiceSyncState.WAITING, **per_connection),
            invoices_held=_invoice_sync_count(InvoiceSyncState.HELD, **per_connection),
            oldest_invoice_due_at=Subquery(oldest_invoice_due),
            quarantined=Coalesce(Subquery(quarantined), 0),
            bytes_today=Coalesce(Subquery(received_today), 0),
        )
        .order_by("name", "pk")
    )


class OutboxFigures(TypedDict):
    pending: int
    oldest_due_at: datetime | None


def invoice_outbox_total() -> OutboxFigures:
    """Across every account: invoice pushes pending and when the oldest of them became due
    (None when there is none). One query."""
    figures = InvoiceSync.objects.filter(state=InvoiceSyncState.PENDING).aggregate(
        pending=Count("id"), oldest_due_at=Min(INVOICE_DUE_AT)
    )
    return OutboxFigures(pending=figures["pending"], oldest_due_at=figures["oldest_due_at"])
