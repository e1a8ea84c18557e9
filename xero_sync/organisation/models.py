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

    def __str__(self) -> str:
        return f"Xero settings of {self.connection}"
