"""One POST /Invoices?summarizeErrors=false for a batch (creates and in-place updates, existing
lines with their LineItemID), each element's answer handled on its own. A row whose invoice Xero
already holds unchanged costs nothing."""

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.db.models import QuerySet

from invoices.history import invoice_event_record
from invoices.models import EventSource, InvoiceStatus, TaxMode

from ..client import XeroClient, element_messages
from ..client.errors import BadAnswer, RateLimited, XeroError
from ..client.invoices import invoice_fingerprint, invoices_request_digest
from ..inbound import normalise
from ..models import XeroConnection
from ..organisation.invoice_options import invoice_chosen, line_tracking
from ..organisation.models import OrganisationSettings
from ..webhooks.own_writes import own_writes_remember
from .keys import digest
from .mapping import (
    InvoiceFacts,
    LineFacts,
    currency_rate_from_xero,
    invoice_body,
    invoice_from_xero,
)
from .models import InvoiceSync, XeroInvoiceNumber
from .refusals import RowFailed, is_definite, locked_failure, refusal, xero_cannot_edit
from .rows import Row, spare_others

log = logging.getLogger(__name__)


def line_facts(
    lines: QuerySet[Any], tax_mode: str, item_codes: Mapping[int, str] | None = None
) -> tuple[LineFacts, ...]:
    """An invoice's (or credit note's) lines with the Xero tax types their rates map to; a
    line from a product carries its item's code (`item_codes`: product id -> ItemCode, the
    products linked to Xero items) and the product's sales account, when it has one."""
    taxed = tax_mode != TaxMode.NO_TAX
    facts = []
    for line in lines.select_related("tax_rate__xero_mapping"):
        product = getattr(line, "product", None)  # credit note lines have none
        facts.append(
            LineFacts(
                line_id=line.pk,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_rate=line.discount_rate,
                # Read only when taxed: an untaxed invoice's rates need no mapping.
                xero_tax_type=(
                    line.tax_rate.xero_mapping.xero_tax_type
                    if taxed and line.tax_rate is not None
                    else None
                ),
                item_code=(item_codes or {}).get(product.pk, "") if product else "",
                account_code=product.sales_account_code if product else "",
            )
        )
    return tuple(facts)


def invoice_facts(
    sync: InvoiceSync,
    contact_id: str,
    stored: OrganisationSettings | None,
    item_codes: Mapping[int, str] | None = None,
) -> InvoiceFacts:
    """What the invoice's body for Xero is made of, read from the database; `stored` is the
    organisation's settings as last read (the tracking's names), `item_codes` the Xero item
    codes of the products on its lines."""
    invoice = sync.invoice
    chosen = invoice_chosen(invoice, stored)
    lines = tuple(
        replace(line, tracking=line_tracking(stored, chosen.lines.get(line.line_id, ([], ""))[0]))
        for line in line_facts(
            invoice.lines.select_related("product"), invoice.tax_mode, item_codes
        )
    )
    return InvoiceFacts(
        status=invoice.status,
        number=invoice.number,
        name=invoice.name,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        tax_mode=invoice.tax_mode,
        lines=lines,
        sales_account_code=sync.connection.sales_account_code,
        contact_id=contact_id,
        xero_invoice_id=sync.xero_invoice_id,
        xero_status=sync.xero_status,
        xero_line_ids=dict(sync.xero_line_ids),
        branding_theme_id=chosen.branding_theme_id,
    )


