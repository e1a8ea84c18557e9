"""Processing a stored delivery: each event recorded once, then dispatched through one small
table, (category, type) -> handler. An event without a handler, or for an organisation not
connected, is recorded as such; a handler's failure is kept on the event.

One copy processes a delivery at a time (an advisory lock), and an event recorded by a copy
that died before handling it is handled by the next.
"""

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from platform_crm.advisory_locks import advisory_lock

from ..connection.models import ConnectionStatus, XeroConnection
from ..contacts.pull import contact_sync_one
from ..invoices.credit_notes_from_xero import credit_note_update_from_xero
from ..invoices.from_xero import invoice_update_from_xero
from .models import WebhookDelivery, WebhookEvent
from .own_writes import own_write_came_back

log = logging.getLogger(__name__)

# (eventCategory, eventType) -> handler(connection, resource_id); an event without a handler
# is recorded as "no_handler".
HANDLERS: dict[tuple[str, str], Callable[[XeroConnection, str], object]] = {
    ("CONTACT", "CREATE"): contact_sync_one,
    ("CONTACT", "UPDATE"): contact_sync_one,
    ("INVOICE", "CREATE"): invoice_update_from_xero,
    ("INVOICE", "UPDATE"): invoice_update_from_xero,
    ("CREDITNOTE", "CREATE"): credit_note_update_from_xero,
    ("CREDITNOTE", "UPDATE"): credit_note_update_from_xero,
}


def delivery_process(delivery_id: int) -> None:
    with advisory_lock(f"xero-webhook-delivery:{delivery_id}") as mine:
        if mine:  # else another copy is processing it
            _delivery_process(delivery_id)


def _delivery_process(delivery_id: int) -> None:
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.processed_at:
        return
    try:
        events = json.loads(bytes(delivery.body)).get("events") or []
        if not isinstance(events, list):
            raise ValueError("events is not a list")
    except (ValueError, AttributeError, RecursionError) as error:
        # RecursionError: JSON nested deeper than Python's parser goes (signed, yet no events).
        delivery.error = f"unreadable body: {error}"
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["error", "processed_at"])
        return
    malformed = sum(1 for raw in events if not isinstance(raw, dict))
    if malformed:  # signed by Xero yet not events: kept on the delivery, never guessed at
        delivery.error = f"{malformed} of {len(events)} events are not objects"
    for raw in (raw for raw in events if isinstance(raw, dict)):
        event = event_record(delivery, raw)
        if event is not None:
            _event_dispatch(event)
    delivery.event_count = len(events)
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=["event_count", "error", "processed_at"])


def _text(value: object, field: str) -> str:
    """An event field as text its column can hold (no NUL, not too long), whatever was sent;
    Xero's own values always fit."""
    column = WebhookEvent._meta.get_field(field)
    limit = column.max_length if isinstance(column, models.CharField) else None
    return ("" if value is None else str(value)).replace("\x00", "")[:limit]


def event_record(delivery: WebhookDelivery, raw: dict[str, Any]) -> WebhookEvent | None:
    """The event's row to handle, or None when the same event was already received (Xero
    re-sends) and is another delivery's, or already handled."""
    key = {
        "tenant_id": _text(raw.get("tenantId"), "tenant_id"),
        "category": _text(raw.get("eventCategory"), "category"),
        "event_type": _text(raw.get("eventType"), "event_type"),
        "resource_id": _text(raw.get("resourceId"), "resource_id"),
        "event_date": _text(raw.get("eventDateUtc"), "event_date"),
    }
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(delivery=delivery, **key)
    except IntegrityError:
        # Recorded by an earlier copy of this delivery's task that died before handling it.
        return WebhookEvent.objects.filter(delivery=delivery, processed_at=None, **key).first()


def _event_dispatch(event: WebhookEvent) -> None:
    connection = XeroConnection.objects.filter(
        tenant_id=event.tenant_id, status=ConnectionStatus.CONNECTED
    ).first()
    handler = HANDLERS.get((event.category, event.event_type))
    if connection is None:
        event.outcome = "not_connected"
    elif handler is None:
        event.outcome = "no_handler"
    elif own_write_came_back(
        connection, event.category, event.event_type, event.resource_id, event.event_date
    ):
        event.outcome = "own_write"  # the CRM's own write: its answer already told us
    else:
        try:
            handler(connection, event.resource_id)
            event.outcome = "handled"
        except Exception as error:  # recorded on the event, visible, retryable by the poll
            log.exception("webhook handler failed", extra={"event_id": event.pk})
            event.outcome, event.error = "failed", str(error)[:2000]
    event.connection = connection
    event.processed_at = timezone.now()
    event.save(update_fields=["connection", "outcome", "error", "processed_at"])
