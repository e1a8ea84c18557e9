"""Past sales invoices and credit notes brought in at connection (or later, from the
Integrations page): a preview (how many, their total, which contacts they need), then a run
that pages through Xero's sales invoices dated from a chosen day at Xero's largest page size
(line items and payments come with each page, so N invoices cost ceil(N / PAGE_SIZE) calls),
then its sales credit notes the same way (with their allocations and refunds), each applied as
webhooks and the poll apply them (from_xero.invoices_apply, credit_notes_from_xero), so a
re-run changes nothing.

A run is recoverable as a contact import is: each page commits with its checkpoint, the run
holds its own advisory lock while it works, and beat's sweep re-queues a run under way whose
task was lost; it resumes at its checkpoint. The contacts a page needs and the CRM does not
have are fetched in one call per page (GET /Contacts?IDs=…) and applied through the contact
sync, before the page's invoices."""

import datetime as dt
import logging
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from platform_crm.advisory_locks import advisory_lock
from platform_crm.queueing import enqueue_on_commit

from ..client import XeroClient
from ..connection.calls import xero_client_for
from ..contacts.apply import page_apply
from ..contacts.models import XeroContact
from ..contacts.pull import activity_if_moved, contact_filter
from ..inbound import normalise
from ..models import ConnectionStatus, XeroConnection
from ..runs import ImportStatus, runs_stalled
from . import credit_notes_from_xero as credit_notes
from .from_xero import invoices_apply
from .made_in_xero import BROUGHT_IN
from .models import CreditNoteSync, InvoiceSync, PastInvoiceImport

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Xero's largest (XERO-FACTS §5); paged invoices carry their line items
TASK = "xero_sync.tasks.past_invoice_import_task"
# Ids per GET /Contacts?IDs=…: about 3.7 kB of URL (Xero's URL limit is not documented).
CONTACT_IDS_PER_CALL = 100


def sales_since(day: dt.date, kind: str = "ACCREC") -> str:
    return f'Type=="{kind}" AND Date>=DateTime({day.year}, {day.month:02d}, {day.day:02d})'


def past_import_start(
    *, connection: XeroConnection, since: dt.date, preview: bool, user: User | None
) -> PastInvoiceImport:
    """A preview or a run from `since`, queued after commit."""
    run = PastInvoiceImport.objects.create(
        connection=connection,
        since=since,
        is_preview=preview,
        status=ImportStatus.PREVIEWING if preview else ImportStatus.QUEUED,
        started_by=user,
    )
    enqueue_on_commit(TASK, run.pk)  # lost with the broker: the sweep resends it
    return run


def _lock(run_id: int) -> str:
    return f"xero-past-invoice-import:{run_id}"


def past_import_run(run_id: int) -> PastInvoiceImport:
    """Run (or resume) a preview or an import; a second copy returns at once."""
    with advisory_lock(_lock(run_id)) as mine:
        if not mine:
            return PastInvoiceImport.objects.get(pk=run_id)
        return _run(run_id)


def _run(run_id: int) -> PastInvoiceImport:
    run = PastInvoiceImport.objects.select_related("connection__account").get(pk=run_id)
    connection = run.connection
    if not run.begin(connected=connection.status == ConnectionStatus.CONNECTED):
        return run
    client = xero_client_for(connection)
    while not run.on_credit_notes:
        invoices, paging = client.invoices_page_counted(
            run.next_page, page_size=PAGE_SIZE, where=sales_since(run.since)
        )
        with transaction.atomic():
            if run.is_preview:
                _count(run, invoices)
            else:
                _apply(run, client, invoices)
            run.seen += len(invoices)
            last = run.page_done(
                received=len(invoices), page_size=PAGE_SIZE, paging=paging, final=False
            )
            if last:  # the credit notes next, from their first page
                run.on_credit_notes, run.next_page = True, 1
            run.save()
    while True:
        found, paging = client.credit_notes_page_counted(
            run.next_page,
            page_size=PAGE_SIZE,
            where=sales_since(run.since, credit_notes.SALES_CREDIT),
        )
        with transaction.atomic():
            if run.is_preview:
                _count_credit_notes(run, found)
            else:
                _apply_credit_notes(run, client, found)
            run.credit_notes_seen += len(found)
            last = run.page_done(received=len(found), page_size=PAGE_SIZE, paging=paging)
            run.save()
        if last:
            return run


def _ids_in(invoices: list[object]) -> tuple[set[str], set[str]]:
    """(the invoice ids, the contact ids) a page names."""
    invoice_ids, contact_ids = set(), set()
    for raw in invoices:
        if isinstance(raw, dict):
            invoice_ids.add(normalise.text(raw.get("InvoiceID"))[:64])
            contact = raw.get("Contact")
            if isinstance(contact, dict):
                contact_ids.add(normalise.text(contact.get("ContactID"))[:64])
    return invoice_ids - {""}, contact_ids - {""}


def _unknown_contacts(connection: XeroConnection, contact_ids: set[str]) -> set[str]:
    known = XeroContact.objects.filter(
        connection=connection, xero_contact_id__in=contact_ids
    ).values_list("xero_contact_id", flat=True)
    return contact_ids - set(known)


