"""Credit notes: the invoices' line and tax arithmetic, their numbering and status rules, and
allocations to invoices (PUT /CreditNotes/{id}/Allocations, DELETE …/Allocations/{id}) with
the rules Xero applies. Refunds (payments against a credit note) are in payments.py.

Xero's words for each refusal, and which of them are verified, are listed in the README."""

from decimal import Decimal
from typing import Any

from ..currency_table import VALID as CURRENCY_CODES
from ..currency_table import decimals
from ..money import has_more_places, round2, to_decimal, totals
from ..msdates import iso_date, iso_utc_string, ms_date, parse_date
from ..store import Tenant, new_id, touch
from ..where import WhereError
from ..wire import Response, json_response
from . import rules
from .call import Call, ms_of
from .contacts import find_contact
from .envelope import bad_where, csv, envelope, not_found, paging, validation_exception
from .invoices import (
    ALLOCATED,
    AMOUNT_TYPES,
    BAD_STATUS,
    STATUSES,
    _lines,
    _strip_nulls,
    _touched,
    contact_summary,
    document_rate,
    header_errors,
    lock_errors,
    safe_echo,
    view_lines,
)

# A credit note's type and the invoice type it may be allocated to.
TYPES = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}
READ_ONLY = {
    "SubTotal",
    "TotalTax",
    "Total",
    "RemainingCredit",
    "Allocations",
    "AppliedAmount",
    "Payments",
    "FullyPaidOnDate",
    "UpdatedDateUTC",
    "UpdatedDateUTCString",
    "CISDeduction",
    "CISRate",
    "SentToContact",
    "HasAttachments",
    "HasErrors",
    "ValidationErrors",
    "Warnings",
    "StatusAttributeString",
    "DateString",
    "DueDateString",
    "ID",
    "Attachments",
}

# Xero's words. Sources in the README ("Refusals and their sources").
NOT_FOUND = "An existing Credit Note with the specified CreditNoteID could not be found"
NOT_UNIQUE = "Credit Note # must be unique."
OVER_DUE = "Credit Note cannot be allocated as amount is greater than amount outstanding"
PAID_OFF = "The invoice you are trying to allocate to has already been paid off"
WRONG_TYPE = "Credit Note cannot be allocated to an incorrect invoice type"
OVER_CREDIT = "Credit Note cannot be allocated as amount is greater than the remaining credit"
OTHER_CURRENCY = "Credit Note cannot be allocated to an invoice in a different currency"
OTHER_CONTACT = "Credit Note cannot be allocated to an invoice for a different contact"
NOT_APPROVED = "Credit Note must be approved before it can be allocated"
INVOICE_NOT_APPROVED = "Credit Note can only be allocated to an approved invoice"
NO_INVOICE = "Invoice could not be found."
NO_AMOUNT = "Allocation amount must be greater than zero."


def find_credit_note(tenant: Tenant, ref: dict[str, Any]) -> dict[str, Any] | None:
    """By CreditNoteID, else by (ACCRECCREDIT) CreditNoteNumber."""
    if ref.get("CreditNoteID"):
        return tenant.credit_notes.get(str(ref["CreditNoteID"]).lower())
    number = str(ref.get("CreditNoteNumber") or "").strip().lower()
    found = tenant.credit_note_numbers.get(number) if number else None
    return tenant.credit_notes.get(found) if found else None


def used(credit_note: dict[str, Any]) -> bool:
    """Allocated or refunded: Xero then refuses edits and voids."""
    return bool(credit_note.get("Allocations") or credit_note.get("Payments"))


def event_data(credit_note: dict[str, Any]) -> dict[str, Any]:
    """What Xero's CREDITNOTE webhook events carry (webhooks spec, CreditNoteWebhookEvent)."""
    return {"Type": credit_note["Type"], "Status": credit_note["Status"]}


