"""Sales invoices made in Xero, brought into the CRM (webhooks, the poll, the past-invoice
import all come through from_xero.invoice_apply).

- A sales invoice Xero holds and the CRM has no twin of becomes a CRM invoice on its contact
  (fetched from Xero through the contact sync when not yet in the CRM), marked as made in Xero,
  under Xero's number, with its lines, its taxes mapped back through the tax mappings, and its
  status. Its twin record says it is in Xero as it is, so nothing is pushed.
- The CRM computes the totals itself, as Xero does (per line, rounded, then summed): an invoice
  whose totals would not be Xero's to the cent is not stored but held, with both figures.
- A line whose Xero tax rate no CRM tax rate is mapped to holds the whole invoice with that
  reason (mapping it, then Retry, brings it in): a line taxed at a guessed rate, or untaxed,
  would put a wrong total on the CRM's books, and a flag nobody reads would not stop that.
- Later edits made in Xero (lines, dates, reference, contact) follow while the CRM invoice can
  still be edited; payments and voids follow through from_xero like any invoice's.
Everything here runs inside changes_from_xero(): no change made here queues a push.
"""

from collections.abc import Sequence
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.models import Contact
from invoices.models import EventSource, Invoice, TaxMode
from invoices.services import LineInput, invoice_create, invoice_issue, invoice_update

from ..client.invoices import invoice_fingerprint
from ..contacts.models import XeroContact
from ..contacts.pull import contact_sync_one
from ..inbound import normalise
from ..models import XeroConnection
from ..organisation.selectors import settings_as_read
from ..taxes.services import mapped_tax_rates
from .invoices_write import invoice_facts
from .mapping import (
    XeroInvoice,
    XeroInvoiceContent,
    XeroLine,
    invoice_body,
    invoice_content_from_xero,
)
from .models import InvoiceSync, InvoiceSyncState

# Xero's statuses a CRM invoice is brought in for, and whether it is issued in the CRM
# (a voided one is issued, then voided by from_xero, so its history says so). A DELETED
# draft is not brought in: Xero no longer shows it either.
BROUGHT_IN = {"DRAFT": False, "SUBMITTED": False, "AUTHORISED": True, "PAID": True, "VOIDED": True}
NO_TAX_TYPES = ("", "NONE")


def invoice_bring_in(connection: XeroConnection, found: XeroInvoice) -> InvoiceSync | None:
    """Make the CRM invoice of a sales invoice made in Xero, with its twin record; None when
    it is not one to bring in. Raises normalise.Unstorable or ValidationError with the reason
    (the caller's transaction is then rolled back and the invoice held)."""
    if found.type != "ACCREC" or found.status not in BROUGHT_IN:
        return None
    content = invoice_content_from_xero(found.raw)
    contact = _contact(connection, found)
    invoice = invoice_create(
        account=connection.account,
        made_in=EventSource.XERO,
        number=content.number,
        contact=contact,
        name=content.reference,
        issue_date=content.issue_date,
        due_date=content.due_date,
        currency=content.currency,
        tax_mode=content.tax_mode,
        lines=_lines(connection, content),
    )
    if BROUGHT_IN[found.status]:
        invoice_issue(invoice=invoice)
    _totals_check(invoice, content)
    sync = InvoiceSync.objects.create(
        connection=connection,
        invoice=invoice,
        state=InvoiceSyncState.SYNCED,
        xero_invoice_id=found.invoice_id,
        xero_status=found.status,
        pushed_version=1,
        synced_at=timezone.now(),
    )
    _twin_remember(sync, content, found.contact_id)
    return sync


def invoice_edits_apply(sync: InvoiceSync, found: XeroInvoice) -> bool:
    """Apply edits made in Xero to an invoice made there, while the CRM invoice can still be
    edited (Xero itself refuses edits once a payment is on it). True when something changed."""
    invoice = sync.invoice
    invoice.refresh_from_db()
    if invoice.made_in != EventSource.XERO or not invoice.is_editable:
        return False
    content = invoice_content_from_xero(found.raw)
    contact = (
        invoice.contact
        if invoice.contact is not None and _xero_contact_id(invoice.contact) == found.contact_id
        else _contact(sync.connection, found)
    )
    by_item = {item: int(pk) for pk, item in sync.xero_line_ids.items()}
    lines = [
        replace(line, id=by_item.get(xero.line_item_id))
        for xero, line in zip(content.lines, _lines(sync.connection, content), strict=True)
    ]
    header = {
        "contact": contact,
        "name": content.reference,
        "issue_date": content.issue_date or invoice.issue_date,
        "due_date": content.due_date,
        "currency": content.currency,
        "tax_mode": content.tax_mode,
    }
    if _same(invoice, header, lines):
        return False
    invoice_update(invoice=invoice, lines=lines, **header)
    _totals_check(invoice, content)
    _twin_remember(sync, content, found.contact_id)
    return True


