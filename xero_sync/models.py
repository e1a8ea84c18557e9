"""Every model of the xero_sync app, as Django loads them: each part keeps its own in its
models.py (same app, same tables) and is re-exported here, one block per part."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from platform_crm.models import Role

# connection
from .connection.models import HOLDING_STATUSES as HOLDING_STATUSES
from .connection.models import UNFINISHED_STATUSES as UNFINISHED_STATUSES
from .connection.models import ConnectionStatus as ConnectionStatus
from .connection.models import XeroCall as XeroCall
from .connection.models import XeroConnection as XeroConnection

# contacts

# invoices

# taxes

# inbound

# webhooks

# ops


class WebhookDelivery(models.Model):
    """A POST from Xero, stored (raw) before it is trusted or processed. One still unprocessed
    a while after it was received (or last queued) lost its task, and beat's sweep queues it
    again (xero_sync.webhooks.deliveries_sweep)."""

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

    def __str__(self):
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
    )  # handled, no_handler, not_connected, failed
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "category", "event_type", "resource_id", "event_date"],
                name="webhook_event_once",
            )
        ]

    def __str__(self):
        return f"{self.category} {self.event_type} {self.resource_id}"


class XeroTaxRate(models.Model):
    """The organisation's tax rates as last read from Xero (they have no webhooks; Refresh)."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="tax_rates"
    )
    tax_type = models.CharField(max_length=50)  # the code invoice lines carry, e.g. OUTPUT2
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20)
    effective_rate = models.DecimalField(max_digits=8, decimal_places=4)
    components = models.JSONField(default=list)  # [{"name", "rate", "compound"}]
    can_apply_to_revenue = models.BooleanField(default=False)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["effective_rate", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "tax_type"], name="xero_tax_rate_once")
        ]

    def __str__(self):
        return f"{self.name} ({self.tax_type})"

    @property
    def usable_on_sales(self) -> bool:
        return self.status == "ACTIVE" and self.can_apply_to_revenue


class TaxMapping(models.Model):
    """A CRM tax rate and the Xero tax rate of equal effective rate that invoices use for it."""

    tax_rate = models.OneToOneField(
        "taxes.TaxRate", on_delete=models.CASCADE, related_name="xero_mapping"
    )
    xero_tax_type = models.CharField(max_length=50)
    xero_name = models.CharField(max_length=100)
    # The effective rate both had when mapped; a change on either side breaks the mapping.
    effective_rate = models.DecimalField(max_digits=8, decimal_places=4)
    broken_reason = models.TextField(blank=True)
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mapped_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.tax_rate} -> {self.xero_name}"

    @property
    def is_broken(self) -> bool:
        return bool(self.broken_reason)


