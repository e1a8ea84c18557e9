"""An invoice's twin in Xero (and its outbox row), its payments' twins, and the index of the
invoice numbers the organisation already uses in Xero."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from platform_crm.models import Role

from ..runs import ImportStatus, ResumableRun


class InvoiceSyncState(models.TextChoices):
    PENDING = "pending", "Sending to Xero"
    SYNCED = "synced", "In Xero"
    FAILED = "failed", "Not sent: needs a fix"
    WAITING = "waiting", "Waiting for Xero to be reconnected"
    # Not sent until a person decides something the sync must not guess (say, whether the
    # invoice's contact is the Xero contact that only shares its name); error says what.
    HELD = "held", "Waiting for a person to decide"


# What staff ask an admin to do when the fix of a failure is on an admin-only page, by cause
# (InvoiceSync.error_cause); the admin then presses Retry or Retry all.
ADMIN_ASKS = {
    "unmapped_tax": "to map the invoice's tax rate to a Xero tax rate "
    "(Settings → Integrations → Xero → Tax rates)",
    "payment_account": "to choose the Xero account payments go to "
    "(Settings → Integrations → Xero → Change account)",
    "sales_account": "to choose a sales account Xero accepts "
    "(Settings → Integrations → Xero → Sales go to → Change)",
    "contact_unconfirmed": "to say whether the invoice's contact is the Xero contact of the same "
    "name (Contacts → Possible duplicates)",
}


ADMIN_ASK_OTHERWISE = "to look at it under Settings → Integrations → Xero → Sync failures"

# Why a pending invoice waits (InvoiceSync.waiting_for), in the invoice page's words.
LIMIT_WAIT_WORDS = {
    "day": "Xero's daily allowance of calls for this organisation is used up",
    "minute": "Waiting for Xero's limit of calls a minute for this organisation",
    "app": "Waiting for Xero's limit of calls a minute across all organisations",
}
LIMIT_WAIT_OTHERWISE = "Waiting for Xero's limits"


class InvoiceSync(models.Model):
    """An invoice's twin in Xero and, while `state` is pending, the durable record of work to
    do for it (the outbox row): written in the same transaction as the change, so nothing is
    lost if the broker or a worker dies before the push; a beat sweep re-sends lost work."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="invoice_syncs"
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
    # Which of Xero's limits next_attempt_at waits for ("day", "minute", "app", ...), so the
    # invoice page can say why it waits and until when; "" for any other wait.
    waiting_for = models.CharField(max_length=20, blank=True)
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
    # Xero's UpdatedDateUTC as last applied (from Xero): an invoice seen again unchanged is
    # not compared field by field for edits made there.
    xero_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Xero's CurrencyRate (units of the invoice's currency one unit of the base buys), once
    # Xero has one: from the push's answer and the poll.
    xero_currency_rate = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    # The invoice's online link in Xero, for the customer (read when first asked for).
    online_invoice_url = models.CharField(max_length=500, blank=True)
    # "Email from Xero": each press is one more request (its idempotency key counts them), so
    # a worker's retry of the same press never sends a second email.
    emails_requested = models.PositiveIntegerField(default=0)
    email_state = models.CharField(max_length=10, blank=True)  # "", sending, sent, failed
    email_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="invoice_sync_due"),
            models.Index(fields=["connection", "xero_invoice_id"], name="invoice_sync_xero_id"),
        ]

    def __str__(self) -> str:
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
    def limit_wait(self) -> str:
        """Why a pending invoice waits for Xero's limits (with next_attempt_at, when it goes);
        "" when it does not."""
        if self.state != InvoiceSyncState.PENDING or not self.waiting_for:
            return ""
        if self.next_attempt_at is None or self.next_attempt_at <= timezone.now():
            return ""
        return LIMIT_WAIT_WORDS.get(self.waiting_for, LIMIT_WAIT_OTHERWISE)

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

    def __str__(self) -> str:
        return f"Payment {self.payment_id} -> Xero {self.xero_payment_id or '(not yet)'}"


