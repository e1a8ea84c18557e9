"""One batch of an organisation's outbox, up to 50 rows, step by step:
1. Pre-flight: what would fail in Xero is reported without spending an API call.
2. Rows whose earlier write lost its answer are looked up by InvoiceNumber (one call for the
   batch), so a retry never duplicates an invoice.
3. Payments removed in the CRM are removed in Xero (Xero voids only invoices without payments).
4. Contacts not yet in Xero are created (one call for the batch) and linked; so are the
   products on the invoices' lines, as Xero items (xero_sync.invoices.items_link).
5. The invoices: one POST for the batch. ACCREC, our number as InvoiceNumber, title as
   Reference; draft -> DRAFT, sent -> AUTHORISED, void -> VOIDED (DELETED for a draft).
6. Payments not yet in Xero go against the chosen payment account.
7. Credit notes not yet in Xero: one PUT for the batch, then each is set against its invoice
   and its refund paid (xero_sync.invoices.credit_notes)."""

from functools import partial

from django.db import transaction
from django.db.models import F

from invoices.history import invoice_event_record
from invoices.models import EventSource

from ..client import XeroClient
from ..client.errors import XeroError
from ..inbound import normalise
from ..models import XeroConnection, XeroContact
from ..organisation.selectors import settings_as_read
from .contacts_link import contacts_link
from .credit_notes import credit_notes_create, credit_notes_settle_last
from .invoices_write import invoices_write
from .items_link import items_link
from .mapping import invoice_from_xero
from .models import InvoiceSync
from .outbox import due_rows
from .payments import payments_create, payments_delete
from .preflight import PreflightFailed, preflight
from .refusals import RowFailed, is_definite
from .rows import Row, per_row

BATCH_SIZE = 50  # Xero: "batch about 50 elements per request"


def batch_claim(connection: XeroConnection) -> list[Row]:
    with transaction.atomic():
        syncs = list(
            due_rows(connection.pk)
            .select_related("invoice__account", "invoice__contact", "connection")
            .order_by("next_attempt_at", "id")[:BATCH_SIZE]
        )
        InvoiceSync.objects.filter(pk__in=[s.pk for s in syncs]).update(attempts=F("attempts") + 1)
    for sync in syncs:
        sync.attempts += 1
    return [Row(sync, sync.version) for sync in syncs]


def _found_by_number(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> None:
    """Rows whose last write lost its answer: did Xero create the invoice after all?"""
    unknown = [r for r in rows if r.live and r.sync.outcome_unknown and not r.sync.xero_invoice_id]
    if not unknown:
        return
    try:
        found = client.invoices_by_number([r.sync.invoice.number for r in unknown])
    except XeroError as refused:
        if not is_definite(refused):
            raise
        for row in unknown:
            row.failed = RowFailed(
                "validation", f"Xero would not look the invoice up: {refused.message}"
            )
        return
    by_number = {}
    for raw in found:
        try:
            invoice = invoice_from_xero(raw)
        except normalise.Unstorable:
            continue  # not one we can recognise as ours
        if invoice.status != "DELETED":
            by_number[invoice.number.lower()] = invoice
    links = dict(
        XeroContact.objects.filter(
            connection=connection, contact__in=[r.sync.invoice.contact_id for r in unknown]
        ).values_list("contact_id", "xero_contact_id")
    )
    for row in unknown:
        candidate = by_number.get(row.sync.invoice.number.lower())
        if candidate is not None and candidate.contact_id == links.get(
            row.sync.invoice.contact_id or 0
        ):
            row.sync.xero_invoice_id = candidate.invoice_id
            invoice_event_record(
                row.sync.invoice,
                "Found in Xero by its number after Xero's answer was lost",
                source=EventSource.SYNC,
            )
        row.sync.outcome_unknown = False
        row.sync.save(update_fields=["xero_invoice_id", "outcome_unknown"])


def batch_send(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> None:
    organisation = settings_as_read(connection)
    for row in rows:
        row.organisation = organisation
        try:
            preflight(row.sync, organisation)
        except PreflightFailed as failed:
            row.failed = failed
    _found_by_number(client, connection, rows)
    per_row(rows, partial(payments_delete, client))
    links = contacts_link(client, connection, rows)
    item_codes = items_link(client, connection, rows)
    for row in rows:
        row.item_codes = item_codes
    invoices_write(client, connection, rows, links)
    per_row(rows, partial(payments_create, client))
    credit_notes_create(client, connection, rows, links)
    per_row(rows, partial(credit_notes_settle_last, client))
