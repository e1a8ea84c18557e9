"""Keeping what Xero sent until it is processed: a delivery is a row (its raw body) before its
task is queued, and beat's sweep queues again every delivery whose task was lost (the broker
was down when Xero called, or a worker died with it)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from platform_crm.queueing import enqueue_on_commit

from .models import WebhookDelivery

log = logging.getLogger(__name__)

PROCESS_TASK = "xero_sync.tasks.process_webhook_delivery_task"

# Deliveries queued again per sweep at most (the rest wait for the next sweep).
SWEEP_BATCH = 500


def delivery_store(body: bytes) -> WebhookDelivery:
    return WebhookDelivery.objects.create(body=body)


def deliveries_sweep() -> int:
    """Beat: queue again every delivery still unprocessed settings.XERO_STALLED_AFTER after it
    arrived or was last queued. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.XERO_STALLED_AFTER)
    lost = list(
        WebhookDelivery.objects.filter(processed_at=None, received_at__lt=cutoff)
        .filter(Q(queued_at=None) | Q(queued_at__lt=cutoff))
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    WebhookDelivery.objects.filter(pk__in=lost).update(queued_at=timezone.now())
    for delivery_id in lost:
        enqueue_on_commit(PROCESS_TASK, delivery_id)
    if lost:
        log.warning("webhook deliveries unprocessed; queued again", extra={"count": len(lost)})
    return len(lost)