def _status_errors(
    existing: dict[str, Any] | None, target: str, touched: set[str], behaviour
) -> list[str]:
    if existing is None:
        return [] if target in ("DRAFT", "SUBMITTED", "AUTHORISED") else [BAD_STATUS]
    current = existing["Status"]
    if not touched:
        return []
    if current in ("VOIDED", "DELETED"):
        return [BAD_STATUS]
    if used(existing) or current == "PAID":
        return [ALLOCATED]  # also a void: allocations and refunds must be removed first
    if current in ("DRAFT", "SUBMITTED"):
        return [] if target in ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED") else [BAD_STATUS]
    if target == "VOIDED":
        return []
    if target != "AUTHORISED" or not behaviour.edit_authorised_invoices:
        return [BAD_STATUS]
    return []


def _number_errors(tenant: Tenant, kind: str, number: str, credit_note_id) -> list[str]:
    errors = []
    if kind == "ACCRECCREDIT" and number:
        holder = tenant.credit_note_numbers.get(number.lower())
        if holder and holder != credit_note_id:
            errors.append(NOT_UNIQUE)
    if len(number) > 255:
        errors.append("Credit Note number must be 255 characters or less.")
    return errors


def save_credit_note(
    call: Call, sent: dict[str, Any], existing: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str], list[Any]]:
    """Validate and store one credit note. Returns (credit note, errors, events)."""
    tenant = call.tenant
    incoming = {k: v for k, v in _strip_nulls(sent).items() if k not in READ_ONLY}
    # The id names the credit note (in any case); it is never a change to it.
    changes = {k: v for k, v in incoming.items() if k != "CreditNoteID"}
    touched = _touched(existing, changes) if existing else set(incoming)
    merged = dict(existing or {})
    merged.update({k: v for k, v in incoming.items() if k != "LineItems"})
    errors = []
    kind = merged.get("Type")
    if kind not in TYPES:
        errors.append(
            "Credit Note Type must be ACCRECCREDIT or ACCPAYCREDIT."
            if kind
            else "Credit Note Type must be specified."
        )
    if existing and kind != existing["Type"]:
        errors.append("The credit note Type cannot be changed.")
    target = merged.get("Status") or "DRAFT"
    merged["Status"] = target
    if target not in STATUSES:
        errors.append(f"Credit note status '{target}' is not valid.")
    errors += _status_errors(existing, target, touched, call.behaviour)
    if errors and existing:
        return None, errors, []
    amount_types = merged.setdefault("LineAmountTypes", "Exclusive")
    if amount_types not in AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid.")
        amount_types = "Exclusive"
    contact_ref = merged.get("Contact")
    contact = find_contact(tenant, contact_ref) if isinstance(contact_ref, dict) else None
    if contact is None:
        errors.append(
            "The contact could not be found."
            if contact_ref
            else "A Contact must be specified for this type of transaction."
        )
    if "Date" in merged and parse_date(merged["Date"]) is None:
        errors.append("Date is not a valid date.")
    day = parse_date(merged.get("Date")) or call.now.date()
    due = parse_date(merged.get("DueDate"))
    currency, more = header_errors(call, merged, day, due)
    errors += more
    number = str(merged.get("CreditNoteNumber") or "").strip()
    errors += _number_errors(tenant, kind, number, merged.get("CreditNoteID"))
    old_lines = (existing or {}).get("LineItems", [])
    lines = old_lines
    if "LineItems" in incoming:
        lines, line_errors = _lines(
            tenant,
            incoming["LineItems"] or [],
            TYPES.get(kind, "ACCREC"),
            amount_types,
            call.unitdp(),
            old_lines,
            target in ("SUBMITTED", "AUTHORISED"),
            currency=currency if currency in CURRENCY_CODES else None,
            behaviour=call.behaviour,
        )
        errors += line_errors
    if not lines and target != "DELETED":
        errors.append("At least one line item must be specified.")
    # Lock dates as for invoices; a plan's cap counts invoices only (UNVERIFIED for credit notes).
    errors += lock_errors(tenant, existing, target, day)
    rate = None
    if not errors:
        rate, rate_errors = document_rate(tenant, merged, existing, currency, day, incoming)
        errors += rate_errors
    if errors:
        return None, errors, []
    if kind == "ACCRECCREDIT" and not number:
        number = existing.get("CreditNoteNumber", "") if existing else ""
        number = number or tenant.allocate_credit_note_number()
    sub_total, total_tax, total = totals(lines, amount_types)
    merged.update(
        CreditNoteID=(existing or {}).get("CreditNoteID") or new_id(),
        CreditNoteNumber=number,
        Contact={"ContactID": contact["ContactID"]},
        Date=ms_date(day),
        LineItems=lines,
        SubTotal=sub_total,
        TotalTax=total_tax,
        Total=total,
        RemainingCredit=total if target not in ("VOIDED", "DELETED") else Decimal("0.00"),
        CurrencyCode=currency,
        CurrencyRate=rate,
        HasAttachments=False,
    )
    merged.setdefault("Allocations", [])
    merged.setdefault("Payments", [])
    if due is not None:
        merged["DueDate"] = ms_date(due)
    _index_number(tenant, existing, merged)
    touch(merged, call.now)
    tenant.credit_notes[merged["CreditNoteID"]] = merged
    event = ("CREDITNOTE", "UPDATE" if existing else "CREATE", merged["CreditNoteID"])
    return merged, [], [(*event, event_data(merged))]