class XeroContact(models.Model):
    """The link between a CRM contact and its twin in Xero, with Xero's last word on it."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="contact_links"
    )
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="xero_link"
    )
    xero_contact_id = models.CharField(max_length=64)
    xero_updated_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    synced_at = models.DateTimeField()
    # Set when the contact left the connection's chosen Xero groups: it stays in the CRM (never
    # deleted) and is shown as no longer in the import filter.
    outside_filter_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "xero_contact_id"], name="xero_contact_once"
            )
        ]

    def __str__(self):
        return f"{self.contact_id} <-> {self.xero_contact_id}"


class ImportStatus(models.TextChoices):
    PREVIEWING = "previewing", "Counting"
    PREVIEWED = "previewed", "Ready to import"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ContactImport(models.Model):
    """One run of the initial import (or its preview): filter, checkpoint and counts. A run
    under way whose task was lost (worker killed, broker emptied) is found by beat's sweep and
    resumes at its checkpoint (xero_sync.contacts.imports.imports_sweep)."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="contact_imports"
    )
    status = models.CharField(max_length=20, choices=ImportStatus.choices)
    is_preview = models.BooleanField(default=False)
    # The filter as chosen for this run (the groups' names as Xero gave them then, to say it).
    contact_group_ids = models.JSONField(default=list, blank=True)
    contact_group_names = models.JSONField(default=list, blank=True)
    import_customers = models.BooleanField(default=True)
    import_suppliers = models.BooleanField(default=True)
    import_others = models.BooleanField(default=True)
    # Started by Platform CRM with all contacts, because set-up stopped before the contacts
    # step (contacts.imports.imports_start_where_setup_stopped).
    started_automatically = models.BooleanField(default=False)
    # Checkpoint: the next Xero page to read; pages before it are fully applied.
    next_page = models.PositiveIntegerField(default=1)
    page_count = models.PositiveIntegerField(null=True, blank=True)  # as Xero reported it
    item_count = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated_linked = models.PositiveIntegerField(default=0)
    updated_by_email = models.PositiveIntegerField(default=0)
    updated_by_phone = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Records Xero sent that could not be stored, and contacts that may be a CRM contact twice
    # (both listed on Sync failures, for a person to see to).
    quarantined = models.PositiveIntegerField(default=0)
    possible_duplicates = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When it last moved: created, or a page applied.
    progressed_at = models.DateTimeField(default=timezone.now)
    # When its task is next due to start: queued now, or retried after a wait for Xero.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["previewing", "queued", "running"]),
                name="contact_import_under_way",
            )
        ]

    def __str__(self):
        return f"Contact import {self.pk} ({self.status})"

    def filter_in_words(self) -> str:
        """ "All contacts", or which groups and kinds, as the admin chose them."""
        if self.contact_group_ids:
            names = self.contact_group_names or [f"{len(self.contact_group_ids)} chosen"]
            said = f"Contacts in the group{'s' if len(names) > 1 else ''} {_or(names)}"
        else:
            said = "All contacts"
        kinds = [
            kind
            for kind, chosen in (
                ("customers", self.import_customers),
                ("suppliers", self.import_suppliers),
                ("contacts that are neither yet", self.import_others),
            )
            if chosen
        ]
        if len(kinds) == 3:
            return said
        if not kinds:
            return f"{said}: none of the kinds (nothing comes in)"
        return f"{said}: {_or(kinds, 'and')} only"

    @property
    def processed(self) -> int:
        return (
            self.created
            + self.updated_linked
            + self.updated_by_email
            + self.updated_by_phone
            + self.unchanged
            + self.skipped
            + self.quarantined
            + self.possible_duplicates
        )

    @property
    def percent(self) -> int:
        # A finished run is at 100% whatever Xero's item count said; a run under way stops
        # at 99% until it finishes.
        if self.status in (ImportStatus.DONE, ImportStatus.PREVIEWED):
            return 100
        if not self.item_count:
            return 0
        return min(99, self.processed * 100 // self.item_count)


def _or(items: list[str], word: str = "or") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


class InvoiceSyncState(models.TextChoices):
    PENDING = "pending", "Sending to Xero"
    SYNCED = "synced", "In Xero"
    FAILED = "failed", "Not sent: needs a fix"
    WAITING = "waiting", "Waiting for Xero to be reconnected"


# What staff ask an admin to do when the fix of a failure is on an admin-only page, by cause
# (InvoiceSync.error_cause); the admin then presses Retry or Retry all.
ADMIN_ASKS = {
    "unmapped_tax": "to map the invoice's tax rate to a Xero tax rate "
    "(Settings → Integrations → Xero → Tax rates)",
    "payment_account": "to choose the Xero account payments go to "
    "(Settings → Integrations → Xero → Change account)",
    "sales_account": "to choose a sales account Xero accepts "
    "(Settings → Integrations → Xero → Sales go to → Change)",
}
ADMIN_ASK_OTHERWISE = "to look at it under Settings → Integrations → Xero → Sync failures"


class InvoiceSync(models.Model):
    """An invoice's twin in Xero and, while `state` is pending, the durable record of work to
    do for it (the outbox row): written in the same transaction as the change, so nothing is
    lost if the broker or a worker dies before the push; a beat sweep re-sends lost work."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="invoice_syncs"
    )
    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.CASCADE, related_name="xero_sync"
    )
    state = models.CharField(max_length=20, choices=InvoiceSyncState.choices)
    xero_invoice_id = models.CharField(max_length=64, blank=True)
    # Our line id -> Xero's LineItemID, so edits update lines in place.
    xero_line_ids = models.JSONField(default=dict, blank=True)
    # Each CRM change bumps `version`.
    version = models.PositiveIntegerField(default=1)
    # Retries a person asked for: each is a new request to Xero, so its idempotency key is new
    # even when its body is not (Xero would replay the refusal stored under the old key).
    retries = models.PositiveIntegerField(default=0)
    pushed_version = models.PositiveIntegerField(default=0)
    # A write whose answer was lost: look the invoice up by number before creating it again.
    outcome_unknown = models.BooleanField(default=False)
    # What was last written to Xero: a payment-only change does not rewrite the invoice
    # (Xero refuses edits to an invoice with payments).
    pushed_fingerprint = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_cause = models.CharField(max_length=40, blank=True)  # groups failures by cause
    error = models.TextField(blank=True)  # plain words for the staff and the admins
    fix_url = models.CharField(max_length=300, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Null while a failure's email is still owed (sent alone, or in the next digest).
    failure_emailed_at = models.DateTimeField(null=True, blank=True)
    # The failure the admins were told about (failure_mail.failure_key), until the invoice
    # reaches Xero: the same failure again (on issue, on Retry) is not emailed again.
    failure_told = models.CharField(max_length=64, blank=True)
    # The invoice's status in Xero as last seen (our writes, webhooks and the poll).
    xero_status = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="invoice_sync_due"),
            models.Index(fields=["connection", "xero_invoice_id"], name="invoice_sync_xero_id"),
        ]

    def __str__(self):
        return f"Invoice {self.invoice_id} -> Xero {self.xero_invoice_id or '(not yet)'}"

    @property
    def fix_needs_admin(self) -> bool:
        """Whether the fix's page is for the account's admins only (staff get a 403 there)."""
        try:
            view = resolve(self.fix_url).func
        except Resolver404:
            return False
        return getattr(view, "account_role", None) == Role.ADMIN

    @property
    def admin_ask(self) -> str:
        return ADMIN_ASKS.get(self.error_cause, ADMIN_ASK_OTHERWISE)

    @property
    def xero_url(self) -> str:
        if not self.xero_invoice_id:
            return ""
        return settings.XERO_INVOICE_URL.format(
            tenant_id=self.connection.tenant_id, invoice_id=self.xero_invoice_id
        )


class PaymentSync(models.Model):
    """A CRM payment's twin in Xero. Keyed by the payment's id, not a foreign key, so a
    payment deleted in the CRM is still known here until its Xero twin is deleted too."""

    invoice_sync = models.ForeignKey(InvoiceSync, on_delete=models.CASCADE, related_name="payments")
    payment_id = models.PositiveBigIntegerField(unique=True)
    xero_payment_id = models.CharField(max_length=64, blank=True)
    deleted_in_crm = models.BooleanField(default=False)
    deleted_in_xero = models.BooleanField(default=False)
    # The key of a write whose answer was lost: the retry must be the same request to Xero,
    # whatever changed meanwhile (a payment has no number to look it up by).
    pending_key = models.CharField(max_length=128, blank=True)

    def __str__(self):
        return f"Payment {self.payment_id} -> Xero {self.xero_payment_id or '(not yet)'}"


class XeroInvoiceNumber(models.Model):
    """Every sales invoice number the organisation uses, ours or typed in Xero (kept by the
    invoice poll and by our own writes): the pre-flight refuses a number Xero already holds
    for another invoice without spending an API call."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="invoice_numbers"
    )
    number = models.CharField(max_length=255)  # lower-cased: Xero compares numbers so
    xero_invoice_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="xero_number_once")
        ]

    def __str__(self):
        return f"{self.number} -> {self.xero_invoice_id}"


