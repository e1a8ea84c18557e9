"""What would fail in Xero, found without spending an API call: the contact's name, tax rates
mapped and not broken, a tax rate on every taxed line, a payment account when there are payments
or refunds, a number Xero already holds for another invoice, a currency the organisation has not
enabled, an approval dated on or before its lock date, and a branding theme or tracking option no
longer active (the organisation's settings as last read, xero_sync.organisation)."""

from invoices.models import InvoiceStatus, TaxMode

from ..organisation.invoice_options import invoice_chosen, tracking_missing
from ..organisation.models import OrganisationSettings
from ..organisation.services import lock_date_in_force
from .models import InvoiceSync, XeroInvoiceNumber
from .refusals import (
    RowFailed,
    currency_message,
    invoice_option_message,
    lock_date_message,
    number_taken_message,
    page_url,
)

# Xero's statuses of an invoice it has not approved (yet).
NOT_APPROVED = ("", "DRAFT", "SUBMITTED")


class PreflightFailed(RowFailed):
    """Found before any call: the row fails as a refusal would."""


def preflight(sync: InvoiceSync, stored: OrganisationSettings | None) -> None:
    """Raises PreflightFailed with what Xero would refuse; `stored` is the organisation's
    settings as last read (None until read)."""
    invoice, connection = sync.invoice, sync.connection
    account = invoice.account
    edit_page = page_url("invoices:edit", account, pk=invoice.pk)
    if invoice.contact is None or not invoice.contact.display_name.strip():
        raise PreflightFailed(
            "contact", "The invoice's contact has no name; Xero needs one.", edit_page
        )
    if invoice.tax_mode != TaxMode.NO_TAX:
        for line in invoice.lines.all():
            if line.tax_rate is None:
                raise PreflightFailed(
                    "line_tax",
                    f"The line “{line.description or line.position}” has no tax rate; choose "
                    "one (e.g. a zero rate) so Xero charges the same tax.",
                    edit_page,
                )
            mapping = getattr(line.tax_rate, "xero_mapping", None)
            if mapping is None or mapping.is_broken:
                why = mapping.broken_reason if mapping else "it is not mapped to a Xero tax rate"
                raise PreflightFailed(
                    "unmapped_tax",
                    f"The tax rate {line.tax_rate.name} cannot be used in Xero: {why}. "
                    "Map it, then retry.",
                    page_url("xero_sync:tax_mapping", account),
                )
    refunds = invoice.credit_notes.filter(refund_amount__gt=0)
    if (invoice.payments.exists() or refunds.exists()) and not connection.payment_account_id:
        raise PreflightFailed(
            "payment_account",
            "No Xero account is chosen for payments.",
            page_url("xero_sync:payment_account", account),
        )
    if not sync.xero_invoice_id and not sync.outcome_unknown:
        taken = XeroInvoiceNumber.objects.filter(
            connection=connection, number=invoice.number.lower()
        ).first()
        if taken is not None:
            raise PreflightFailed(
                "number_taken",
                number_taken_message(invoice.number),
                edit_page,
            )
    _organisation_settings_allow(sync, stored)


def _organisation_settings_allow(sync: InvoiceSync, stored: OrganisationSettings | None) -> None:
    invoice = sync.invoice
    if stored is None or invoice.status == InvoiceStatus.VOID:
        return  # never read: Xero decides (and its refusal reads them)
    edit_page = page_url("invoices:edit", invoice.account, pk=invoice.pk)
    allowed = {*stored.currencies, invoice.account.currency.upper()}
    if stored.currencies_read_at is not None and invoice.currency not in allowed:
        raise PreflightFailed(
            "currency", currency_message(invoice, list(stored.currencies)), edit_page
        )
    lock = lock_date_in_force(stored)
    approving = invoice.status != InvoiceStatus.DRAFT and sync.xero_status in NOT_APPROVED
    if lock is not None and approving and invoice.issue_date <= lock[0]:
        raise PreflightFailed("lock_date", lock_date_message(invoice, lock), edit_page)
    if stored.invoice_options_read_at is not None:
        _invoice_options_active(sync, stored)


def _invoice_options_active(sync: InvoiceSync, stored: OrganisationSettings) -> None:
    """The theme and every line's tracking the invoice carries are still active in Xero."""
    invoice = sync.invoice
    chosen = invoice_chosen(invoice, stored)
    fix = {
        "invoice": page_url(
            "xero_sync:invoice_own_options", invoice.account, invoice_pk=invoice.pk
        ),
        "default": page_url("xero_sync:invoice_options", invoice.account),
    }
    themes = {t["id"] for t in stored.branding_themes}
    if chosen.branding_theme_id and chosen.branding_theme_id not in themes:
        raise PreflightFailed(
            "branding_theme",
            invoice_option_message(
                invoice, "a branding theme Xero no longer has", chosen.theme_from
            ),
            fix[chosen.theme_from],
        )
    for pairs, chosen_from in chosen.lines.values():
        for pair in pairs:
            why = tracking_missing(stored, pair)
            if why is not None:
                raise PreflightFailed(
                    "tracking",
                    invoice_option_message(invoice, why, chosen_from),
                    fix[chosen_from],
                )