def _index_number(tenant: Tenant, existing: dict[str, Any] | None, saved: dict[str, Any]) -> None:
    if saved["Type"] != "ACCRECCREDIT":
        return
    old = (existing or {}).get("CreditNoteNumber", "").lower()
    if old and tenant.credit_note_numbers.get(old) == saved["CreditNoteID"]:
        del tenant.credit_note_numbers[old]
    tenant.credit_note_numbers[saved["CreditNoteNumber"].lower()] = saved["CreditNoteID"]


def credit_note_view(
    tenant: Tenant, credit_note: dict[str, Any], unitdp: int = 2, lines=True
) -> dict[str, Any]:
    view = {k: v for k, v in credit_note.items() if k != "LineItems"}
    view["Contact"] = contact_summary(tenant, credit_note["Contact"]["ContactID"])
    view["ID"] = credit_note["CreditNoteID"]  # Xero's examples carry both
    view["DateString"] = iso_date(parse_date(credit_note["Date"]))
    if credit_note.get("DueDate"):
        view["DueDateString"] = iso_date(parse_date(credit_note["DueDate"]))
    if credit_note.get("UpdatedDateUTC"):
        view["UpdatedDateUTCString"] = iso_utc_string(credit_note["UpdatedDateUTC"])
    if lines:
        view["LineItems"] = view_lines(credit_note["LineItems"], unitdp)
    view["HasErrors"] = False
    return view


