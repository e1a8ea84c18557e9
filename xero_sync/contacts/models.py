"""Contacts from Xero: the link between a CRM contact and its Xero twin, the import runs, and
the possible duplicates held for an admin (all in the xero_sync app)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..runs import ImportStatus, ResumableRun


class XeroContact(models.Model):
    """The link between a CRM contact and its twin in Xero, with Xero's last word on it."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="contact_links"
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

    def __str__(self) -> str:
        return f"{self.contact_id} <-> {self.xero_contact_id}"


class ContactImport(ResumableRun):
    """One run of the initial import (or its preview): filter, checkpoint and counts. A run
    under way whose task was lost (worker killed, broker emptied) is found by beat's sweep and
    resumes at its checkpoint (xero_sync.contacts.imports.imports_sweep)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="contact_imports"
    )
    # The filter as chosen for this run (the groups' names as Xero gave them then, to say it).
    contact_group_ids = models.JSONField(default=list, blank=True)
    contact_group_names = models.JSONField(default=list, blank=True)
    import_customers = models.BooleanField(default=True)
    import_suppliers = models.BooleanField(default=True)
    import_others = models.BooleanField(default=True)
    # Started by Platform CRM with all contacts, because set-up stopped before the contacts
    # step (contacts.imports.imports_start_where_setup_stopped).
    started_automatically = models.BooleanField(default=False)
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["previewing", "queued", "running"]),
                name="contact_import_under_way",
            )
        ]

    def __str__(self) -> str:
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


class DuplicateResolution(models.TextChoices):
    CREATED = "created", "Created as a separate contact"
    KEPT_ONE = "kept_one", "Kept as one contact"
    # The CRM contact is linked to this Xero contact instead of the one it had; the one it
    # had is then left alone by later syncs, as a kept-as-one duplicate is.
    LINKED_INSTEAD = "linked_instead", "Linked to this Xero contact instead"
    # A Xero contact sharing only its name with a CRM contact is another one: the CRM contact
    # needs a name of its own before it can be in Xero (names are unique there).
    APART = "apart", "Different contacts: the contact here needs a name of its own"


class PossibleDuplicate(models.Model):
    """A Xero contact with the email or phone of a CRM contact that already has its Xero twin
    (say, CRM "Chloe Wu" matched by email to the company "Wu Design Studio", then the person
    "Chloe Wu" in Xero with her phone): not created silently, but kept for an admin to decide.
    Also (matched_by "name") the Xero contact holding the name of a CRM contact about to be
    created there for an invoice, whose email or phone disagree: not linked on the name alone;
    the invoice waits for the admin (invoices.contacts_link, contacts.name_links)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="possible_duplicates"
    )
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    xero_contact_id = models.CharField(max_length=64)
    xero_name = models.CharField(max_length=255, blank=True)
    matched_by = models.CharField(max_length=10)  # email, phone, name, merge
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

    def __str__(self) -> str:
        return f"{self.xero_name or self.xero_contact_id} ~ {self.contact_id} ({self.matched_by})"


class PhoneClash(models.Model):
    """A Xero contact that is one CRM contact (its link, or its email) while its phone is
    another CRM contact's: the phone is not moved onto the first, the clash is written to its
    history, and the two are listed under Possible duplicates (merge, or not duplicates).
    Deleted with either contact (a merge settles it)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="phone_clashes"
    )
    xero_contact_id = models.CharField(max_length=64)
    xero_name = models.CharField(max_length=255, blank=True)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    phone_holder = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=100, blank=True)  # as Xero has it
    phone_e164 = models.CharField(max_length=20)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "xero_contact_id", "contact", "phone_holder", "phone_e164"],
                name="phone_clash_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.xero_contact_id}: {self.contact_id} ~ {self.phone_holder_id}"


class ContactSyncState(models.TextChoices):
    PENDING = "pending", "Sending to Xero"
    SYNCED = "synced", "In Xero"
    FAILED = "failed", "Not sent: needs a fix"
    WAITING = "waiting", "Waiting for Xero to be reconnected"


class ContactSync(models.Model):
    """A CRM contact's outbox row: while `state` is pending, the CRM changes not yet in Xero,
    written in the same transaction as the change (a lost message is found by the beat
    sweep). `dirty` holds each field changed in the CRM since Xero last took it, with when and
    at which version: what the push sends, and what a change from Xero conflicts with."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="contact_syncs"
    )
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="xero_push"
    )
    state = models.CharField(max_length=20, choices=ContactSyncState.choices)
    dirty = models.JSONField(default=dict, blank=True)  # field -> {"at": iso time, "v": version}
    version = models.PositiveIntegerField(default=1)
    pushed_version = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0)  # each Retry is a new idempotency key
    # A write whose answer was lost: Xero is read before writing again.
    outcome_unknown = models.BooleanField(default=False)
    sent = models.JSONField(default=dict, blank=True)  # the element last sent, as Xero got it
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_cause = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="contact_sync_due")]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} -> Xero ({self.state})"


class ContactConflict(models.Model):
    """A field changed in both places since the last sync, and how the connection's rule
    decided it (also written to the contact's history)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="contact_conflicts"
    )
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=40)
    crm_value = models.TextField(blank=True)
    xero_value = models.TextField(blank=True)
    winner = models.CharField(max_length=10)  # crm, xero
    rule = models.CharField(max_length=20)
    crm_changed_at = models.DateTimeField(null=True, blank=True)
    xero_changed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_id}.{self.field}: {self.winner} won ({self.rule})"
