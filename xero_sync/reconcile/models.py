"""Reconciliation runs: what was compared with Xero, when, and every difference found, with
how it was classified and repaired (or that it was left for a person)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Comparing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RunPhase(models.TextChoices):
    """Where a run stands, so a run interrupted by Xero's limits resumes where it stopped."""

    INVOICES = "invoices", "Invoices"
    CREDIT_NOTES = "credit_notes", "Credit notes"
    CONTACTS = "contacts", "Contacts"
    NAMED = "named", "Changed in the CRM or different last time"
    FINISHED = "finished", "Finished"


class ReconciliationRun(models.Model):
    """One comparison of a connection's linked invoices, credit notes and contacts with Xero. A
    full run reads every one; an incremental one what Xero changed since the last finished run
    (If-Modified-Since), and, by id, what the CRM changed since and what differed last time."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="reconciliations"
    )
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    full = models.BooleanField(default=False)
    # Incremental runs read what Xero changed since this moment (null for a full run).
    since = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Checkpoint: the phase under way and the next Xero page to read in it.
    phase = models.CharField(max_length=20, choices=RunPhase.choices, default=RunPhase.INVOICES)
    next_page = models.PositiveIntegerField(default=1)
    # Linked in the CRM when the run finished (what "agree" speaks for), and read from Xero.
    invoices_linked = models.PositiveIntegerField(default=0)
    contacts_linked = models.PositiveIntegerField(default=0)
    credit_notes_linked = models.PositiveIntegerField(default=0)
    invoices_read = models.PositiveIntegerField(default=0)
    credit_notes_read = models.PositiveIntegerField(default=0)
    contacts_read = models.PositiveIntegerField(default=0)
    waiting = models.PositiveIntegerField(default=0)  # with work still queued: not differences
    differences = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)  # for a person
    xero_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progressed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="reconciliation_last")]

    def __str__(self) -> str:
        return f"Reconciliation {self.pk} ({self.status})"


class Direction(models.TextChoices):
    XERO_AHEAD = "xero_ahead", "Changed in Xero, not yet brought to the CRM"
    CRM_AHEAD = "crm_ahead", "Changed in the CRM, not yet sent to Xero"
    DRIFT = "drift", "The two disagree with no sync pending"


class Repair(models.TextChoices):
    PULLED = "pulled", "Brought from Xero"
    PUSHED = "pushed", "Sent to Xero again"
    PERSON = "person", "Left for a person"


FIELD_WORDS = {
    "amount_paid": "Amount paid",
    "amount_due": "Amount due",
    "lines": "Number of lines",
    "record": "Xero's record",
    "allocated": "Allocated to its invoice",
    "remaining": "Credit remaining",
    "sent": "Sent to Xero",
}


class ReconciliationDifference(models.Model):
    """One field of one invoice, credit note or contact on which the CRM and Xero disagreed."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="found")
    kind = models.CharField(max_length=10)  # invoice, credit (a credit note), contact
    object_id = models.PositiveBigIntegerField()  # the CRM invoice's, credit note's or contact's id
    xero_id = models.CharField(max_length=64)
    label = models.CharField(max_length=300)  # what a person knows it by
    field = models.CharField(max_length=20)
    crm_value = models.CharField(max_length=300, blank=True)
    xero_value = models.CharField(max_length=300, blank=True)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    repair = models.CharField(max_length=10, choices=Repair.choices)
    # The rule or reason in words ("Xero is the book of record for payments made there").
    why = models.CharField(max_length=300, blank=True)
    # The run that first found it (this run, or an earlier one it survived), and when the
    # admins were told that it survived two runs.
    first_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "label", "field", "id"]
        indexes = [models.Index(fields=["run", "kind", "object_id"], name="reconciliation_found")]

    def __str__(self) -> str:
        return f"{self.kind} {self.label} {self.field}: {self.crm_value!r} / {self.xero_value!r}"

    @property
    def field_words(self) -> str:
        return FIELD_WORDS.get(self.field, self.field.replace("_", " ").capitalize())

    @property
    def kind_words(self) -> str:
        return "Credit note" if self.kind == "credit" else self.kind.capitalize()

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.kind, self.object_id, self.field)