def _same(invoice: Invoice, header: dict[str, object], lines: list[LineInput]) -> bool:
    if any(getattr(invoice, field) != value for field, value in header.items()):
        return False
    stored = [
        (line.pk, line.description, line.quantity, line.unit_price, line.discount_rate)
        + (line.tax_rate_id,)
        for line in invoice.lines.order_by("position", "id")
    ]
    wanted = [
        (
            line.id,
            line.description.strip(),
            line.quantity,
            line.unit_price,
            line.discount_rate,
            line.tax_rate.pk if line.tax_rate else None,
        )
        for line in lines
    ]
    return stored == wanted


def _twin_remember(sync: InvoiceSync, content: XeroInvoiceContent, contact_id: str) -> None:
    """Our line ids -> Xero's LineItemIDs, and the fingerprint of the invoice as the push
    would now write it: a later CRM change pushes in place, and one that changes nothing Xero
    holds (a payment) rewrites nothing."""
    pks = list(sync.invoice.lines.order_by("position", "id").values_list("pk", flat=True))
    sync.xero_line_ids = {
        str(pk): line.line_item_id
        for pk, line in zip(pks, content.lines, strict=True)
        if line.line_item_id
    }
    facts = invoice_facts(sync, contact_id, settings_as_read(sync.connection))
    sync.pushed_fingerprint = invoice_fingerprint(invoice_body(facts))
    sync.save(update_fields=["xero_line_ids", "pushed_fingerprint"])


def _totals_check(invoice: Invoice, content: XeroInvoiceContent) -> None:
    ours = (invoice.subtotal, invoice.total_tax, invoice.total)
    xeros = (content.subtotal, content.total_tax, content.total)
    if ours != xeros:
        raise ValidationError(
            f"Xero's totals (subtotal {xeros[0]}, tax {xeros[1]}, total {xeros[2]}) are not "
            f"what the CRM makes of the same lines (subtotal {ours[0]}, tax {ours[1]}, "
            f"total {ours[2]}), so it is not stored rather than stored with different figures."
        )


def _xero_contact_id(contact: Contact) -> str:
    link = XeroContact.objects.filter(contact=contact).values_list("xero_contact_id", flat=True)
    return next(iter(link), "")


def _contact(connection: XeroConnection, found: XeroInvoice) -> Contact:
    return contact_for(connection, found.contact_id, source="invoice from Xero")


def contact_for(connection: XeroConnection, contact_id: str, *, source: str) -> Contact:
    """The CRM contact of a Xero contact, brought in from Xero when unknown."""
    if not contact_id:
        raise normalise.Unstorable("Xero sent it without a contact")

    def linked() -> Contact | None:
        link = (
            XeroContact.objects.filter(connection=connection, xero_contact_id=contact_id)
            .select_related("contact")
            .first()
        )
        return link.contact if link is not None else None

    contact = linked()
    if contact is None:
        contact_sync_one(connection, contact_id, source=source)
        contact = linked()
    if contact is None:
        raise ValidationError(
            f"Its contact (Xero ContactID {contact_id}) could not be brought into the "
            "CRM: it is not in Xero, is outside the contacts chosen for import, or is held "
            "under Sync failures."
        )
    return contact


def _lines(connection: XeroConnection, content: XeroInvoiceContent) -> list[LineInput]:
    return lines_from_xero(connection, content.tax_mode, content.lines)


def lines_from_xero(
    connection: XeroConnection, tax_mode: str, xero_lines: Sequence[XeroLine]
) -> list[LineInput]:
    """Xero's lines as the CRM's, each taxed at the CRM rate mapped to its Xero tax type."""
    rates = mapped_tax_rates(connection) if tax_mode != TaxMode.NO_TAX else {}
    lines = []
    for n, line in enumerate(xero_lines, start=1):
        rate = None
        if tax_mode != TaxMode.NO_TAX and line.tax_type not in NO_TAX_TYPES:
            rate = rates.get(line.tax_type)
            if rate is None:
                raise ValidationError(
                    f"Line {n} is taxed at Xero's {line.tax_type}, which no CRM tax rate is "
                    "mapped to. Map it (Settings → Integrations → Xero → Tax rates), then "
                    "press Retry."
                )
        lines.append(
            LineInput(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_amount,
                discount_rate=line.discount_rate,
                tax_rate=rate,
            )
        )
    return lines
