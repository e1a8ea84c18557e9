"""What an invoice action about to be confirmed (void, void and reissue, delete a payment) will
do in Xero, in the words the confirmation page shows (invoices.signals.invoice_action_effects).
Reads only."""

from invoices.models import Invoice, Payment

from ..models import XeroConnection
from .models import InvoiceSync, InvoiceSyncState, PaymentSync

WHERE = "Xero"

# Where Xero takes both ways of changing a paid invoice, the choice in plain words.
BOTH_ALLOWED = (
    "Xero allows both Void and reissue and Credit and reissue here. Void and reissue takes "
    "the payments off the original in Xero and voids it, as if it had never been sent; Xero "
    "refuses that for payments reconciled with the bank or dated in a locked period. Credit "
    "and reissue leaves the original and its payments in Xero as they are and adds a credit "
    "note that settles it, carrying what was paid to the copy: choose it when the payments "
    "are reconciled, or when the books should show the original and its correction."
)


def _later(connection: XeroConnection) -> list[str]:
    if connection.is_usable:
        return []
    return [
        f"Xero is not connected at the moment ({connection.get_status_display().lower()}): "
        "this reaches Xero when it is connected again."
    ]


def invoice_action_effects(
    *, action: str, invoice: Invoice, payment: Payment | None = None
) -> tuple[str, list[str]] | None:
    connection = XeroConnection.objects.filter(account_id=invoice.account_id).first()
    if connection is None or not connection.tenant_id:
        return None  # never connected: nothing happens in Xero
    sync = InvoiceSync.objects.filter(invoice=invoice).first()
    org = connection.tenant_name or "the Xero organisation"
    if (sync is None or not sync.xero_invoice_id) and action == "credit":
        return WHERE, [
            f"Invoice {invoice.number} has not reached {org} yet: the credit note goes there "
            "with it.",
            *_later(connection),
        ]
    if sync is None or not sync.xero_invoice_id:
        never = (
            f"Invoice {invoice.number} has not reached {org}, so nothing changes there"
            + (" for it" if action != "reissue" else "")
            + "."
        )
        if action == "reissue":
            return WHERE, [
                never,
                f"The copy is sent to {org} as a new invoice, with its payments.",
                *_later(connection),
            ]
        return WHERE, [never]
    if action == "credit":
        account = (
            f"{connection.payment_account_code} {connection.payment_account_name}".strip()
            or "the payment account chosen for Xero"
        )
        return WHERE, [
            f"{org} gets an approved credit note for the same amount, with your reason as its "
            f"reference. The part that comes off what is owed is set against {invoice.number} "
            "there, so Xero shows the same amount due as here.",
            f"A refund is recorded in {org} as money paid out of {account}.",
            *_later(connection),
        ]
    if action == "void":
        if sync.xero_status == "DRAFT":
            sentences = [f"Xero deletes its draft of {invoice.number} in {org}."]
        else:
            sentences = [
                f"{invoice.number} is voided in {org} too: Xero keeps it, marked Voided, "
                "owing nothing."
            ]
        return WHERE, [*sentences, *_later(connection)]
    if action == "credit_reissue":
        return WHERE, _credit_reissue_effects(invoice, sync, org, connection)
    if action == "reissue":
        in_xero = PaymentSync.objects.filter(
            invoice_sync=sync, deleted_in_xero=False, deleted_in_crm=False
        ).exclude(xero_payment_id="")
        sentences = []
        if in_xero.exists():
            sentences.append(
                f"The payments on {invoice.number} are deleted in {org} first (Xero voids only "
                "an invoice without payments), then it is voided there."
            )
        else:
            sentences.append(f"{invoice.number} is voided in {org}.")
        account = (
            f" to {connection.payment_account_code} {connection.payment_account_name}"
            if connection.payment_account_name
            else ""
        )
        sentences.append(
            f"The copy is created in {org} as a new approved invoice and its payments are "
            f"recorded against it{account}."
        )
        if in_xero.exists():
            sentences.append(BOTH_ALLOWED)
        return WHERE, [*sentences, *_later(connection)]
    if action == "payment_delete" and payment is not None:
        record = PaymentSync.objects.filter(payment_id=payment.pk).first()
        if record is None or not record.xero_payment_id or record.deleted_in_xero:
            return WHERE, [f"This payment has not reached {org}; it will not be sent there."]
        # Payments that came from Xero were recorded by no one in the CRM.
        entered = " (it was entered there)" if payment.recorded_by_id is None else ""
        owed = invoice.amount_due + payment.amount
        return WHERE, [
            f"This payment is in {org}{entered}: it is deleted there too, and Xero shows "
            f"{invoice.number} owing {owed} {invoice.currency} again.",
            "If the money was received, keep the payment: deleting it here takes it out of "
            "the books in Xero as well.",
            *_later(connection),
        ]
    return None


def _credit_reissue_effects(
    invoice: Invoice, sync: InvoiceSync, org: str, connection: XeroConnection
) -> list[str]:
    sentences = [
        f"{invoice.number} stays in {org} with its payments. An approved credit note for what "
        "is left of it is set against it there, so Xero shows it owing nothing.",
        f"The copy reaches {org} when you issue it; what was paid on {invoice.number} is then "
        "set against it from the credit note, so Xero shows the copy owing what the CRM does.",
    ]
    if sync.state == InvoiceSyncState.FAILED and sync.error_cause == "xero_locked":
        sentences.append(
            f"Xero still holds {invoice.number} as it was before your last change (it refused "
            "that change), and the credit note is written from the invoice as it is here: undo "
            "the change first, then credit and reissue, and make the change on the copy."
        )
    if invoice.credit_notes.exists():
        sentences.append(
            f"Xero will not void {invoice.number} now a credit note is set against it, so "
            "Credit and reissue is the way to change it."
        )
    elif (
        PaymentSync.objects.filter(invoice_sync=sync, deleted_in_xero=False)
        .exclude(xero_payment_id="")
        .exists()
    ):
        sentences.append(BOTH_ALLOWED)
    return [*sentences, *_later(connection)]