class XeroInvoiceNumber(models.Model):
    """Every sales invoice number the organisation uses, ours or typed in Xero (kept by the
    invoice poll and by our own writes): the pre-flight refuses a number Xero already holds
    for another invoice without spending an API call."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="invoice_numbers"
    )
    number = models.CharField(max_length=255)  # lower-cased: Xero compares numbers so
    xero_invoice_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "number"], name="xero_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.number} -> {self.xero_invoice_id}"


class CreditNoteSync(models.Model):
    """A CRM credit note's twin in Xero, sent with its invoice's outbox row: created, then set
    against the invoice (its allocation), then its refund paid. Each step is remembered, so a
    retry does only what is left."""

    invoice_sync = models.ForeignKey(
        InvoiceSync, on_delete=models.CASCADE, related_name="credit_notes"
    )
    credit_note = models.OneToOneField(
        "invoices.CreditNote", on_delete=models.CASCADE, related_name="xero_sync"
    )
    xero_credit_note_id = models.CharField(max_length=64, blank=True)
    # A create whose answer was lost: look the credit note up by number before sending again.
    outcome_unknown = models.BooleanField(default=False)
    allocated = models.BooleanField(default=False)
    # Credit and reissue: the part carried to the copy, allocated by the copy's own row.
    carried_allocated = models.BooleanField(default=False)
    xero_refund_id = models.CharField(max_length=64, blank=True)
    # The key of an allocation or refund whose answer was lost: Xero is asked what it holds
    # before the same request goes again.
    allocation_key = models.CharField(max_length=128, blank=True)
    refund_key = models.CharField(max_length=128, blank=True)
    carried_key = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return (
            f"Credit note {self.credit_note_id} -> Xero {self.xero_credit_note_id or '(not yet)'}"
        )


class PastInvoiceImport(ResumableRun):
    """One run of bringing in Xero's past sales invoices, then credit notes, from a chosen date
    (or its preview: how many, their total, which contacts they need). Paged through Xero at
    its largest page size, each page applied and checkpointed together; a run under way whose
    task was lost is found by beat's sweep and resumes at its checkpoint
    (invoices.past.past_imports_sweep)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="past_invoice_imports"
    )
    since = models.DateField()  # invoices dated on or after
    seen = models.PositiveIntegerField(default=0)
    brought_in = models.PositiveIntegerField(default=0)
    already_in = models.PositiveIntegerField(default=0)  # in the CRM already (ours, or earlier)
    skipped = models.PositiveIntegerField(default=0)  # deleted drafts
    held = models.PositiveIntegerField(default=0)  # quarantined, listed on Sync failures
    # The preview's figures: {currency: "total"}, and the contacts not yet in the CRM.
    totals = models.JSONField(default=dict, blank=True)
    # Every one, across pages ({"id", "name"}: about 100 bytes each); the page shows a few.
    contacts_needed = models.JSONField(default=list, blank=True)
    contacts_needed_count = models.PositiveIntegerField(default=0)
    # Then the sales credit notes dated on or after `since` (next_page restarts at 1 for them).
    on_credit_notes = models.BooleanField(default=False)
    credit_notes_seen = models.PositiveIntegerField(default=0)
    credit_notes_brought_in = models.PositiveIntegerField(default=0)
    credit_notes_already_in = models.PositiveIntegerField(default=0)
    credit_notes_skipped = models.PositiveIntegerField(default=0)  # drafts, voided, bills' credits
    credit_notes_held = models.PositiveIntegerField(default=0)
    credit_notes_totals = models.JSONField(default=dict, blank=True)  # {currency: "total"}

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["previewing", "queued", "running"]),
                name="past_invoice_import_under_way",
            )
        ]

    def __str__(self) -> str:
        return f"Past invoice import {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        """The invoices fill the bar to 90, the credit notes (fewer, as a rule) the rest."""
        if self.status in (ImportStatus.DONE, ImportStatus.PREVIEWED):
            return 100
        if self.on_credit_notes:
            done = self.credit_notes_seen * 10 // self.item_count if self.item_count else 0
            return min(99, 90 + done)
        if not self.item_count:
            return 0
        return min(90, self.seen * 90 // self.item_count)
