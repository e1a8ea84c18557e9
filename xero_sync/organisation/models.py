"""What the organisation in Xero decides for every invoice: the currencies it has enabled, its
base currency and its lock dates, as last read (Xero sends no webhooks for its settings)."""

from django.db import models


class OrganisationSettings(models.Model):
    """Read again when a page needs them and the last read is older than the chart of
    accounts' cache (xero_sync.organisation.services), and at once when Xero refuses an
    invoice on their account. The pre-flight reads only this row, never Xero."""

    connection = models.OneToOneField(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="organisation_settings"
    )
    # The organisation these were read from: after a reconnect to another, they are read again.
    tenant_id = models.CharField(max_length=64, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    # Enabled currency codes, base first, as Xero lists them.
    currencies = models.JSONField(default=list, blank=True)
    currencies_read_at = models.DateTimeField(null=True, blank=True)
    period_lock_date = models.DateField(null=True, blank=True)
    end_of_year_lock_date = models.DateField(null=True, blank=True)
    organisation_read_at = models.DateTimeField(null=True, blank=True)
    # Active tracking categories with their active options, as Xero lists them:
    # [{"id", "name", "options": [{"id", "name"}]}]; and the branding themes [{"id", "name"}].
    tracking_categories = models.JSONField(default=list, blank=True)
    branding_themes = models.JSONField(default=list, blank=True)
    invoice_options_read_at = models.DateTimeField(null=True, blank=True)
    # Chosen by an admin: every invoice's theme and lines' tracking unless it says otherwise.
    default_branding_theme_id = models.CharField(max_length=64, blank=True)
    # [{"category_id", "option_id"}], at most two (Xero's limit per line).
    default_tracking = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Xero settings of {self.connection}"


class InvoiceXeroOptions(models.Model):
    """One invoice's own branding theme and tracking, over the connection's defaults. Empty
    means "the default"; a line's tracking, when set, replaces the invoice's for that line."""

    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.CASCADE, related_name="xero_options"
    )
    branding_theme_id = models.CharField(max_length=64, blank=True)
    # [{"category_id", "option_id"}]; [] with `tracking_set`: no tracking at all.
    tracking = models.JSONField(default=list, blank=True)
    tracking_set = models.BooleanField(default=False)
    # {str(line id): [{"category_id", "option_id"}]}
    line_tracking = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Xero options of invoice {self.invoice_id}"
