"""Reads about the contacts' way to Xero: the outbox and the conflicts, for the Sync activity
page and a contact's page. Every query is scoped to the account."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from platform_crm.models import Account

from .models import ContactConflict, ContactSync, ContactSyncState


@dataclass(frozen=True)
class ContactOutboxSummary:
    synced: int
    pending: int
    waiting: int
    failed: int
    conflicts: int  # in the window
    xero_won: int
    crm_won: int


def contact_outbox_summary(account: Account, *, since: datetime) -> ContactOutboxSummary:
    states = dict(
        ContactSync.objects.filter(contact__account=account)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    conflicts = ContactConflict.objects.filter(
        connection__account=account, decided_at__gte=since
    ).aggregate(
        total=Count("pk"),
        xero=Count("pk", filter=Q(winner="xero")),
        crm=Count("pk", filter=Q(winner="crm")),
    )
    return ContactOutboxSummary(
        synced=states.get(ContactSyncState.SYNCED, 0),
        pending=states.get(ContactSyncState.PENDING, 0),
        waiting=states.get(ContactSyncState.WAITING, 0),
        failed=states.get(ContactSyncState.FAILED, 0),
        conflicts=conflicts["total"],
        xero_won=conflicts["xero"],
        crm_won=conflicts["crm"],
    )


def contact_conflicts_recent(account: Account, *, limit: int = 10) -> list[ContactConflict]:
    return list(
        ContactConflict.objects.filter(connection__account=account)
        .select_related("contact")
        .order_by("-decided_at", "-id")[:limit]
    )


def contact_syncs_failed(account: Account) -> list[ContactSync]:
    return list(
        ContactSync.objects.filter(contact__account=account, state=ContactSyncState.FAILED)
        .select_related("contact")
        .order_by("-failed_at")[:50]
    )
