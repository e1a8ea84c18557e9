from django.dispatch import Signal

# Sent by every invoices.services function that changes an invoice or its payments, inside the
# service's transaction (receivers that queue work must do so on commit). Arguments:
#   invoice: the Invoice, as saved;
#   change:  one of CHANGES below;
#   payment: the Payment for "paid" and "payment_deleted" (a deleted one keeps its id), else None.
# The Xero sync listens; invoices/ never imports it.
invoice_changed = Signal()

CHANGES = ("created", "updated", "issued", "paid", "payment_deleted", "voided")

# Sent before an action that cannot be undone with a click is confirmed, to say what it will do
# beyond the CRM. Arguments: action (one of ACTIONS), invoice, payment (for
# "payment_delete", else None). A receiver returns (where, [sentences]) or None when it has
# nothing to say; the confirmation page shows each under "What happens in <where>".
invoice_action_effects = Signal()

ACTIONS = ("void", "reissue", "payment_delete")
