"""Invoices: Xero's validation, tax arithmetic and status rules, batch writes with and without
summarizeErrors, and the list filters."""

from decimal import Decimal
from typing import Any

from ..config import Behaviour
from ..currency_table import VALID as CURRENCY_CODES
from ..currency_table import decimals
from ..money import line_amount, line_tax, round2, round_dp, to_decimal, totals
from ..msdates import iso_date, iso_utc_string, ms_date, parse_date
from ..store import Tenant, new_id, touch
from ..where import WhereError, compile_where, sort
from ..wire import Response
from . import rules
from .call import Call, ms_of
from .contacts import find_contact, save_contact
from .envelope import csv, envelope, not_found, paging, validation_exception
from .rules import bad_account, bad_tax_type
from .tracking import line_tracking

TYPES = {"ACCREC", "ACCPAY"}
STATUSES = {"DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"}
AMOUNT_TYPES = {"Exclusive", "Inclusive", "NoTax"}
READ_ONLY = {
    "SubTotal",
    "TotalTax",
    "Total",
    "TotalDiscount",
    "AmountDue",
    "AmountPaid",
    "AmountCredited",
    "FullyPaidOnDate",
    "Payments",
    "Prepayments",
    "Overpayments",
    "CreditNotes",
    "UpdatedDateUTC",
    "UpdatedDateUTCString",
    "HasAttachments",
    "HasErrors",
    "IsDiscounted",
    "ValidationErrors",
    "Warnings",
    "StatusAttributeString",
    "CISDeduction",
    "CISRate",
    "DateString",
    "DueDateString",
    "Attachments",
}
# Fields Xero lets you change on an invoice that already has a payment.
HARMLESS = {"InvoiceID", "SentToContact", "ExpectedPaymentDate", "PlannedPaymentDate"}

ALLOCATED = "This document cannot be edited as it has a payment or credit note allocated to it."
BAD_STATUS = "Invoice not of valid status for modification"
NOT_UNIQUE = "Invoice # must be unique."


def _strip_nulls(value):
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def has_payments(invoice: dict[str, Any]) -> bool:
    return (
        invoice.get("AmountPaid", Decimal(0)) > 0 or invoice.get("AmountCredited", Decimal(0)) > 0
    )


def _touched(existing: dict[str, Any], incoming: dict[str, Any]) -> set[str]:
    """Keys of `incoming` that would change `existing` (LineItems always count)."""
    changed = set()
    for key, value in incoming.items():
        if key in HARMLESS:
            continue
        if key == "Contact":
            if find_contact_id(value) not in (None, existing["Contact"]["ContactID"]):
                changed.add(key)
        elif key in ("Date", "DueDate"):
            if parse_date(value) != parse_date(existing.get(key)):
                changed.add(key)
        elif existing.get(key) != value:
            changed.add(key)
    return changed


def find_contact_id(ref) -> str | None:
    return ref.get("ContactID") if isinstance(ref, dict) else None


def _status_errors(
    existing: dict[str, Any] | None, target: str, touched: set[str], behaviour
) -> list[str]:
    if existing is None:
        if target not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            return [BAD_STATUS]
        return []
    current = existing["Status"]
    if not touched:
        return []
    if current in ("VOIDED", "DELETED"):
        return [BAD_STATUS]
    if has_payments(existing) or current == "PAID":
        return [ALLOCATED]
    if current in ("DRAFT", "SUBMITTED"):
        return [] if target in ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED") else [BAD_STATUS]
    # AUTHORISED without payments: void it, or edit it when the (UNVERIFIED) setting allows.
    if target == "VOIDED":
        return []
    if target != "AUTHORISED" or not behaviour.edit_authorised_invoices:
        return [BAD_STATUS]
    return []