class QuarantineKind(models.TextChoices):
    CONTACT = "contact", "Contact"
    INVOICE = "invoice", "Invoice"
    PAYMENT = "payment", "Payment"
    TAX_RATE = "tax_rate", "Tax rate"


class QuarantinedRecord(models.Model):
    """A record from Xero that could not be stored as it came, kept raw with the reason: the
    records around it went on, and this one is shown on Sync failures until a later sync or a
    Retry stores it (as dj-stripe keeps a webhook's raw payload)."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="quarantined"
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

    def __str__(self):
        return f"{self.get_kind_display()} {self.label or self.xero_id} ({self.reason[:40]})"


class DuplicateResolution(models.TextChoices):
    CREATED = "created", "Created as a separate contact"
    KEPT_ONE = "kept_one", "Kept as one contact"


class PossibleDuplicate(models.Model):
    """A Xero contact with the email or phone of a CRM contact that already has its Xero twin
    (say, CRM "Chloe Wu" matched by email to the company "Wu Design Studio", then the person
    "Chloe Wu" in Xero with her phone): not created silently, but kept for an admin to decide."""

    connection = models.ForeignKey(
        XeroConnection, on_delete=models.CASCADE, related_name="possible_duplicates"
    )
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    xero_contact_id = models.CharField(max_length=64)
    xero_name = models.CharField(max_length=255, blank=True)
    matched_by = models.CharField(max_length=10)  # email, phone
    payload = models.JSONField(default=dict)
    found_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, choices=DuplicateResolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "xero_contact_id"],
                condition=Q(resolved_at=None),
                name="possible_duplicate_open_once",
            )
        ]

    def __str__(self):
        return f"{self.xero_name or self.xero_contact_id} ~ {self.contact_id} ({self.matched_by})"
