from django.dispatch import Signal

# Sent (inside the saving transaction) when a tax rate or its components change; the Xero sync
# listens to re-check its mapping. Arguments: tax_rate.
tax_rate_saved = Signal()
