from django.dispatch import Signal

# Sent by every invoices.services function that changes an invoice or its payments, inside the
# service's transaction (receivers that queue work must do so on commit). Arguments:
#   invoice: the Invoice, as saved;
#   change:  one of CHANGES below;
#   payment: the Payment for "paid" and "payment_deleted" (a deleted one keeps its id), else None.
# The Xero sync listens; invoices/ never imports it.
invoice_changed = Signal()

CHANGES = ("created", "updated", "issued", "paid", "payment_deleted", "voided")
