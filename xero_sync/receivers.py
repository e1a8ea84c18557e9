"""xero_sync listens to the domain apps' signals; the domain apps never import xero_sync."""

from django.dispatch import receiver

from taxes.signals import tax_rate_saved

from .models import XeroConnection
from .tax_mapping import mappings_recheck


@receiver(tax_rate_saved)
def recheck_mapping_of_changed_tax_rate(sender, tax_rate, **kwargs):
    connection = XeroConnection.objects.filter(account_id=tax_rate.account_id).first()
    if connection is not None:
        mappings_recheck(connection)
