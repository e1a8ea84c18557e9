"""What Xero's webhooks leave with us: each delivery's raw body, and each of its events once."""

from django.db import models
from django.db.models import Q

from ..connection.models import XeroConnection


class WebhookDelivery(models.Model):
    """A POST from Xero, stored (raw) before it is trusted or processed. One still unprocessed
    a while after it was received (or last queued) lost its task, and beat's sweep queues it
    again (xero_sync.webhooks.store.deliveries_sweep)."""

    body = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)
    # When the sweep last queued its processing again (the endpoint's own queueing is at
    # received_at).
    queued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="webhook_delivery_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"Webhook delivery {self.pk} ({self.event_count} events)"


class WebhookEvent(models.Model):
    """One event of a delivery; the unique key makes a re-sent event a no-op."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="events")
    tenant_id = models.CharField(max_length=64)
    category = models.CharField(max_length=30)  # CONTACT, INVOICE, ...
    event_type = models.CharField(max_length=30)  # CREATE, UPDATE
    resource_id = models.CharField(max_length=64)
    event_date = models.CharField(max_length=40)  # as Xero sent it; part of the dedupe key
    connection = models.ForeignKey(
        XeroConnection, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    outcome = models.CharField(
        max_length=30, blank=True
    )  # handled, own_write, no_handler, not_connected, failed
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "category", "event_type", "resource_id", "event_date"],
                name="webhook_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.event_type} {self.resource_id}"


class OwnWrite(models.Model):
    """A write of ours to a contact, invoice or credit note, by Xero's UpdatedDateUTC in the
    answer, until its webhook event comes back: that event is then recognised as ours without
    fetching the record (xero_sync.webhooks.own_writes). Each row excuses one event."""

    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=30)  # CONTACT, INVOICE, CREDITNOTE (as events say)
    event_type = models.CharField(max_length=30)  # CREATE (we created it) or UPDATE
    xero_id = models.CharField(max_length=64)  # lower case, as compared with resourceId
    updated_at = models.DateTimeField()  # Xero's UpdatedDateUTC after our write

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "category", "xero_id", "updated_at", "event_type"],
                name="own_write_once",
            )
        ]
        indexes = [models.Index(fields=["updated_at"], name="own_write_age")]

    def __str__(self) -> str:
        return f"{self.category} {self.event_type} {self.xero_id} at {self.updated_at}"