def _lines(
    tenant: Tenant,
    sent: list[Any],
    kind: str,
    amount_types: str,
    unitdp: int,
    old: list[Any],
    approving: bool,
    *,
    currency: str | None = None,
    behaviour: Behaviour | None = None,
):
    errors: list[str] = []
    old_ids = {line["LineItemID"] for line in old}
    code = currency or tenant.base_currency
    dp = decimals(code)
    out = []
    for raw in sent:
        line = {
            k: v
            for k, v in raw.items()
            if k not in ("LineAmount", "TaxAmount", "ValidationErrors", "Item")
        }
        errors += _from_item(tenant, line, kind)
        raw_quantity = to_decimal(line.get("Quantity"), Decimal(1))
        quantity = round_dp(raw_quantity, unitdp)
        unit = round_dp(to_decimal(line.get("UnitAmount"), Decimal(0)), unitdp)
        discount_rate = to_decimal(line.get("DiscountRate"))
        discount_amount = to_decimal(line.get("DiscountAmount"))
        if (discount_rate or discount_amount) and kind != "ACCREC":
            errors.append("Discounts are only allowed on sales invoices.")
        errors += rules.line_number_messages(
            raw_quantity, discount_rate, discount_amount, code, behaviour or Behaviour()
        )
        line["Tracking"], tracking_errors = line_tracking(tenant, line.get("Tracking"))
        errors += tracking_errors
        if not str(line.get("Description") or "").strip() and not line.get("ItemCode"):
            errors.append("Description cannot be empty.")
        account = None
        if line.get("AccountCode") or line.get("AccountID"):
            account = (
                tenant.account_by_code(str(line["AccountCode"]))
                if line.get("AccountCode")
                else tenant.accounts.get(str(line["AccountID"]).lower())
            )
            if (
                account is None
                or account.get("Status") != "ACTIVE"
                or account.get("Type") == "BANK"
            ):
                errors.append(bad_account(line.get("AccountCode") or line.get("AccountID")))
                account = None
            else:
                line["AccountCode"] = account.get("Code", "")
                line["AccountID"] = account["AccountID"]
        elif approving:
            errors.append("Account code must be specified for approved invoices.")
        tax_type = line.get("TaxType") or (account or {}).get("TaxType") or "NONE"
        rate = tenant.tax_rates.get(tax_type)
        can_apply = "CanApplyToRevenue" if kind == "ACCREC" else "CanApplyToExpenses"
        if tax_type != "NONE" and (
            rate is None or rate.get("Status") != "ACTIVE" or not rate.get(can_apply)
        ):
            errors.append(bad_tax_type(tax_type))
            rate = None
        errors += rules.tax_account_messages(rate, account, tax_type)
        effective = to_decimal((rate or {}).get("EffectiveRate"), Decimal(0))
        amount = line_amount(quantity, unit, discount_rate, discount_amount, dp)
        line.update(
            Quantity=quantity,
            UnitAmount=unit,
            TaxType=tax_type,
            LineAmount=amount,
            TaxAmount=line_tax(amount, effective, amount_types, dp),
        )
        if discount_rate is not None:
            line["DiscountRate"] = round2(discount_rate)
        if discount_amount is not None:
            line["DiscountAmount"] = round2(discount_amount)
        if line.get("LineItemID") not in old_ids:
            line["LineItemID"] = new_id()
        out.append(line)
    return out, errors


def _from_item(tenant: Tenant, line: dict[str, Any], kind) -> list[str]:
    """An ItemCode fills what the line leaves out from the item's sales (or purchase) details,
    as Xero does; an unknown code, or one not sold (bought), is refused."""
    if not line.get("ItemCode"):
        return []
    code = str(line["ItemCode"])
    item = tenant.item_by_code(code)
    selling = kind != "ACCPAY"
    if item is None or not item.get("IsSold" if selling else "IsPurchased", True):
        return [f"Item code '{code}' is not valid"]
    details = item.get("SalesDetails" if selling else "PurchaseDetails") or {}
    if not str(line.get("Description") or "").strip():
        text = item.get("Description" if selling else "PurchaseDescription")
        line["Description"] = text or item.get("Name") or code
    if line.get("UnitAmount") is None and details.get("UnitPrice") is not None:
        line["UnitAmount"] = details["UnitPrice"]
    if not line.get("AccountCode") and not line.get("AccountID") and details.get("AccountCode"):
        line["AccountCode"] = details["AccountCode"]
    if not line.get("TaxType") and details.get("TaxType"):
        line["TaxType"] = details["TaxType"]
    line["Item"] = {k: item[k] for k in ("ItemID", "Name", "Code") if k in item}
    return []


