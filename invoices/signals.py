from django.dispatch import Signal

# Sent by every invoices.services function that changes an invoice or its payments, inside the
# service's transaction (receivers that queue work must do so on commit). Arguments:
#   invoice: the Invoice, as saved;
#   change:  one of CHANGES below;
#   payment: the Payment for "paid" and "payment_deleted" (a deleted one keeps its id), else None;
#   credit_note: the CreditNote for "credited", else None.
# The Xero sync listens; invoices/ never imports it.
invoice_changed = Signal()

CHANGES = ("created", "updated", "issued", "paid", "payment_deleted", "voided", "credited")

# Sent before an action that cannot be undone with a click is confirmed, to say what it will do
# beyond the CRM. Arguments: action (one of ACTIONS), invoice, payment (for
# "payment_delete", else None). A receiver returns (where, [sentences]) or None when it has
# nothing to say; the confirmation page shows each under "What happens in <where>".
invoice_action_effects = Signal()

ACTIONS = ("void", "reissue", "credit_reissue", "payment_delete", "credit")

# Numbers are the account's, but the books it keeps in step with may hold some already (one
# typed straight into the accounting system, say). These two let them say so without this app
# knowing them; each receiver answers for itself and the answers are combined.
#
# Sent by the number allocator and before a number is given by hand, with `account` and
# `numbers` (candidates). A receiver returns {number: why} for those it holds (why is plain
# words for the person choosing), and {} otherwise. Numbers compare case-insensitively.
invoice_numbers_held = Signal()

# Sent before an invoice's number is changed, with `invoice`. A receiver returns why the number
# can no longer change (the invoice is known by it elsewhere) in plain words, or "".
invoice_number_fixed = Signal()
