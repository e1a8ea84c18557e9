"""The organisation's Xero tax rates and how the CRM's tax rates map to them."""

from django.conf import settings
from django.db import models


class XeroTaxRate(models.Model):
    """The organisation's tax rates as last read from Xero (they have no webhooks; Refresh)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="tax_rates"
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

    def __str__(self) -> str:
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

    def __str__(self) -> str:
        return f"{self.tax_rate} -> {self.xero_name}"

    @property
    def is_broken(self) -> bool:
        return bool(self.broken_reason)
