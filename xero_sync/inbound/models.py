"""Records from Xero that could not be stored, held with their reason (in the xero_sync app)."""

from django.db import models
from django.db.models import Q


class QuarantineKind(models.TextChoices):
    CONTACT = "contact", "Contact"
    INVOICE = "invoice", "Invoice"
    PAYMENT = "payment", "Payment"
    CREDIT_NOTE = "credit_note", "Credit note"
    TAX_RATE = "tax_rate", "Tax rate"
    ITEM = "item", "Item"


class QuarantinedRecord(models.Model):
    """A record from Xero that could not be stored as it came, kept raw with the reason: the
    records around it went on, and this one is shown on Sync failures until a later sync or a
    Retry stores it (as dj-stripe keeps a webhook's raw payload)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="quarantined"
    )
    kind = models.CharField(max_length=20, choices=QuarantineKind.choices)
    xero_id = models.CharField(max_length=64, blank=True)  # "" when Xero sent none
    # A payment's invoice: what a Retry fetches again.
    parent_xero_id = models.CharField(max_length=64, blank=True)
    label = models.CharField(max_length=255, blank=True)  # what a person knows it by
    raw = models.TextField()  # Xero's JSON, escaped: NUL and all survive as text
    reason = models.TextField()
    source = models.CharField(max_length=30)  # import, contacts poll, webhook, invoices poll, ...
    times_seen = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            # Records Xero sent without an id are told apart by their JSON instead.
            models.UniqueConstraint(
                fields=["connection", "kind", "xero_id"],
                condition=Q(resolved_at=None) & ~Q(xero_id=""),
                name="quarantine_open_once",
            )
        ]
        indexes = [
            models.Index(fields=["connection", "resolved_at"], name="quarantine_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label or self.xero_id} ({self.reason[:40]})"
