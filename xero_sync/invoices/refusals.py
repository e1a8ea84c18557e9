"""Why a row cannot go on, in words a person can act on, with the page where the fix is."""

from django.urls import reverse

from platform_crm.models import Account

from ..client.errors import AuthLost, RateLimited, Transient, XeroError
from .models import InvoiceSync
from .numbers import number_taken_remember

# Xero's words for "this invoice has a payment, it cannot change" and "number taken".
XERO_LOCKED_HINTS = ("payment or credit note allocated", "cannot be edited")
NUMBER_TAKEN_HINTS = ("must be unique",)


class RowFailed(Exception):
    """One row of a batch cannot go on; the others can."""

    def __init__(self, cause: str, message: str, fix_url: str = "") -> None:
        super().__init__(message)
        self.cause, self.message, self.fix_url = cause, message, fix_url


class RowHeld(RowFailed):
    """One row waits for a person's decision (not a failure: nobody is emailed an error); the
    message says what to decide and fix_url where."""


def is_definite(error: XeroError) -> bool:
    """Xero answered and its answer stands (a refusal, not a wait or a lost answer)."""
    return not isinstance(error, RateLimited | Transient | AuthLost)


def page_url(name: str, account: Account, **kwargs: object) -> str:
    return reverse(name, kwargs={"account_slug": account.slug, **kwargs})


def number_taken_message(number: str) -> str:
    return (
        f"Xero already has another invoice numbered {number}. Use the next free number, or "
        "give this invoice another number on its edit page; it is then sent again."
    )


def refusal(sync: InvoiceSync, messages: list[str]) -> RowFailed:
    text = "; ".join(messages) or "no reason given"
    lowered = text.lower()
    if any(hint in lowered for hint in XERO_LOCKED_HINTS):
        return locked_failure(sync)
    if any(hint in lowered for hint in NUMBER_TAKEN_HINTS):
        number_taken_remember(sync.connection, sync.invoice.number)
        return RowFailed(
            "number_taken",
            number_taken_message(sync.invoice.number),
            page_url("invoices:edit", sync.invoice.account, pk=sync.invoice_id),
        )
    if "account code" in lowered:
        return RowFailed(
            "sales_account",
            f"Xero does not accept the sales account {sync.connection.sales_account_code} on "
            f"invoices ({text}). Choose another sales account, then retry.",
            page_url("xero_sync:sales_account", sync.invoice.account),
        )
    if text.startswith("Xero "):  # a step's own words (a payment, a credit note)
        return RowFailed("validation", text)
    return RowFailed("validation", "Xero refused the invoice: " + text)


def xero_cannot_edit(sync: InvoiceSync) -> bool:
    """Xero refuses changes to an invoice that is paid or has a payment or credit applied."""
    return (
        sync.xero_status == "PAID"
        or sync.payments.filter(deleted_in_xero=False).exclude(xero_payment_id="").exists()
        or sync.credit_notes.filter(allocated=True).exists()
        or sync.invoice.credits_carried_in.filter(xero_sync__carried_allocated=True).exists()
    )


def locked_failure(sync: InvoiceSync) -> RowFailed:
    invoice = sync.invoice
    return RowFailed(
        "xero_locked",
        f"Xero no longer lets invoice {invoice.number} change: it has a payment applied in "
        "Xero. Your change is kept here but Xero still shows the invoice as it was. To make "
        "them match, use “Void and reissue” on the invoice (the payments move to the new "
        "invoice), or undo the change. If Xero will not void it (its payments are reconciled, "
        "or a credit note is set against it), undo the change and use “Credit and reissue”: "
        "the change is then made on the copy.",
        # Void and reissue asks for confirmation first, saying what happens on both sides.
        page_url("invoices:reissue", invoice.account, pk=invoice.pk),
    )