def _branding_errors(tenant: Tenant, merged: dict[str, Any]) -> list[str]:
    """A BrandingThemeID must name one of the org's themes; without one Xero applies the
    default theme (SortOrder 0), as its answers carry a BrandingThemeID (UNVERIFIED)."""
    theme_id = merged.get("BrandingThemeID")
    if theme_id:
        if str(theme_id).lower() not in tenant.branding_themes:
            return [f"Branding theme '{theme_id}' could not be found."]
        merged["BrandingThemeID"] = str(theme_id).lower()
    elif tenant.branding_themes:
        default = min(tenant.branding_themes.values(), key=lambda t: t.get("SortOrder", 0))
        merged["BrandingThemeID"] = default["BrandingThemeID"]
    return []


def header_errors(call: Call, merged: dict[str, Any], day, due) -> tuple[str, list[str]]:
    """(currency, errors): what an invoice and a credit note both check beyond their lines:
    dates from 1900 and a DueDate not before the Date, an enabled currency written as Xero
    writes it, and a branding theme of the org's (the default applied when none is sent)."""
    tenant = call.tenant
    errors = rules.date_messages("Date", day) + rules.date_messages("Due Date", due)
    if due is not None and due < day and not call.behaviour.allow_due_before_date:
        errors.append("Due Date must not be earlier than the invoice Date.")
    currency = merged.get("CurrencyCode") or tenant.base_currency
    errors += rules.currency_messages(tenant, currency)
    errors += _branding_errors(tenant, merged)
    return currency, errors


def lock_errors(tenant: Tenant, existing, target: str, day) -> list[str]:
    """Lock dates apply when a document (invoice or credit note) is approved, or an approved
    one is changed or voided; drafts may be saved in a locked period (FYI's help centre, 3rd)."""
    approved_before = existing is not None and existing["Status"] in rules.APPROVED
    errors = []
    if target in rules.APPROVED or approved_before:
        days = {day}
        if approved_before:
            days.add(parse_date(existing["Date"]))
        for locked_day in sorted(d for d in days if d):
            errors += [m for m in rules.lock_messages(tenant, locked_day) if m not in errors]
    return errors


def _ledger_errors(tenant: Tenant, merged: dict[str, Any], existing, target: str, day) -> list[str]:
    """Lock dates, and the plan's cap when an invoice is first approved."""
    errors = lock_errors(tenant, existing, target, day)
    approved_before = existing is not None and existing["Status"] in rules.APPROVED
    if target == "AUTHORISED" and not approved_before:
        errors += rules.plan_messages(
            tenant, merged.get("Type"), day, (existing or {}).get("InvoiceID", "")
        )
    return errors


