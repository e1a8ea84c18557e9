"""Why a row cannot go on, in words a person can act on, with the page where the fix is."""

import datetime
from collections.abc import Callable
from contextlib import suppress

from django.urls import reverse

from invoices.models import Invoice
from platform_crm.models import Account

from ..client.errors import AuthLost, RateLimited, Transient, XeroError
from ..organisation.invoice_options import invoice_chosen, invoice_options_refresh
from ..organisation.selectors import settings_as_read
from ..organisation.services import currencies_refresh, lock_date_in_force, lock_dates_refresh
from .models import InvoiceSync
from .numbers import number_taken_remember

# Xero's words for "this invoice has a payment, it cannot change" and "number taken".
XERO_LOCKED_HINTS = ("payment or credit note allocated", "cannot be edited")
NUMBER_TAKEN_HINTS = ("must be unique",)
# ... for a currency the organisation has not enabled (or one it does not know), a date on or
# before a lock date, and the plan's cap on approved invoices (xero_sandbox/README.md).
CURRENCY_HINTS = ("not subscribed to currency", "currency code")
LOCK_DATE_HINTS = ("lock date",)
PLAN_LIMIT_HINTS = ("limit of invoices you can approve",)
BRANDING_THEME_HINTS = ("branding theme",)
TRACKING_HINTS = ("tracking category", "tracking option", "trackingcategory")


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


def currency_message(invoice: Invoice, enabled: list[str]) -> str:
    code = invoice.currency
    takes = f" It takes invoices in {', '.join(enabled)}." if enabled else ""
    return (
        f"Xero's organisation does not use {code}, the currency of invoice {invoice.number}."
        f"{takes} Change the invoice's currency, or have an admin add {code} to Xero (the "
        "button on this invoice's page), then press Retry."
    )


def invoice_option_message(invoice: Invoice, what: str, chosen_from: str) -> str:
    """A branding theme or tracking option no longer active in Xero (`what` says which)."""
    fix = (
        "Choose another on this invoice's Xero options"
        if chosen_from == "invoice"
        else "Have an admin choose another default under Integrations, Xero invoice options"
    )
    return (
        f"Invoice {invoice.number} uses {what}, so Xero would refuse it. {fix}, then press Retry."
    )


def lock_words(lock: tuple[datetime.date, str] | None) -> tuple[str, str]:
    """(where the date falls, what a date Xero takes is) for a document, payment or credit note
    dated on or before the lock date `lock` (None: Xero said so, its lock date unread)."""
    if lock is None:
        return "in a period Xero has locked", "after Xero's lock date"
    return f"on or before Xero's {lock[1]} ({lock[0]:%-d %b %Y})", f"after {lock[0]:%-d %b %Y}"


def is_lock_date_refusal(messages: list[str]) -> bool:
    return any(hint in m.lower() for m in messages for hint in LOCK_DATE_HINTS)


def lock_read_again(sync: InvoiceSync) -> tuple[datetime.date, str] | None:
    """Xero refused on a lock date: the one we hold moved since it was read. Read again (best
    effort), and the lock in force as now held."""
    _settings_read_again(sync, lock_dates_refresh)
    stored = settings_as_read(sync.connection)
    return lock_date_in_force(stored) if stored else None


def lock_date_message(invoice: Invoice, lock: tuple[datetime.date, str] | None) -> str:
    dated = f"Invoice {invoice.number} is dated {invoice.issue_date:%-d %b %Y}"
    where, after = lock_words(lock)
    return (
        f"{dated}, {where}, so Xero will not approve it. Change the invoice's date to one "
        f"{after}, or ask your accountant to move the lock date in Xero, then press Retry."
    )


PLAN_LIMIT_MESSAGE = (
    "Xero's plan for this organisation allows no more approved invoices this month (Xero: "
    "“You have reached the limit of invoices you can approve”). Upgrade the Xero plan, or wait "
    "for next month, then press Retry."
)


def _settings_read_again(sync: InvoiceSync, refresh: Callable[..., object]) -> None:
    """Xero refused on account of its settings: what we hold is out of date. Best effort: the
    refusal stands whether or not Xero can be read now."""
    with suppress(XeroError):
        refresh(sync.connection, force=True)


def invoice_options_refusal(sync: InvoiceSync, lowered: str) -> RowFailed | None:
    """Xero refused a branding theme or tracking option (archived or gone since last read):
    they are read again, and the fix is wherever the choice was made."""
    if any(hint in lowered for hint in BRANDING_THEME_HINTS):
        cause, what = "branding_theme", "a branding theme Xero no longer has"
    elif any(hint in lowered for hint in TRACKING_HINTS):
        cause, what = "tracking", "a tracking category or option that is no longer active in Xero"
    else:
        return None
    _settings_read_again(sync, invoice_options_refresh)
    stored = settings_as_read(sync.connection)
    chosen = invoice_chosen(sync.invoice, stored)
    origins = (
        {chosen.theme_from}
        if cause == "branding_theme"
        else {origin for pairs, origin in chosen.lines.values() if pairs}
    )
    chosen_from = "invoice" if "invoice" in origins else "default"
    invoice = sync.invoice
    fix = (
        page_url("xero_sync:invoice_own_options", invoice.account, invoice_pk=invoice.pk)
        if chosen_from == "invoice"
        else page_url("xero_sync:invoice_options", invoice.account)
    )
    return RowFailed(cause, invoice_option_message(invoice, what, chosen_from), fix)


def refusal(sync: InvoiceSync, messages: list[str]) -> RowFailed:
    text = "; ".join(messages) or "no reason given"
    lowered = text.lower()
    invoice = sync.invoice
    if any(hint in lowered for hint in CURRENCY_HINTS):
        _settings_read_again(sync, currencies_refresh)
        stored = settings_as_read(sync.connection)
        enabled = list(stored.currencies) if stored else []
        edit = page_url("invoices:edit", invoice.account, pk=invoice.pk)
        return RowFailed("currency", currency_message(invoice, enabled), edit)
    if any(hint in lowered for hint in LOCK_DATE_HINTS):
        edit = page_url("invoices:edit", invoice.account, pk=invoice.pk)
        return RowFailed("lock_date", lock_date_message(invoice, lock_read_again(sync)), edit)
    if any(hint in lowered for hint in PLAN_LIMIT_HINTS):
        return RowFailed("plan_limit", PLAN_LIMIT_MESSAGE)
    options_refused = invoice_options_refusal(sync, lowered)
    if options_refused is not None:
        return options_refused
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