def _error_element(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    """The element as sent, with its errors; bad enum values dropped so the SDK can read it."""
    echo = safe_echo(element, TYPES)
    echo.update(
        HasErrors=True,
        StatusAttributeString="ERROR",
        ValidationErrors=[{"Message": m} for m in messages],
    )
    return echo


def _answer(call: Call, plural: str, results: list[dict[str, Any]], failed: bool):
    if failed and call.summarize_errors():
        # As with invoices, Xero keeps the valid elements and says so only for the others.
        return validation_exception(
            [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        )
    return envelope(call.now, plural, results)


# handlers: credit notes --------------------------------------------------------------
def write_credit_notes(call: Call) -> Response:
    """PUT creates; POST creates or updates (by CreditNoteID); POST /CreditNotes/{id} updates."""
    sent = call.elements_sent("CreditNotes", "CreditNoteID", call.tenant.credit_notes)
    if sent is None:
        return not_found()
    results, failed, events = [], False, []
    for element in sent:
        existing, errors = None, []
        if element.get("CreditNoteID"):
            existing = call.tenant.credit_notes.get(str(element["CreditNoteID"]).lower())
            if existing is None:
                errors = [NOT_FOUND]
            elif call.request.method == "PUT":
                errors = ["Credit notes cannot be updated with PUT; use POST."]
        elif call.request.method == "POST" and call.behaviour.post_matches_invoice_number:
            existing = find_credit_note(call.tenant, element)
        if not errors:
            saved, errors, new_events = save_credit_note(call, element, existing)
            events += new_events
        if errors:
            failed = True
            results.append(_error_element(element, errors))
            continue
        view = credit_note_view(call.tenant, saved, call.unitdp())
        view["StatusAttributeString"] = "OK"
        results.append(view)
    for event in events:
        call.emit(*event)
    return _answer(call, "CreditNotes", results, failed)


def credit_note_ids_refused(call: Call) -> Response:
    """GET /CreditNotes has no IDs filter in Xero's spec (nor in the SDK): by default a client
    relying on one is told so loudly rather than served every credit note (README)."""
    if call.request.arg("IDs") is None or call.behaviour.credit_note_ids == "filter":
        return None
    return validation_exception(
        [
            {
                "ValidationErrors": [
                    {
                        "Message": "IDs is not a filter of GET /CreditNotes in Xero's spec; "
                        'use where=CreditNoteID==Guid("...") or GET /CreditNotes/{id}'
                    }
                ]
            }
        ]
    )


def list_credit_notes(call: Call) -> Response:
    tenant, request = call.tenant, call.request
    refused = credit_note_ids_refused(call)
    if refused is not None:
        return refused
    rows = list(tenant.credit_notes.values())
    ids = {i.lower() for i in csv(request.arg("IDs"))}
    if ids:
        rows = [r for r in rows if r["CreditNoteID"] in ids]
    since = call.modified_since_ms()
    if since is not None:
        rows = [r for r in rows if ms_of(r.get("UpdatedDateUTC")) > since]
    rows = call.filtered(rows)
    if isinstance(rows, WhereError):
        return bad_where(rows)
    paged = paging(request, len(rows), call.behaviour.unpaged_lists)
    if not isinstance(paged, tuple):
        return paged
    offset, limit, pagination = paged
    # As for invoices: line items come with paging (spec: "page=1 – … with line items").
    with_lines = request.arg("page") is not None or bool(ids)
    page = rows[offset : offset + limit]
    views = [credit_note_view(tenant, r, call.unitdp(), with_lines) for r in page]
    return envelope(call.now, "CreditNotes", views, pagination)


def get_credit_note(call: Call) -> Response:
    key = call.request.params["id"]
    credit_note = find_credit_note(call.tenant, {"CreditNoteID": key}) or find_credit_note(
        call.tenant, {"CreditNoteNumber": key}
    )
    if credit_note is None:
        return not_found()
    view = credit_note_view(call.tenant, credit_note, call.unitdp())
    return envelope(call.now, "CreditNotes", [view])


# allocations ---------------------------------------------------------------------------
def _find_invoice(tenant: Tenant, ref) -> dict[str, Any] | None:
    if not isinstance(ref, dict):
        return None
    if ref.get("InvoiceID"):
        return tenant.invoices.get(str(ref["InvoiceID"]).lower())
    number = str(ref.get("InvoiceNumber") or "").strip().lower()
    found = tenant.invoice_numbers.get(number) if number else None
    return tenant.invoices.get(found) if found else None


def allocation_errors(
    credit_note: dict[str, Any], invoice: dict[str, Any] | None, amount
) -> list[str]:
    errors = []
    if credit_note["Status"] not in ("AUTHORISED", "PAID"):
        errors.append(NOT_APPROVED)
    if invoice is None:
        errors.append(NO_INVOICE)
    else:
        if invoice["Type"] != TYPES[credit_note["Type"]]:
            errors.append(WRONG_TYPE)
        if invoice["Status"] == "PAID":
            errors.append(PAID_OFF)
        elif invoice["Status"] != "AUTHORISED":
            errors.append(INVOICE_NOT_APPROVED)
        if invoice["Contact"]["ContactID"] != credit_note["Contact"]["ContactID"]:
            errors.append(OTHER_CONTACT)
        if invoice.get("CurrencyCode") != credit_note.get("CurrencyCode"):
            errors.append(OTHER_CURRENCY)
    if amount is None or amount <= 0:
        errors.append(NO_AMOUNT)
        return errors
    currency = credit_note["CurrencyCode"]
    if has_more_places(amount, decimals(currency)):
        # As for payments: money finer than the currency is refused, never rounded.
        return errors + [rules.too_many_places("Allocation amount", amount, currency)]
    if invoice is not None and amount > invoice["AmountDue"]:
        errors.append(OVER_DUE)
    if amount > credit_note["RemainingCredit"]:
        errors.append(OVER_CREDIT)
    return errors


def allocate(
    now, tenant: Tenant, credit_note: dict[str, Any], sent: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str], dict[str, Any] | None]:
    """Allocate part of a credit note to an invoice: (allocation, errors, invoice). Usable by
    the API, the control API and the HTML view."""
    invoice = _find_invoice(tenant, sent.get("Invoice"))
    amount = to_decimal(sent.get("Amount"))
    errors = allocation_errors(credit_note, invoice, amount)
    day = parse_date(sent.get("Date")) if sent.get("Date") else now.date()
    if day is None:
        errors.append("Date is not a valid date.")
    else:
        # An allocation is dated like a payment, and locked like one (UNVERIFIED for allocations).
        errors += rules.date_messages("Date", day) + rules.lock_messages(tenant, day)
    if errors:
        return None, errors, None
    amount = round2(amount)
    allocation = {
        "AllocationID": new_id(),
        "Amount": amount,
        "Date": ms_date(day),
        "Invoice": _invoice_ref(invoice),
    }
    credit_note["Allocations"] = credit_note["Allocations"] + [allocation]
    credit_note["RemainingCredit"] = round2(credit_note["RemainingCredit"] - amount)
    invoice["AmountCredited"] = round2(invoice.get("AmountCredited", Decimal(0)) + amount)
    invoice["AmountDue"] = round2(invoice["AmountDue"] - amount)
    invoice["CreditNotes"] = invoice.get("CreditNotes", []) + [
        _applied(credit_note, amount, allocation["Date"])
    ]
    for document, left in ((credit_note, "RemainingCredit"), (invoice, "AmountDue")):
        if document[left] == 0:
            document["Status"] = "PAID"
            document["FullyPaidOnDate"] = allocation["Date"]
        touch(document, now)
    return allocation, [], invoice


def _invoice_ref(invoice: dict[str, Any]) -> dict[str, Any]:
    ref = {"InvoiceID": invoice["InvoiceID"]}
    if invoice.get("InvoiceNumber"):
        ref["InvoiceNumber"] = invoice["InvoiceNumber"]
    return ref


def _applied(credit_note: dict[str, Any], amount: Decimal, day: str) -> dict[str, Any]:
    """The credit note as an invoice lists it (Invoice.CreditNotes)."""
    return {
        "CreditNoteID": credit_note["CreditNoteID"],
        "CreditNoteNumber": credit_note.get("CreditNoteNumber", ""),
        "ID": credit_note["CreditNoteID"],
        "AppliedAmount": amount,
        "Date": day,
        "DateString": iso_date(parse_date(day)),
        "Total": credit_note["Total"],
        "LineItems": [],
    }


def removal_errors(tenant: Tenant, allocation: dict[str, Any]) -> list[str]:
    """An allocation dated on or before a lock date stays, as a payment there does."""
    return rules.lock_messages(tenant, parse_date(allocation["Date"]))


def remove_allocation(
    now, tenant: Tenant, credit_note: dict[str, Any], allocation: dict[str, Any]
) -> dict[str, Any]:
    """Undo one allocation; returns the invoice it credited."""
    amount = allocation["Amount"]
    credit_note["Allocations"] = [
        a for a in credit_note["Allocations"] if a["AllocationID"] != allocation["AllocationID"]
    ]
    credit_note["RemainingCredit"] = round2(credit_note["RemainingCredit"] + amount)
    invoice = tenant.invoices[allocation["Invoice"]["InvoiceID"]]
    invoice["AmountCredited"] = round2(invoice["AmountCredited"] - amount)
    invoice["AmountDue"] = round2(invoice["AmountDue"] + amount)
    applied = _applied(credit_note, amount, allocation["Date"])
    entries = list(invoice["CreditNotes"])
    if applied in entries:  # equal entries are interchangeable: remove one of them
        entries.remove(applied)
    invoice["CreditNotes"] = entries
    for document in (credit_note, invoice):
        if document["Status"] == "PAID":
            document["Status"] = "AUTHORISED"
            document.pop("FullyPaidOnDate", None)
        touch(document, now)
    return invoice


def allocation_view(credit_note: dict[str, Any], allocation: dict[str, Any]) -> dict[str, Any]:
    view = dict(allocation)
    view["CreditNote"] = {
        "CreditNoteID": credit_note["CreditNoteID"],
        "CreditNoteNumber": credit_note.get("CreditNoteNumber", ""),
    }
    return view


def allocation_events(
    credit_note: dict[str, Any], invoice: dict[str, Any], behaviour
) -> list[tuple[Any, ...]]:
    """A credit note's allocation changes it and the invoice it credits."""
    events = [("CREDITNOTE", "UPDATE", credit_note["CreditNoteID"], event_data(credit_note))]
    if behaviour.webhook_on_payment:
        events.append(("INVOICE", "UPDATE", invoice["InvoiceID"]))
    return events


# handlers: allocations -----------------------------------------------------------------
def create_allocations(call: Call) -> Response:
    credit_note = call.tenant.credit_notes.get(call.request.params["id"].lower())
    if credit_note is None:
        return not_found()
    body = call.request.json or {}
    sent = body.get("Allocations", [body] if "Invoice" in body else [])
    results, failed, events = [], False, []
    for element in sent:
        allocation, errors, invoice = allocate(call.now, call.tenant, credit_note, element)
        if errors:
            failed = True
            echo = _strip_nulls(element)
            echo.update(
                StatusAttributeString="ERROR", ValidationErrors=[{"Message": m} for m in errors]
            )
            results.append(echo)
            continue
        events += allocation_events(credit_note, invoice, call.behaviour)
        results.append(dict(allocation_view(credit_note, allocation), StatusAttributeString="OK"))
    for event in events:
        call.emit(*event)
    return _answer(call, "Allocations", results, failed)


def delete_allocation(call: Call) -> Response:
    credit_note = call.tenant.credit_notes.get(call.request.params["id"].lower())
    allocation_id = call.request.params["allocation_id"].lower()
    allocations = (credit_note or {}).get("Allocations", [])
    allocation = next((a for a in allocations if a["AllocationID"] == allocation_id), None)
    if allocation is None:
        return not_found()
    locked = removal_errors(call.tenant, allocation)
    if locked:
        return validation_exception([{"ValidationErrors": [{"Message": m} for m in locked]}])
    invoice = remove_allocation(call.now, call.tenant, credit_note, allocation)
    for event in allocation_events(credit_note, invoice, call.behaviour):
        call.emit(*event)
    # The spec answers one Allocation, unwrapped, flagged IsDeleted (README: its example differs).
    return json_response(dict(allocation_view(credit_note, allocation), IsDeleted=True))