def save_invoice(
    call: Call, sent: dict[str, Any], existing: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str], list[Any]]:
    """Validate and store one invoice. Returns (invoice, errors, events)."""
    tenant, behaviour = call.tenant, call.behaviour
    incoming = {k: v for k, v in _strip_nulls(sent).items() if k not in READ_ONLY}
    touched = _touched(existing, incoming) if existing else set(incoming)
    merged = dict(existing or {})
    merged.update({k: v for k, v in incoming.items() if k != "LineItems"})
    events, errors = [], []
    kind = merged.get("Type")
    if kind not in TYPES:
        errors.append(
            "Invoice Type must be ACCREC or ACCPAY." if kind else "Invoice Type must be specified."
        )
    if existing and kind != existing["Type"]:
        errors.append("The invoice Type cannot be changed.")
    target = merged.get("Status") or "DRAFT"
    merged["Status"] = target
    if target not in STATUSES:
        errors.append(f"Invoice status '{target}' is not valid.")
    errors += _status_errors(existing, target, touched, behaviour)
    if errors and existing:
        return None, errors, events
    amount_types = merged.setdefault("LineAmountTypes", "Exclusive")
    if amount_types not in AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{amount_types}' is not valid.")
        amount_types = "Exclusive"
    contact_ref = merged.get("Contact") or {}
    contact = find_contact(tenant, contact_ref) if isinstance(contact_ref, dict) else None
    new_contact = None
    if contact is None:
        if (
            isinstance(contact_ref, dict)
            and contact_ref.get("Name")
            and not contact_ref.get("ContactID")
        ):
            new_contact = {k: v for k, v in contact_ref.items() if not k.startswith("Has")}
        elif contact_ref:
            errors.append("The contact could not be found.")
        else:
            errors.append("A Contact must be specified for this type of transaction.")
    day = parse_date(merged.get("Date")) or call.now.date()
    due = parse_date(merged.get("DueDate"))
    if "Date" in merged and parse_date(merged["Date"]) is None:
        errors.append("Date is not a valid date.")
    if target in ("SUBMITTED", "AUTHORISED") and due is None:
        errors.append("Due Date cannot be empty.")
    currency, more = header_errors(call, merged, day, due)
    errors += more
    number = str(merged.get("InvoiceNumber") or "").strip()
    if kind == "ACCREC" and number:
        holder_id = tenant.invoice_numbers.get(number.lower())
        holder = tenant.invoices.get(holder_id) if holder_id else None
        reusable = (
            holder
            and holder["Status"] == "DELETED"
            and behaviour.invoice_numbers_reusable_after_delete
        )
        if holder and holder["InvoiceID"] != merged.get("InvoiceID") and not reusable:
            errors.append(NOT_UNIQUE)
    if len(number) > 255:
        errors.append("Invoice number must be 255 characters or less.")
    old_lines = (existing or {}).get("LineItems", [])
    if "LineItems" in incoming:
        lines, line_errors = _lines(
            tenant,
            incoming["LineItems"] or [],
            kind,
            amount_types,
            call.unitdp(),
            old_lines,
            target in ("SUBMITTED", "AUTHORISED"),
            currency=currency if currency in CURRENCY_CODES else None,
            behaviour=behaviour,
        )
        errors += line_errors
    else:
        lines = old_lines
    if not lines and target != "DELETED":
        errors.append("At least one line item must be specified.")
    errors += _ledger_errors(tenant, merged, existing, target, day)
    rate, rate_errors = (None, [])
    if not errors:
        rate, rate_errors = document_rate(tenant, merged, existing, currency, day, incoming)
        errors += rate_errors
    if errors:
        return None, errors, events
    if new_contact is not None:
        contact, contact_errors = save_contact(tenant, new_contact, call.now, None, behaviour)
        if contact_errors:
            return None, contact_errors, events
        events.append(("CONTACT", "CREATE", contact["ContactID"]))
    if kind == "ACCREC" and not number:
        number = existing.get("InvoiceNumber", "") if existing else tenant.allocate_invoice_number()
    sub_total, total_tax, total = totals(lines, amount_types)
    paid = (existing or {}).get("AmountPaid", Decimal("0.00"))
    credited = (existing or {}).get("AmountCredited", Decimal("0.00"))
    merged.update(
        InvoiceID=(existing or {}).get("InvoiceID") or new_id(),
        Contact={"ContactID": contact["ContactID"]},
        Date=ms_date(day),
        LineItems=lines,
        SubTotal=sub_total,
        TotalTax=total_tax,
        Total=total,
        AmountPaid=paid,
        AmountCredited=credited,
        AmountDue=round2(total - paid - credited)
        if target not in ("VOIDED", "DELETED")
        else Decimal("0.00"),
        CurrencyCode=currency,
        CurrencyRate=rate,
        HasAttachments=False,
    )
    if due is not None:
        merged["DueDate"] = ms_date(due)
    if number:
        merged["InvoiceNumber"] = number
        if kind == "ACCREC":
            old_number = (existing or {}).get("InvoiceNumber", "").lower()
            if tenant.invoice_numbers.get(old_number) == merged["InvoiceID"]:
                del tenant.invoice_numbers[old_number]
            tenant.invoice_numbers[number.lower()] = merged["InvoiceID"]
    merged.setdefault("Payments", [])
    merged.setdefault("CreditNotes", [])  # allocations from credit notes (credit_notes.py)
    touch(merged, call.now)
    tenant.invoices[merged["InvoiceID"]] = merged
    if kind == "ACCREC" and target == "AUTHORISED" and not contact.get("IsCustomer"):
        # Not a modification of the contact for If-Modified-Since (Xero docs).
        contact["IsCustomer"] = True
        tenant.contact_json.pop((contact["ContactID"], False), None)
        tenant.contact_json.pop((contact["ContactID"], True), None)
    events.append(("INVOICE", "UPDATE" if existing else "CREATE", merged["InvoiceID"]))
    return merged, [], events