def _count(run: PastInvoiceImport, invoices: list[object]) -> None:
    """The preview: what the run would bring in, its total, the contacts it needs."""
    invoice_ids, contact_ids = _ids_in(invoices)
    already = set(
        InvoiceSync.objects.filter(
            connection=run.connection, xero_invoice_id__in=invoice_ids
        ).values_list("xero_invoice_id", flat=True)
    )
    missing = _unknown_contacts(run.connection, contact_ids)
    listed = {entry["id"] for entry in run.contacts_needed}
    totals = {currency: Decimal(amount) for currency, amount in run.totals.items()}
    for raw in invoices:
        if not isinstance(raw, dict):
            continue
        status = normalise.text(raw.get("Status"))
        if normalise.text(raw.get("InvoiceID")) in already:
            run.already_in += 1
        elif status not in BROUGHT_IN:
            run.skipped += 1
        else:
            run.brought_in += 1  # to be brought in
            if status != "VOIDED":
                currency = normalise.text(raw.get("CurrencyCode"), 3) or "?"
                try:
                    total = normalise.decimal(raw.get("Total"), max_digits=14, places=2)
                except normalise.Unstorable:
                    total = Decimal(0)
                totals[currency] = totals.get(currency, Decimal(0)) + total
        contact = raw.get("Contact")
        contact_id = normalise.text(contact.get("ContactID")) if isinstance(contact, dict) else ""
        if contact_id in missing and contact_id not in listed:
            listed.add(contact_id)
            name = normalise.text(contact.get("Name"), 255) if isinstance(contact, dict) else ""
            run.contacts_needed.append({"id": contact_id, "name": name})
    run.contacts_needed_count = len(run.contacts_needed)
    run.totals = {currency: str(amount) for currency, amount in sorted(totals.items())}


def _apply(run: PastInvoiceImport, client: XeroClient, invoices: list[object]) -> None:
    connection = run.connection
    invoice_ids, contact_ids = _ids_in(invoices)
    missing = sorted(_unknown_contacts(connection, contact_ids))
    if missing:  # a call per hundred of the page's new contacts, not one per invoice
        the_filter = contact_filter(client, connection)
        for start in range(0, len(missing), CONTACT_IDS_PER_CALL):
            found = client.contacts_by_ids(missing[start : start + CONTACT_IDS_PER_CALL])
            activity_if_moved(
                connection, page_apply(connection, found, the_filter, source="import")
            )
    before = set(
        InvoiceSync.objects.filter(
            connection=connection, xero_invoice_id__in=invoice_ids
        ).values_list("xero_invoice_id", flat=True)
    )
    applied = invoices_apply(connection, invoices, source="past invoices")
    run.brought_in += applied.brought_in
    run.held += applied.held
    run.already_in += len(before)
    run.skipped += max(0, len(invoices) - len(before) - applied.brought_in - applied.held)


def _count_credit_notes(run: PastInvoiceImport, found: list[object]) -> None:
    """The preview: how many credit notes the run would bring in, and their total."""
    ids = {normalise.text(r.get("CreditNoteID"))[:64] for r in found if isinstance(r, dict)}
    already = set(
        CreditNoteSync.objects.filter(
            invoice_sync__connection=run.connection, xero_credit_note_id__in=ids
        ).values_list("xero_credit_note_id", flat=True)
    )
    totals = {currency: Decimal(amount) for currency, amount in run.credit_notes_totals.items()}
    for raw in found:
        if not isinstance(raw, dict):
            run.credit_notes_held += 1
            continue
        status = normalise.text(raw.get("Status"))
        allocations = [
            a
            for a in raw.get("Allocations") or []
            if isinstance(a, dict) and a.get("IsDeleted") is not True
        ]
        if normalise.text(raw.get("CreditNoteID")) in already:
            run.credit_notes_already_in += 1
        elif status not in credit_notes.BROUGHT_IN:
            run.credit_notes_skipped += 1
        elif not allocations:
            run.credit_notes_held += 1  # set against no invoice: held, with that reason
        else:
            run.credit_notes_brought_in += 1
            currency = normalise.text(raw.get("CurrencyCode"), 3) or "?"
            try:
                total = normalise.decimal(raw.get("Total"), max_digits=14, places=2)
            except normalise.Unstorable:
                total = Decimal(0)
            totals[currency] = totals.get(currency, Decimal(0)) + total
    run.credit_notes_totals = {c: str(amount) for c, amount in sorted(totals.items())}


def _apply_credit_notes(run: PastInvoiceImport, client: XeroClient, found: list[object]) -> None:
    applied = credit_notes.credit_notes_apply(
        run.connection, found, source="past invoices", client=client
    )
    run.credit_notes_brought_in += applied.brought_in
    run.credit_notes_held += applied.held
    run.credit_notes_already_in += applied.already_in + applied.ours + applied.settled
    run.credit_notes_skipped += applied.skipped + applied.withdrawn


def past_import_failed(run_id: int, reason: str) -> None:
    PastInvoiceImport.objects.filter(pk=run_id).update(
        status=ImportStatus.FAILED, error=reason, finished_at=timezone.now()
    )


def past_imports_sweep() -> int:
    """Beat: re-queue every run under way that has neither moved nor been due for a while
    and whose lock nobody holds (its task was lost); it resumes at its checkpoint."""
    stalled = runs_stalled(PastInvoiceImport.objects.all(), _lock)
    for run_id in stalled:
        log.warning("past invoice import stalled; queued again", extra={"import_id": run_id})
        PastInvoiceImport.objects.filter(pk=run_id).update(next_attempt_at=timezone.now())
        enqueue_on_commit(TASK, run_id)
    return len(stalled)
