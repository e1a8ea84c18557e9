"""The contacts' outbox: a CRM change to a contact that goes to Xero marks its ContactSync row
pending in the same transaction (with the fields it changed, and when) and, after commit,
queues one push of the organisation's outbox (xero_sync.contacts.push). Changes that came
from Xero are never queued back to it."""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from contacts.models import ADDRESS_FIELDS, Contact
from platform_crm.queueing import enqueue

from ..client.limits import redis_client
from ..context import applying_from_xero
from ..models import ContactPushMode, XeroConnection
from .models import ContactSync, ContactSyncState, XeroContact

log = logging.getLogger(__name__)

# The CRM fields Xero keeps too (is_customer and is_supplier are Xero's own, set by invoices).
PUSHED_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    *ADDRESS_FIELDS,
    "is_archived",
)
SWEEP_GRACE = timedelta(seconds=30)
QUEUED_FLAG_SECONDS = 60


def goes_to_xero(connection: XeroConnection, contact: Contact, *, linked: bool) -> bool:
    """Whether the connection's choice sends this contact's changes to Xero."""
    if connection.contact_push_mode == ContactPushMode.NONE:
        return False
    if linked:
        return True
    return connection.contact_push_mode == ContactPushMode.CUSTOMERS and contact.is_customer


def contact_sync_mark_pending(*, contact: Contact, fields: list[str], at: datetime) -> None:
    """Called inside the CRM change's transaction: record the work, queue a push after commit."""
    if applying_from_xero.get():
        return  # the change came from Xero: never echo it back
    connection = XeroConnection.objects.filter(account_id=contact.account_id).first()
    if connection is None or not connection.tenant_id:
        return
    linked = XeroContact.objects.filter(connection=connection, contact=contact).exists()
    if not goes_to_xero(connection, contact, linked=linked):
        return
    # A contact not yet in Xero goes whole; a linked one sends what changed.
    pushed = [f for f in fields if f in PUSHED_FIELDS]
    if not linked:
        pushed = [f for f in PUSHED_FIELDS if f != "is_archived" and getattr(contact, f)]
    if not pushed:
        return
    sync, created = ContactSync.objects.select_for_update().get_or_create(
        contact=contact,
        defaults={"connection": connection, "state": ContactSyncState.PENDING},
    )
    if not created:
        sync.version += 1
    for name in pushed:
        sync.dirty[name] = {"at": at.isoformat(), "v": sync.version}
    sync.state = ContactSyncState.PENDING
    sync.attempts = 0
    sync.next_attempt_at = timezone.now()
    sync.save()
    transaction.on_commit(partial(contacts_push_queue, connection.pk))


def contacts_push_queue(connection_id: int) -> None:
    """Queue a push of the organisation's outbox unless one is queued and not yet started."""
    try:
        if redis_client().set(push_queued_flag(connection_id), 1, nx=True, ex=QUEUED_FLAG_SECONDS):
            enqueue("xero_sync.tasks.contacts_push_task", connection_id)
    except (RedisError, KombuOperationalError):
        # Committed in the outbox: the beat sweep queues the push once Redis is back.
        log.warning(
            "contact push not queued: Redis unavailable",
            exc_info=True,
            extra={"connection_id": connection_id},
        )


def push_queued_flag(connection_id: int) -> str:
    return f"xero:contacts-push-queued:{connection_id}"


def due_rows(
    connection_id: int | None = None, *, grace: timedelta = timedelta(0)
) -> QuerySet[ContactSync]:
    rows = ContactSync.objects.filter(state=ContactSyncState.PENDING).filter(
        Q(next_attempt_at__lte=timezone.now() - grace) | Q(next_attempt_at=None)
    )
    return rows if connection_id is None else rows.filter(connection_id=connection_id)


def connections_due() -> list[int]:
    """Organisations with pending contact changes whose push may have been lost (the sweep)."""
    return list(
        due_rows(grace=SWEEP_GRACE).values_list("connection_id", flat=True).distinct().order_by()
    )


def contact_sync_retry(sync: ContactSync) -> None:
    """Retry after a fix: pending again, with a new idempotency key."""
    ContactSync.objects.filter(pk=sync.pk).update(
        state=ContactSyncState.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        retries=F("retries") + 1,
    )
    transaction.on_commit(partial(contacts_push_queue, sync.connection_id))


def contacts_resume_waiting(connection: XeroConnection) -> int:
    """After a reconnect: contact changes that waited for it go."""
    resumed = ContactSync.objects.filter(
        connection=connection, state=ContactSyncState.WAITING
    ).update(state=ContactSyncState.PENDING, next_attempt_at=timezone.now())
    if resumed:
        transaction.on_commit(partial(contacts_push_queue, connection.pk))
    return resumed