def document_rate(
    tenant: Tenant, merged: dict[str, Any], existing, currency: str, day, incoming: dict[str, Any]
):
    """An invoice's or credit note's rate: the one sent, else the one already held when neither
    currency nor date changed, else the day rate of the sandbox's feed (spec
    Invoice.CurrencyRate and CreditNote.CurrencyRate: the XE.com day rate)."""
    if "CurrencyRate" not in incoming and existing is not None:
        same_day = parse_date(existing.get("Date")) == day
        if existing.get("CurrencyCode") == currency and same_day:
            return existing["CurrencyRate"], []
    return rules.currency_rate(tenant, currency, day, incoming.get("CurrencyRate"))


def contact_summary(tenant: Tenant, contact_id: str) -> dict[str, Any]:
    """The contact as an invoice or credit note shows it."""
    contact = tenant.contacts.get(contact_id, {})
    summary = {
        k: contact[k]
        for k in ("ContactID", "ContactNumber", "Name", "ContactStatus", "EmailAddress")
        if k in contact
    }
    summary["HasValidationErrors"] = False
    return summary


def view_lines(lines: list[dict[str, Any]], unitdp: int) -> list[dict[str, Any]]:
    return [
        dict(
            line,
            Quantity=round_dp(line["Quantity"], 4),  # Xero always writes 4 dp
            UnitAmount=round_dp(line["UnitAmount"], unitdp),
        )
        for line in lines
    ]


def invoice_view(
    tenant: Tenant, invoice: dict[str, Any], unitdp: int = 2, lines: bool = True
) -> dict[str, Any]:
    view = {k: v for k, v in invoice.items() if k != "LineItems"}
    view["Contact"] = contact_summary(tenant, invoice["Contact"]["ContactID"])
    day = parse_date(invoice["Date"])
    view["DateString"] = iso_date(day)
    if invoice.get("DueDate"):
        view["DueDateString"] = iso_date(parse_date(invoice["DueDate"]))
    if invoice.get("UpdatedDateUTC"):
        view["UpdatedDateUTCString"] = iso_utc_string(invoice["UpdatedDateUTC"])
    if lines:
        view["LineItems"] = view_lines(invoice["LineItems"], unitdp)
    view["IsDiscounted"] = any(
        line.get("DiscountRate") or line.get("DiscountAmount") for line in invoice["LineItems"]
    )
    view["HasErrors"] = False
    return view


def safe_echo(element: dict[str, Any], types=TYPES) -> dict[str, Any]:
    """An element echoed in an error must still deserialise in the SDK: drop bad enum values
    (`types`: the document's Type values, credit notes' for a credit note)."""
    echo = _strip_nulls(element)
    for key, allowed in (
        ("Type", types),
        ("Status", STATUSES),
        ("LineAmountTypes", AMOUNT_TYPES),
        ("CurrencyCode", CURRENCY_CODES),
    ):
        if key in echo and echo[key] not in allowed:
            del echo[key]
    return echo


