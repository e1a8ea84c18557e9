"""The contacts' push: every due outbox row of one organisation, in batches of up to 50, under
the organisation's push lock (a PostgreSQL advisory lock, freed if the worker dies).

Per batch:
1. Pre-flight: a name Xero already gives another contact fails the row in words, without a
   call (the form refuses it first; this catches a name taken in Xero since).
2. Rows whose last write lost its answer are read back from Xero (one call): a write that
   landed is not made again.
3. One POST /Contacts?summarizeErrors=false for the rest, with an idempotency key stored with
   the rows' versions: each element's answer is its row's.
Waits for Xero stay in the database (next_attempt_at); the beat sweep re-queues due rows whose
message was lost. Changes that came from Xero never reach the outbox."""

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from contacts.models import Contact
from platform_crm.advisory_locks import advisory_lock

from ..client import XeroClient, element_messages
from ..client.contacts import contact_changes_digest, contact_changes_request
from ..client.errors import OUTAGES, AuthLost, BadAnswer, RateLimited, Transient, XeroError
from ..client.limits import redis_client
from ..client.shapes import ContactChanges
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..inbound import normalise
from ..invoices.keys import digest
from ..models import ConnectionStatus, XeroConnection
from ..webhooks.own_writes import own_writes_remember
from .apply import page_apply
from .mapping import NAME_FIELDS, ContactFilter, contact_changes, sent_matches, xero_name
from .models import ContactSync, ContactSyncState, XeroContact
from .outbox import due_rows, goes_to_xero, push_queued_flag
from .preflight import name_taken_message

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Xero: "batch about 50 elements per request"
MAX_TRANSIENT_ATTEMPTS = 12


@dataclass
class PushResult:
    batches: int = 0
    synced: int = 0
    failed: int = 0
    retry_in: float = 0.0


@dataclass
class Row:
    sync: ContactSync
    version: int
    link: XeroContact | None
    changes: ContactChanges | None = None
    failed: tuple[str, str] | None = None  # (cause, plain words)
    answer: dict[str, Any] | None = None  # Xero's contact after the write
    done: bool = False

    @property
    def contact(self) -> Contact:
        return self.sync.contact

    @property
    def live(self) -> bool:
        return self.failed is None and not self.done


def contacts_push(connection_id: int) -> PushResult:
    """Push every due contact change of one organisation, in batches, until none is left."""
    redis_client().delete(push_queued_flag(connection_id))
    result = PushResult()
    while True:
        with _push_lock(connection_id) as mine:
            if not mine:
                return result
            _push_batches(connection_id, result)
        if result.retry_in:
            return result
        if not due_rows(connection_id).exists():
            result.retry_in = _seconds_to_next_due(connection_id)
            return result


def _push_lock(connection_id: int) -> AbstractContextManager[bool]:
    return advisory_lock(f"xero-contacts-push:{connection_id}")


def _claim(connection: XeroConnection) -> list[Row]:
    with transaction.atomic():
        syncs = list(
            due_rows(connection.pk)
            .select_related("contact__account", "contact__xero_link")
            .order_by("next_attempt_at", "id")[:BATCH_SIZE]
        )
        ContactSync.objects.filter(pk__in=[s.pk for s in syncs]).update(attempts=F("attempts") + 1)
    rows = []
    for sync in syncs:
        sync.attempts += 1
        link = getattr(sync.contact, "xero_link", None)
        rows.append(
            Row(sync, sync.version, link if link and link.connection_id == connection.pk else None)
        )
    return rows


def _push_batches(connection_id: int, result: PushResult) -> None:
    while True:
        connection = XeroConnection.objects.get(pk=connection_id)
        if connection.status != ConnectionStatus.CONNECTED:
            due_rows(connection_id).update(state=ContactSyncState.WAITING)
            return
        rows = _claim(connection)
        if not rows:
            return
        client = xero_client_for(connection)
        try:
            try:
                _batch_send(client, connection, rows)
            except XeroError as refused:
                if isinstance(refused, RateLimited | Transient | AuthLost):
                    raise
                for row in rows:
                    if row.live:
                        row.failed = ("validation", f"Xero refused it: {refused.message}")
            except OUTAGES:
                raise
            except Exception as bug:
                log.exception("contact push failed", extra={"connection_id": connection.pk})
                for row in rows:
                    if row.live:
                        row.failed = (
                            "internal",
                            f"The change could not be sent to Xero ({type(bug).__name__}). "
                            "Press Retry; if it fails again, tell support.",
                        )
        except RateLimited as limited:
            _finish([r for r in rows if not r.live], result)
            ContactSync.objects.filter(pk__in=[r.sync.pk for r in rows if r.live]).update(
                attempts=F("attempts") - 1
            )
            until = timezone.now() + timedelta(seconds=limited.retry_after)
            due_rows(connection.pk).update(next_attempt_at=until)
            result.retry_in = limited.retry_after
            return
        except Transient as transient:
            _finish([r for r in rows if not r.live], result)
            _after_transient([r for r in rows if r.live], transient)
            result.retry_in = _seconds_to_next_due(connection.pk)
            return
        except AuthLost:
            _finish([r for r in rows if not r.live], result)
            due_rows(connection.pk).update(state=ContactSyncState.WAITING)
            return
        _finish(rows, result)
        if any(r.done and r.answer for r in rows):
            connection_record_activity(connection)
        result.batches += 1