def invoices_write(
    client: XeroClient, connection: XeroConnection, rows: list[Row], links: dict[int, str]
) -> None:
    """One POST /Invoices for every row whose invoice Xero does not already hold as it is."""
    to_send = []
    for row in rows:
        if not row.live:
            continue
        sync = row.sync
        if not sync.xero_invoice_id and sync.invoice.status == InvoiceStatus.VOID:
            continue  # never reached Xero: nothing to void
        try:
            contact_id = sync.invoice.contact_id
            assert contact_id is not None  # the pre-flight refuses an invoice without one
            row.body = invoice_body(
                invoice_facts(sync, links[contact_id], row.organisation, row.item_codes)
            )
            row.fingerprint = invoice_fingerprint(row.body)
        except (ValueError, TypeError) as bug:
            log.exception("invoice not prepared for Xero", extra={"invoice_id": sync.invoice_id})
            row.failed = RowFailed("internal", f"Could not prepare the invoice for Xero ({bug}).")
            continue
        if sync.xero_invoice_id and row.fingerprint == sync.pushed_fingerprint:
            continue  # Xero already holds exactly this
        if sync.xero_invoice_id and xero_cannot_edit(sync) and row.body.status != "VOIDED":
            row.failed = locked_failure(sync)
            continue
        to_send.append(row)
    if not to_send:
        return
    creating = [r.sync.pk for r in to_send if not r.sync.xero_invoice_id]
    # Until Xero's answer is in hand, a create may or may not have happened.
    InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=True)
    bodies = [r.body for r in to_send if r.body is not None]
    # One key per request: the same body for the same versions is the same request (a retry
    # after a lost answer), and anything else (a fix, a person's Retry) is a new one.
    versions = (f"{r.sync.invoice_id}v{r.version}r{r.sync.retries}" for r in to_send)
    key = "crm-invoices-" + digest([invoices_request_digest(bodies), *versions])
    try:
        answers = client.invoices_save(bodies, idempotency_key=key)
    except RateLimited:
        # Not sent (our limiter said wait) or refused whole (a 429): nothing was created, so
        # the next round need not spend a call looking these up.
        InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=False)
        raise
    except XeroError as refused:
        if not is_definite(refused):
            spare_others(rows, to_send)  # rows with no invoice to send: not their failure
            raise
        InvoiceSync.objects.filter(pk__in=creating).update(outcome_unknown=False)
        invoices_refused_whole(to_send, refused)
        return
    if len(answers) != len(to_send):
        raise BadAnswer(
            "Xero's answer does not hold one invoice per invoice sent.", outcome_unknown=True
        )
    for row, answer in zip(to_send, answers, strict=True):
        invoice_answer(row, answer)
    # Each invoice written comes back as a webhook event: known as ours when it does.
    own_writes_remember(
        connection.pk,
        "INVOICE",
        [
            (row.sync.xero_invoice_id, answer.get("UpdatedDateUTC"), row.sync.pk in creating)
            for row, answer in zip(to_send, answers, strict=True)
            if row.failed is None and isinstance(answer, dict)
        ],
    )


def invoices_refused_whole(rows: list[Row], refused: XeroError) -> None:
    """The whole request was refused (nothing created). When Xero names the elements at fault,
    only their rows fail and the rest go again in the next round; otherwise all fail."""
    elements = getattr(refused, "elements", [])
    per_element = len(elements) == len(rows) and any(element_messages(e) for e in elements)
    for row, element in zip(rows, elements if per_element else [None] * len(rows), strict=True):
        row.sync.outcome_unknown = False
        messages = element_messages(element) if per_element else [refused.message]
        if messages:
            row.failed = refusal(row.sync, messages)
        else:
            row.deferred = True  # not at fault: sent again with the next batch


def invoice_answer(row: Row, answer: object) -> None:
    sync = row.sync
    messages = element_messages(answer)
    if not isinstance(answer, dict) or messages or normalise.flag(answer.get("HasErrors")):
        sync.outcome_unknown = False
        sync.save(update_fields=["outcome_unknown"])
        row.failed = refusal(sync, messages)
        return
    xero_id = normalise.text(answer.get("InvoiceID"))[:64]
    if not xero_id:
        # Neither refused nor given an id: Xero may hold it; the next round looks it up.
        raise BadAnswer(
            "Xero's answer names no InvoiceID for an invoice sent.", outcome_unknown=True
        )
    sync.outcome_unknown = False
    created = not sync.xero_invoice_id
    row.moved = True
    sync.xero_invoice_id = xero_id
    sync.xero_status = normalise.text(answer.get("Status"), 20)
    sync.xero_currency_rate = currency_rate_from_xero(answer) or sync.xero_currency_rate
    invoice_event_record(
        sync.invoice,
        ("Created in Xero as " if created else "Updated in Xero: ") + sync.xero_status,
        source=EventSource.SYNC,
    )
    line_item_ids = invoice_from_xero(answer).line_item_ids
    if line_item_ids:
        lines = list(sync.invoice.lines.order_by("position", "id").values_list("pk", flat=True))
        sync.xero_line_ids = {
            str(pk): item_id for pk, item_id in zip(lines, line_item_ids, strict=False) if item_id
        }
    # The next round builds this invoice with Xero's ids in it (InvoiceID, LineItemIDs):
    # remember that form, or an unchanged invoice looks changed after an interrupted batch
    # and, once its payment is in Xero, is refused as locked.
    contact_id = row.body.contact_id if row.body is not None else ""
    facts = invoice_facts(sync, contact_id, row.organisation, row.item_codes)
    sync.pushed_fingerprint = invoice_fingerprint(invoice_body(facts))
    sync.save(
        update_fields=[
            "xero_invoice_id",
            "xero_status",
            "xero_line_ids",
            "outcome_unknown",
            "pushed_fingerprint",
            "xero_currency_rate",
        ]
    )
    XeroInvoiceNumber.objects.update_or_create(
        connection=sync.connection,
        number=sync.invoice.number.lower(),
        defaults={"xero_invoice_id": sync.xero_invoice_id, "status": sync.xero_status},
    )
