"""A CRM product's twin in Xero: the item (price list) it is known by there."""

from django.db import models


class XeroItem(models.Model):
    """Linked when the CRM created the item (just in time, for an invoice line), or found one
    of the same code in Xero (import, refresh, or a create Xero refused as a duplicate)."""

    connection = models.ForeignKey(
        "xero_sync.XeroConnection", on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(
        "invoices.Product", on_delete=models.CASCADE, related_name="xero_items"
    )
    xero_item_id = models.CharField(max_length=64)
    # The item's Code in Xero, as invoice lines send it (the product's own may change later).
    code = models.CharField(max_length=30)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "product"], name="xero_item_per_product"),
            models.UniqueConstraint(
                fields=["connection", "xero_item_id"], name="xero_item_once_per_connection"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} in Xero ({self.xero_item_id})"