def _batch_send(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> None:
    theirs = _xero_now(client, connection, rows)
    for row in rows:
        _prepare(connection, row)
    for row in rows:
        if row.live and row.sync.outcome_unknown and row.link is None and row.changes:
            _created_after_lost_answer(client, row)
    _found_after_lost_answer(rows, theirs)
    live = [r for r in rows if r.live and r.changes is not None]
    if not live:
        return
    changes = [r.changes for r in live if r.changes is not None]
    key = "crm-contacts-save-" + digest(
        [
            contact_changes_digest(changes),
            *((r.sync.pk, r.version, r.sync.retries) for r in live),
        ]
    )
    # Before the call: if its answer is lost, the next round reads Xero before writing again.
    sent = contact_changes_request(changes)["Contacts"]
    for row, element in zip(live, sent, strict=True):
        ContactSync.objects.filter(pk=row.sync.pk).update(outcome_unknown=True, sent=element)
    answers = client.contacts_save(changes, idempotency_key=key)
    if len(answers) != len(live):
        raise BadAnswer(
            "Xero's answer does not hold one contact per contact sent.", outcome_unknown=True
        )
    for row, answer in zip(live, answers, strict=True):
        messages = element_messages(answer)
        if (
            not isinstance(answer, dict)
            or messages
            or normalise.flag(answer.get("HasValidationErrors"))
        ):
            row.failed = refusal(row, messages)
            continue
        row.answer, row.done = answer, True
    # Each contact written comes back as a webhook event: known as ours when it does.
    own_writes_remember(
        connection.pk,
        "CONTACT",
        [
            (r.answer.get("ContactID"), r.answer.get("UpdatedDateUTC"), r.link is None)
            for r in live
            if r.answer
        ],
    )


def _prepare(connection: XeroConnection, row: Row) -> None:
    """What the row sends, or why it cannot (the pre-flight)."""
    contact = row.contact
    fields = set(row.sync.dirty)
    if not goes_to_xero(connection, contact, linked=row.link is not None):
        row.done = True  # the connection's choice changed since: nothing to send
        return
    if row.link is not None and not fields:
        row.done = True  # Xero's own change settled it (a conflict Xero won)
        return
    if row.link is None or fields & set(NAME_FIELDS):
        taken = name_taken_message(connection, contact, xero_name(contact))
        if taken:
            row.failed = ("name_taken", taken)
            return
    row.changes = contact_changes(
        contact,
        fields,
        xero_contact_id=row.link.xero_contact_id if row.link else "",
        payload=row.link.payload if row.link else {},
    )


def _xero_now(
    client: XeroClient, connection: XeroConnection, rows: list[Row]
) -> dict[str, dict[str, Any]]:
    """The batch's linked contacts as Xero has them now (one call), applied here first as any
    news from Xero is: a field changed in Xero since the last sync and here too is decided by
    the connection's rule before anything is sent (Xero's win is not overwritten by a blind
    write), and rows are re-read with what is left to send. By Xero's id, lower-cased."""
    linked = [r for r in rows if r.link is not None]
    if not linked:
        return {}
    found = client.contacts_by_ids([r.link.xero_contact_id for r in linked if r.link])
    page_apply(connection, found, ContactFilter(group_member_ids=None), source="contacts push")
    fresh = {
        s.pk: s
        for s in ContactSync.objects.select_related("contact__xero_link").filter(
            pk__in=[r.sync.pk for r in linked]
        )
    }
    for row in linked:
        if row.sync.pk in fresh:
            sync = fresh[row.sync.pk]
            row.sync.dirty, row.sync.contact = sync.dirty, sync.contact
            row.link = getattr(sync.contact, "xero_link", None) or row.link
    return {normalise.text(c.get("ContactID")).lower(): c for c in found if isinstance(c, dict)}


def _found_after_lost_answer(rows: list[Row], theirs: dict[str, dict[str, Any]]) -> None:
    """Rows whose last write lost its answer: if Xero holds what was sent, it is not sent again."""
    for row in rows:
        if not (row.live and row.sync.outcome_unknown and row.changes is not None):
            continue
        if row.link is None:
            continue  # a new contact: looked up by name and details in _created_after_lost_answer
        found = theirs.get(row.link.xero_contact_id.lower())
        if found is not None and sent_matches(row.changes, found):
            row.answer, row.done = found, True


def _created_after_lost_answer(client: XeroClient, row: Row) -> None:
    """A new contact whose answer was lost: Xero's contact of that name is ours only if it
    holds everything sent (a name alone links nothing)."""
    assert row.changes is not None
    for found in client.contacts_search(row.changes.name or ""):
        if isinstance(found, dict) and sent_matches(row.changes, found):
            row.answer, row.done = found, True
            return


def refusal(row: Row, messages: list[str]) -> tuple[str, str]:
    """Xero's refusal of one contact, in words a person can act on."""
    text = "; ".join(messages) or "no reason given"
    lowered = text.lower()
    if "already assigned to another contact" in lowered:
        return (
            "name_taken",
            f"Xero already has another contact named “{xero_name(row.contact)}”: Xero needs "
            "contact names to be unique. Give this contact another name; it is then sent again.",
        )
    if "archived contact" in lowered:
        return (
            "archived_in_xero",
            "Xero does not let an archived contact change (nor a contact take an archived "
            "contact's name). Restore the contact in Xero, or choose another name, then press "
            "Retry.",
        )
    return ("validation", "Xero refused the change: " + text)


def _finish(rows: list[Row], result: PushResult) -> None:
    now = timezone.now()
    for row in rows:
        if row.failed is not None:
            _fail(row, *row.failed)
            result.failed += 1
            continue
        if not row.done:
            continue
        result.synced += 1
        with transaction.atomic():
            current = ContactSync.objects.select_for_update().get(pk=row.sync.pk)
            current.dirty = {
                name: mark
                for name, mark in current.dirty.items()
                if int(mark.get("v", 0)) > row.version
            }
            current.pushed_version = max(current.pushed_version, row.version)
            current.outcome_unknown = False
            current.synced_at = now
            current.error = current.error_cause = ""
            if current.version == row.version:
                current.state = ContactSyncState.SYNCED
            current.save()
            if row.answer is not None:
                _link_keep(row, row.answer, now)


def _link_keep(row: Row, answer: dict[str, Any], now: Any) -> None:
    """Xero's contact after our write is its last word: the webhook that follows finds it
    unchanged (nothing comes back, nothing echoes)."""
    xero_id = normalise.text(answer.get("ContactID"))[:64]
    updated = normalise.moment(answer.get("UpdatedDateUTC"))
    payload = normalise.json_safe(answer)
    if row.link is not None:
        XeroContact.objects.filter(pk=row.link.pk).update(
            payload=payload, xero_updated_at=updated, synced_at=now
        )
    elif xero_id:
        XeroContact.objects.get_or_create(
            contact=row.contact,
            defaults={
                "connection_id": row.sync.connection_id,
                "xero_contact_id": xero_id,
                "xero_updated_at": updated,
                "payload": payload,
                "synced_at": now,
            },
        )


def _fail(row: Row, cause: str, message: str) -> None:
    """A failure that needs a person: recorded on the row (shown on the contact's page, with
    Retry); a change made meanwhile leaves the row pending, as the change may be the fix."""
    ContactSync.objects.filter(pk=row.sync.pk, version=row.version).update(
        state=ContactSyncState.FAILED,
        error_cause=cause,
        error=message,
        failed_at=timezone.now(),
        outcome_unknown=False,
    )
    log.info(
        "contact push failed",
        extra={"contact_id": row.sync.contact_id, "connection_id": row.sync.connection_id},
    )


def _after_transient(rows: list[Row], error: Transient) -> None:
    now = timezone.now()
    for row in rows:
        if row.sync.attempts >= MAX_TRANSIENT_ATTEMPTS:
            _fail(
                row,
                "xero_unavailable",
                f"Xero did not take the change after {row.sync.attempts} attempts "
                f"({error.message}). Press Retry when Xero is back.",
            )
            continue
        seconds = min(2 ** min(row.sync.attempts, 8), 300)
        ContactSync.objects.filter(pk=row.sync.pk, state=ContactSyncState.PENDING).update(
            next_attempt_at=now + timedelta(seconds=seconds)
        )


def _seconds_to_next_due(connection_id: int) -> float:
    soonest = ContactSync.objects.filter(
        connection_id=connection_id, state=ContactSyncState.PENDING
    ).aggregate(soonest=Min("next_attempt_at"))["soonest"]
    if soonest is None:
        return 0.0
    waited: float = (soonest - timezone.now()).total_seconds()
    return max(waited, 1.0)