# handlers ---------------------------------------------------------------------------
def write_invoices(call: Call) -> Response:
    sent = call.elements_sent("Invoices", "InvoiceID", call.tenant.invoices)
    if sent is None:
        return not_found()
    creating_only = call.request.method == "PUT"
    results, failed, all_events = [], False, []
    for element in sent:
        existing, errors = None, []
        if element.get("InvoiceID"):
            existing = call.tenant.invoices.get(str(element["InvoiceID"]).lower())
            if existing is None:
                errors = ["The invoice could not be found."]
            elif creating_only and not call.request.params.get("id"):
                errors = ["Invoices cannot be updated with PUT; use POST."]
        elif (
            not creating_only
            and call.behaviour.post_matches_invoice_number
            and element.get("InvoiceNumber")
        ):
            found = call.tenant.invoice_numbers.get(str(element["InvoiceNumber"]).strip().lower())
            existing = call.tenant.invoices.get(found) if found else None
        saved = None
        if not errors:
            saved, errors, events = save_invoice(call, element, existing)
            all_events += events
        if errors:
            failed = True
            echo = safe_echo(element)
            echo.update(
                HasErrors=True,
                StatusAttributeString="ERROR",
                ValidationErrors=[{"Message": m} for m in errors],
            )
            results.append(echo)
        else:
            view = invoice_view(call.tenant, saved, call.unitdp())
            view["StatusAttributeString"] = "OK"
            results.append(view)
    for event in all_events:
        call.emit(*event)
    if failed and call.summarize_errors():
        # Xero still created the valid elements; it just does not say so.
        return validation_exception(
            [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        )
    return envelope(call.now, "Invoices", results)


def list_invoices(call: Call) -> Response:
    tenant, request = call.tenant, call.request
    rows = list(tenant.invoices.values())
    ids = {i.lower() for i in csv(request.arg("IDs"))}
    numbers = {n.lower() for n in csv(request.arg("InvoiceNumbers"))}
    statuses = {s.upper() for s in csv(request.arg("Statuses"))}
    contacts = {c.lower() for c in csv(request.arg("ContactIDs"))}
    since = call.modified_since_ms()
    term = (request.arg("searchTerm") or "").lower()
    if ids:
        rows = [r for r in rows if r["InvoiceID"] in ids]
    if numbers:
        rows = [r for r in rows if r.get("InvoiceNumber", "").lower() in numbers]
    if statuses:
        rows = [r for r in rows if r["Status"] in statuses]
    if contacts:
        rows = [r for r in rows if r["Contact"]["ContactID"] in contacts]
    if since is not None:
        rows = [r for r in rows if ms_of(r["UpdatedDateUTC"]) > since]
    if term:
        rows = [
            r
            for r in rows
            if term in r.get("InvoiceNumber", "").lower() or term in r.get("Reference", "").lower()
        ]
    views_needed = request.arg("where") or request.arg("order")
    if views_needed:
        rows = [dict(r, Contact=contact_summary(tenant, r["Contact"]["ContactID"])) for r in rows]
        try:
            if request.arg("where"):
                predicate = compile_where(request.arg("where"))
                rows = [r for r in rows if predicate(r)]
        except WhereError as error:
            return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
        rows = sort(rows, request.arg("order"))
    paged = paging(request, len(rows), call.behaviour.unpaged_lists)
    if not isinstance(paged, tuple):
        return paged
    offset, limit, pagination = paged
    # Xero returns line items only when paging or asking for specific invoices.
    with_lines = not request.flag("summaryOnly") and (
        request.arg("page") is not None or ids or numbers
    )
    views = [
        invoice_view(tenant, r, call.unitdp(), with_lines) for r in rows[offset : offset + limit]
    ]
    return envelope(call.now, "Invoices", views, pagination)


def get_invoice(call: Call) -> Response:
    key = call.request.params["id"].lower()
    invoice = call.tenant.invoices.get(key)
    if invoice is None:
        found = call.tenant.invoice_numbers.get(key)
        invoice = call.tenant.invoices.get(found) if found else None
    if invoice is None:
        return not_found()
    return envelope(call.now, "Invoices", [invoice_view(call.tenant, invoice, call.unitdp())])
