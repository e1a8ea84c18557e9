"""Our own writes coming back: Xero sends a webhook event for every change to a contact, invoice
or credit note, the CRM's own included. Fetching back what we just wrote costs a call out of
Xero's 60 a minute and tells us nothing: the answer to our write already held it.

Each write is remembered with Xero's UpdatedDateUTC from its answer (`own_writes_remember`),
and each event is checked against it (`own_write_came_back`) before any call:
- an event is ours when a write of ours to that record is still waiting to come back, of the
  same type (CREATE for a record we created, UPDATE for one we changed), and the event
  happened at that write (from SKEW before it to ECHO_WINDOW after it, Xero's clock on both
  sides); that write is then used up, so each write of ours excuses one event, no more;
- anything else is fetched as before: an event older than our write, a second event, an
  UPDATE after our CREATE, an event for a record we never wrote.
A change made in Xero after our write is an event of its own, so it is still read. After a
create of ours it is an UPDATE, which our CREATE never excuses. After an update of ours, if it
is taken for our write's event (it came first, within the window), our write's own event finds
nothing left to use up and is fetched instead, after the change, so the change is read either
way. Only if that event of ours never came at all (Xero gave up delivering it) would a change
made within the window of our update wait for the poll, the safety net under webhooks.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ..connection.models import XeroConnection
from ..inbound import normalise
from .models import OwnWrite

# How far an event's time may be from the UpdatedDateUTC of the write that caused it. Both come
# from Xero; SKEW lets Xero stamp the event a little before the record, ECHO_WINDOW a little
# after (the sandbox stamps it as it queues the event, once the whole batch is saved).
SKEW = timedelta(seconds=1)
ECHO_WINDOW = timedelta(seconds=30)
# A write whose event never came is forgotten after this (beat's webhook sweep).
FORGET_AFTER = timedelta(days=1)

# The categories whose writes are remembered (as webhook events name them).
CATEGORIES = ("CONTACT", "INVOICE", "CREDITNOTE")


def own_writes_remember(
    connection_id: int, category: str, written: Iterable[tuple[object, object, bool]]
) -> None:
    """`written`: (the record's Xero id, UpdatedDateUTC as Xero answered, whether our call
    created it) for each record one call of ours created or changed. One insert for the call;
    the same answer remembered twice (a retried request) is one write."""
    rows = {}
    for xero_id, updated, created in written:
        at = normalise.moment(updated)
        key = normalise.text(xero_id)[:64].lower()
        kind = "CREATE" if created else "UPDATE"
        if at is not None and key:
            rows[key, at, kind] = OwnWrite(
                connection_id=connection_id,
                category=category,
                event_type=kind,
                xero_id=key,
                updated_at=at,
            )
    OwnWrite.objects.bulk_create(
        [rows[k] for k in sorted(rows)], ignore_conflicts=True, batch_size=1000
    )


def own_write_came_back(
    connection: XeroConnection, category: str, event_type: str, xero_id: str, event_date: str
) -> bool:
    """True when this event is the return of a write of ours (that write is then used up);
    False when the record must be fetched."""
    happened = normalise.moment(event_date)
    if happened is None or category not in CATEGORIES:
        return False
    window = Q(updated_at__gte=happened - ECHO_WINDOW, updated_at__lte=happened + SKEW)
    candidates = OwnWrite.objects.filter(
        window, connection=connection, category=category, event_type=event_type
    )
    # The oldest write first; one another event is using up is left to it (a race ends in a
    # fetch, never in two events excused by one write).
    mine = candidates.filter(xero_id=xero_id.lower()[:64]).order_by("updated_at")
    for pk in mine.values_list("pk", flat=True):
        if OwnWrite.objects.filter(pk=pk).delete()[0]:
            return True
    return False


def own_writes_forget() -> int:
    """Beat: writes whose event never came (no webhook subscription, or Xero gave up)."""
    deleted, _ = OwnWrite.objects.filter(updated_at__lt=timezone.now() - FORGET_AFTER).delete()
    return deleted
