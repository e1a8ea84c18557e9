from decimal import Decimal

from django.db import models

from platform_crm.models import Account

from .rates import effective_rate


class TaxRate(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="tax_rate_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_rate(self) -> Decimal:
        return effective_rate((c.rate, c.is_compound) for c in self.components.all())


class TaxComponent(models.Model):
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=100)
    # Percent, up to 4 dp as Xero stores it.
    rate = models.DecimalField(max_digits=7, decimal_places=4)
    # A compound component is charged on the amount plus the non-compound tax.
    is_compound = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} {self.rate}%{' (compound)' if self.is_compound else ''}"
