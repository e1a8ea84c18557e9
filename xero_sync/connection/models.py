"""The connection: one row per account with its status, its encrypted tokens and the
settings an admin chose; and every HTTP call made to Xero on it."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from platform_crm.models import Account


class ConnectionStatus(models.TextChoices):
    CHOOSING_ORGANISATION = "choosing_organisation", "Choosing organisation"
    CHOOSING_PAYMENT_ACCOUNT = "choosing_payment_account", "Choosing payment account"
    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    DISCONNECTED = "disconnected", "Disconnected"


class ContactPushMode(models.TextChoices):
    INVOICED = "invoiced", "Only contacts that are invoiced"
    CUSTOMERS = "customers", "Every customer"
    NONE = "none", "None"


class ConflictRule(models.TextChoices):
    LATEST = "latest", "The most recent change wins"
    XERO = "xero", "Xero wins"
    CRM = "crm", "Platform CRM wins"


# A connection started and not finished: Cancel takes the account back to where it was.
UNFINISHED_STATUSES = [
    ConnectionStatus.CHOOSING_ORGANISATION,
    ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
]

# States in which the organisation is held by this account (no other account may take it).
HOLDING_STATUSES = [
    ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
    ConnectionStatus.CONNECTED,
    ConnectionStatus.NEEDS_RECONNECT,
]


class XeroConnection(models.Model):
    """One per account, kept across disconnects so a reconnect resumes with its links intact."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="xero_connection"
    )
    status = models.CharField(
        max_length=30, choices=ConnectionStatus.choices, default=ConnectionStatus.DISCONNECTED
    )
    # The organisation (Xero "tenant") and Xero's id for our connection to it.
    tenant_id = models.CharField(max_length=64, blank=True)
    tenant_name = models.CharField(max_length=255, blank=True)
    xero_connection_id = models.CharField(max_length=64, blank=True)
    auth_event_id = models.CharField(max_length=64, blank=True)
    # The Xero user who authorised; revoking their grant would drop all their connections.
    xero_user_id = models.CharField(max_length=64, blank=True)

    # Secrets: Fernet-encrypted (xero_sync.connection.token_vault); never logged, never shown.
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Xero kills a refresh token left unused for 60 days; the daily job keeps it alive.
    refresh_token_obtained_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)

    # Non-secret settings chosen by the admin.
    payment_account_id = models.CharField(max_length=64, blank=True)
    payment_account_code = models.CharField(max_length=10, blank=True)
    payment_account_name = models.CharField(max_length=150, blank=True)
    # The revenue account invoice lines are coded to (Xero's default "Sales" is 200).
    sales_account_code = models.CharField(max_length=10, default="200")
    # Its name as the chart of accounts last said (kept, so pages need not read the chart).
    sales_account_name = models.CharField(max_length=150, blank=True)
    # Which Xero contacts come into the CRM: all, or only members of these groups; and which
    # kinds (Xero marks customers and suppliers by their invoices; "others" are neither yet).
    contact_group_ids = models.JSONField(default=list, blank=True)
    import_customers = models.BooleanField(default=True)
    import_suppliers = models.BooleanField(default=True)
    import_others = models.BooleanField(default=True)
    # The chosen groups' members as the last sync read them: Xero sends no webhook when a
    # contact joins or leaves a group, so the poll compares against this.
    contact_group_members = models.JSONField(default=list, blank=True)
    # High-water mark of Xero's UpdatedDateUTC seen by the contact sync (the poll's
    # If-Modified-Since).
    contacts_synced_until = models.DateTimeField(null=True, blank=True)
    # The invoice poll's cursor (If-Modified-Since), like contacts_synced_until for contacts.
    invoices_synced_until = models.DateTimeField(null=True, blank=True)
    # The credit note poll's cursor, run after the invoice poll.
    credit_notes_synced_until = models.DateTimeField(null=True, blank=True)
    # Which CRM contacts go to Xero, and who wins a field changed on both sides since the
    # last sync (xero_sync.contacts.push, xero_sync.contacts.conflicts).
    contact_push_mode = models.CharField(
        max_length=20, choices=ContactPushMode.choices, default=ContactPushMode.INVOICED
    )
    contact_conflict_rule = models.CharField(
        max_length=20, choices=ConflictRule.choices, default=ConflictRule.LATEST
    )

    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    # Activity for Xero's 60-day rule, written only by xero_sync.connection.activity (the
    # calls the client records are not activity).
    last_activity_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Guards that make each email go out once per episode.
    needs_reconnect_emailed_at = models.DateTimeField(null=True, blank=True)
    inactivity_warning_sent_at = models.DateTimeField(null=True, blank=True)
    # What Xero says is left of the organisation's day (X-DayLimit-Remaining) is not kept on
    # this row: it changes with every call (XeroCall.day_calls_remaining, and the limiter's
    # Redis state), and an UPDATE per call here deadlocked with a token refresh holding the row.

    class Meta:
        constraints = [
            # An organisation belongs to one Platform account at a time.
            models.UniqueConstraint(
                fields=["tenant_id"],
                condition=Q(status__in=HOLDING_STATUSES),
                name="xero_tenant_held_by_one_account",
            )
        ]

    def __str__(self) -> str:
        return f"Xero {self.tenant_name or '(no organisation)'} for {self.account}"

    @property
    def is_usable(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED

    @property
    def has_tokens(self) -> bool:
        return bool(self.refresh_token_encrypted)

    @property
    def is_linked(self) -> bool:
        """Set up once with an organisation (its payment account chosen): the account's
        contacts and invoices are linked to it, so only it may be connected again."""
        return bool(self.tenant_id and self.payment_account_id)


# What each call did and how it ended, as the Integrations page says it (ops see the raw names
# on Sync activity's technical view). A name not listed here is shown as it is.
CALL_WORDS = {
    "accounts.list": "Read the chart of accounts",
    "connections.delete": "Disconnected from the organisation",
    "connections.list": "Listed the organisations signed in",
    "contact_groups.get": "Read a contact group's members",
    "contact_groups.list": "Read the contact groups",
    "contacts.by_id": "Read contacts by id",
    "contacts.create": "Created contacts in Xero",
    "contacts.save": "Sent contact changes to Xero",
    "contacts.find": "Looked a contact up",
    "contacts.get": "Read a contact",
    "contacts.page": "Read a page of contacts",
    "currencies.add": "Added a currency in Xero",
    "currencies.list": "Read the currencies",
    "tracking_categories.list": "Read the tracking categories",
    "branding_themes.list": "Read the branding themes",
    "items.list": "Read the items (price list)",
    "items.create": "Created items in Xero",
    "credit_notes.allocate": "Set a credit note against its invoice",
    "credit_notes.create": "Sent credit notes to Xero",
    "credit_notes.find": "Looked credit notes up by number",
    "credit_notes.get": "Read a credit note",
    "credit_notes.page": "Read a page of credit notes",
    "invoices.by_id": "Read invoices by id",
    "invoices.find": "Looked invoices up by number",
    "invoices.get": "Read an invoice",
    "invoices.page": "Read a page of invoices",
    "invoices.save": "Sent invoices to Xero",
    "invoices.email": "Had Xero email an invoice",
    "invoices.online": "Read an invoice's online link",
    "organisation.get": "Read the organisation",
    "payments.create": "Sent a payment to Xero",
    "payments.delete": "Removed a payment in Xero",
    "refunds.create": "Sent a refund to Xero",
    "tax_rates.list": "Read the tax rates",
}
OUTCOME_WORDS = {
    "ok": "Done",
    "validation": "Refused by Xero",
    "rate_limited": "Held back by Xero's limit",
    "transient": "Xero did not answer",
    "bad_answer": "Xero's answer could not be read",
    "not_found": "Not found in Xero",
    "auth_lost": "Sign-in no longer accepted",
    "unauthorized": "Sign-in refused",
    "error": "Failed",
}


class XeroCall(models.Model):
    """One HTTP call to Xero, for the activity page, ops and the rate-limit figures."""

    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="calls")
    operation = models.CharField(max_length=60)
    status_code = models.PositiveSmallIntegerField(null=True)  # None: no HTTP answer
    outcome = models.CharField(max_length=30)  # ok, validation, rate_limited, transient, ...
    duration_ms = models.PositiveIntegerField()
    minute_calls_remaining = models.IntegerField(null=True)
    day_calls_remaining = models.IntegerField(null=True)
    idempotency_key = models.CharField(max_length=128, blank=True)  # writes only
    error = models.TextField(blank=True)
    # The answer's body as received, in bytes (Xero bills data egress): summed per
    # organisation per day from these rows, so counting it adds no update of any hot row.
    response_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="xerocall_recent")]

    def __str__(self) -> str:
        return f"{self.operation} {self.outcome} ({self.status_code})"

    @property
    def what(self) -> str:
        return CALL_WORDS.get(self.operation, self.operation)

    @property
    def outcome_in_words(self) -> str:
        return OUTCOME_WORDS.get(self.outcome, self.outcome)
