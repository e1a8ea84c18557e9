"""Payments against invoices, and refunds (payments against a credit note): to a BANK account or
one with EnablePaymentsToAccount, never more than is outstanding (an invoice's AmountDue, a
credit note's RemainingCredit); a document fully paid becomes PAID; deleting a payment undoes it.

Xero shows the document paid under Payment.Invoice either way: a refund's "Invoice" is the
credit note, with its Type (ACCRECCREDIT) and number (the spec's Payments examples)."""

from decimal import Decimal
from typing import Any

from ..currency_table import decimals
from ..money import has_more_places, round2, to_decimal
from ..msdates import iso_utc_string, ms_date, parse_date
from ..store import Tenant, new_id, touch
from ..where import WhereError
from ..wire import Response
from . import rules
from .call import Call, ms_of
from .credit_notes import event_data, find_credit_note
from .envelope import bad_where, envelope, not_found, paging, validation_exception

# The spec's wording (Payments PUT example), without a full stop.
EXCEEDS = "Payment amount exceeds the amount outstanding on this document"
PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}


def _find_invoice(tenant: Tenant, sent: dict[str, Any]) -> dict[str, Any] | None:
    ref = sent.get("Invoice") or {}
    invoice_id = ref.get("InvoiceID")
    if invoice_id:
        return tenant.invoices.get(str(invoice_id).lower())
    number = ref.get("InvoiceNumber") or sent.get("InvoiceNumber")
    if number:
        found = tenant.invoice_numbers.get(str(number).strip().lower())
        return tenant.invoices.get(found) if found else None
    return None


def _find_document(tenant: Tenant, sent: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(the invoice or credit note paid, what to say when it is missing)."""
    if sent.get("CreditNote") or sent.get("CreditNoteNumber"):
        ref = dict(sent.get("CreditNote") or {})
        ref.setdefault("CreditNoteNumber", sent.get("CreditNoteNumber"))
        return find_credit_note(tenant, ref), "Credit Note could not be found."
    if sent.get("Invoice"):
        return _find_invoice(tenant, sent), "Invoice could not be found."
    missing = "You must specify an Invoice, CreditNote, Prepayment or Overpayment."
    return _find_invoice(tenant, sent), missing


def _is_credit_note(document: dict[str, Any]) -> bool:
    return "CreditNoteID" in document


def _outstanding(document: dict[str, Any]) -> str:
    return "RemainingCredit" if _is_credit_note(document) else "AmountDue"


def _id_key(document: dict[str, Any]) -> str:
    return "CreditNoteID" if _is_credit_note(document) else "InvoiceID"


def paid_document(tenant: Tenant, payment: dict[str, Any]) -> dict[str, Any]:
    if "CreditNoteID" in payment:
        return tenant.credit_notes[payment["CreditNoteID"]]
    return tenant.invoices[payment["InvoiceID"]]


def document_event(document: dict[str, Any]) -> tuple[Any, ...]:
    """The webhook event a payment or refund fires for the document it changed."""
    if _is_credit_note(document):
        return ("CREDITNOTE", "UPDATE", document["CreditNoteID"], event_data(document))
    return ("INVOICE", "UPDATE", document["InvoiceID"])


def _find_account(tenant: Tenant, sent: dict[str, Any]) -> dict[str, Any] | None:
    ref = sent.get("Account") or {}
    if ref.get("AccountID"):
        return tenant.accounts.get(str(ref["AccountID"]).lower())
    code = ref.get("Code") or sent.get("Code")
    return tenant.account_by_code(str(code)) if code else None


def invoice_summary(tenant: Tenant, document: dict[str, Any]) -> dict[str, Any]:
    """The document a payment pays, as Payment.Invoice shows it (a credit note too)."""
    contact = tenant.contacts.get(document["Contact"]["ContactID"], {})
    summary = {
        "Type": document["Type"],
        "InvoiceID": document[_id_key(document)],
        "Contact": {"ContactID": contact.get("ContactID", ""), "Name": contact.get("Name", "")},
        "CurrencyCode": document["CurrencyCode"],
        "HasErrors": False,
    }
    number = document.get("CreditNoteNumber") or document.get("InvoiceNumber")
    if number:
        summary["InvoiceNumber"] = number
    return summary


def apply_payment(
    call_now, tenant: Tenant, sent: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str], dict[str, Any] | None]:
    """(payment, errors, invoice or credit note paid). Usable by the API, the HTML view and the
    control API."""
    errors = []
    document, missing = _find_document(tenant, sent)
    account = _find_account(tenant, sent)
    amount = to_decimal(sent.get("Amount"))
    if document is None:
        errors.append(missing)
    elif document["Status"] not in ("AUTHORISED", "PAID"):
        errors.append("Payments can only be made against Authorised documents")
    if account is None:
        errors.append(
            "Account could not be found." if sent.get("Account") else "Account must be specified."
        )
    elif account.get("Status") != "ACTIVE" or not (
        account.get("Type") == "BANK" or account.get("EnablePaymentsToAccount")
    ):
        errors.append(
            "Payments can only be made to a bank account or an account with "
            "'Enable payments to this account' switched on."
        )
    currency = (document or {}).get("CurrencyCode") or tenant.base_currency
    if amount is None or amount <= 0:
        errors.append("Payment amount must be greater than zero.")
    elif has_more_places(amount, decimals(currency)):
        errors.append(rules.too_many_places("Payment amount", amount, currency))
    elif document is not None and amount > document[_outstanding(document)]:
        errors.append(EXCEEDS)
    day = parse_date(sent.get("Date")) if sent.get("Date") else call_now.date()
    if day is None:
        errors.append("Date is not a valid date.")
    else:
        errors += rules.date_messages("Date", day) + rules.lock_messages(tenant, day)
    errors += _currency_errors(tenant, document, account)
    rate = Decimal("1.000000")
    if not errors:
        rate, rate_errors = rules.currency_rate(tenant, currency, day, sent.get("CurrencyRate"))
        errors += rate_errors
    if errors:
        return None, errors, None
    amount = round2(amount)
    payment = {
        "PaymentID": new_id(),
        "Date": ms_date(day),
        "Amount": amount,
        "BankAmount": _bank_amount(tenant, amount, rate, account, currency),
        "CurrencyRate": rate,
        "PaymentType": PAYMENT_TYPES[document["Type"]],
        "Status": "AUTHORISED",
        "IsReconciled": False,
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {
            "AccountID": account["AccountID"],
            "Code": account.get("Code", ""),
            "Name": account.get("Name", ""),
        },
        _id_key(document): document[_id_key(document)],
    }
    if sent.get("Reference"):
        payment["Reference"] = str(sent["Reference"])
    touch(payment, call_now)
    tenant.payments[payment["PaymentID"]] = payment
    left = _outstanding(document)
    if not _is_credit_note(document):
        document["AmountPaid"] = round2(document["AmountPaid"] + amount)
    document[left] = round2(document[left] - amount)
    document["Payments"] = document.get("Payments", []) + [_invoice_payment(payment)]
    if document[left] == 0:
        document["Status"] = "PAID"
        document["FullyPaidOnDate"] = ms_date(day)
    touch(document, call_now)
    return payment, [], document


def _currency_errors(
    tenant: Tenant, document: dict[str, Any] | None, account: dict[str, Any] | None
) -> list[str]:
    """A payment (or a refund) is in its invoice's (credit note's) currency, into an account in
    that currency or the base currency; each must be enabled."""
    errors = []
    codes = [(document or {}).get("CurrencyCode"), (account or {}).get("CurrencyCode")]
    for code in dict.fromkeys(c for c in codes if c):
        errors += rules.currency_messages(tenant, code)
    account_code = (account or {}).get("CurrencyCode")
    allowed = ((document or {}).get("CurrencyCode"), tenant.base_currency)
    if document and account_code and account_code not in allowed:
        errors.append(
            f"The account's currency {account_code} must be the invoice's currency "
            f"{document['CurrencyCode']} or the base currency {tenant.base_currency}."
        )
    return errors


def _bank_amount(tenant: Tenant, amount, rate, account: dict[str, Any] | None, currency: str):
    """What reaches the account: the amount itself, or its value in the base currency when a
    foreign-currency invoice is paid (or credit note refunded) from a base-currency account."""
    account_code = (account or {}).get("CurrencyCode") or tenant.base_currency
    if account_code == currency or not rate:
        return amount
    return round2(amount / rate)


def _invoice_payment(payment: dict[str, Any]) -> dict[str, Any]:
    out = {k: payment[k] for k in ("PaymentID", "Date", "Amount", "CurrencyRate") if k in payment}
    if "Reference" in payment:
        out["Reference"] = payment["Reference"]
    out.update(HasAccount=False, HasValidationErrors=False)
    return out


def remove_payment(call_now, tenant: Tenant, payment: dict[str, Any]) -> dict[str, Any]:
    """Delete a payment or refund; returns the invoice or credit note it paid."""
    payment["Status"] = "DELETED"
    touch(payment, call_now)
    document = paid_document(tenant, payment)
    if not _is_credit_note(document):
        document["AmountPaid"] = round2(document["AmountPaid"] - payment["Amount"])
    left = _outstanding(document)
    document[left] = round2(document[left] + payment["Amount"])
    document["Payments"] = [
        p for p in document["Payments"] if p["PaymentID"] != payment["PaymentID"]
    ]
    if document["Status"] == "PAID":
        document["Status"] = "AUTHORISED"
        document.pop("FullyPaidOnDate", None)
    touch(document, call_now)
    return document


def payment_view(tenant: Tenant, payment: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in payment.items() if k not in ("InvoiceID", "CreditNoteID")}
    view["Invoice"] = invoice_summary(tenant, paid_document(tenant, payment))
    view["UpdatedDateUTCString"] = iso_utc_string(payment["UpdatedDateUTC"])
    return view


# handlers ---------------------------------------------------------------------------
def create_payments(call: Call) -> Response:
    body = call.request.json or {}
    bare = "Payments" not in body
    sent = [body] if bare else body["Payments"]
    results, failed = [], False
    for element in sent:
        payment, errors, document = apply_payment(call.now, call.tenant, element)
        if errors:
            failed = True
            echo = {k: v for k, v in element.items() if v is not None}
            echo.update(
                HasValidationErrors=True,
                StatusAttributeString="ERROR",
                ValidationErrors=[{"Message": m} for m in errors],
            )
            results.append(echo)
            continue
        if call.behaviour.webhook_on_payment:
            call.emit(*document_event(document))
        view = payment_view(call.tenant, payment)
        view["StatusAttributeString"] = "OK"
        results.append(view)
    # The single-payment POST has no summarizeErrors: an error is always a 400.
    if failed and (bare or call.summarize_errors()):
        return validation_exception(
            [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        )
    return envelope(call.now, "Payments", results)


def delete_payment(call: Call) -> Response:
    payment = call.tenant.payments.get(call.request.params["id"].lower())
    if payment is None:
        return not_found()
    body = call.request.json or {}
    status = body.get("Status") or (body.get("Payments") or [{}])[0].get("Status")
    if status != "DELETED":
        return validation_exception(
            [{"ValidationErrors": [{"Message": "Payments can only be deleted."}]}]
        )
    if payment["Status"] == "DELETED":
        return validation_exception(
            [{"ValidationErrors": [{"Message": "This payment has already been deleted."}]}]
        )
    locked = rules.lock_messages(call.tenant, parse_date(payment["Date"]))
    if locked:
        return validation_exception([{"ValidationErrors": [{"Message": m} for m in locked]}])
    document = remove_payment(call.now, call.tenant, payment)
    if call.behaviour.webhook_on_payment:
        call.emit(*document_event(document))
    return envelope(call.now, "Payments", [payment_view(call.tenant, payment)])


def list_payments(call: Call) -> Response:
    rows = [payment_view(call.tenant, p) for p in call.tenant.payments.values()]
    since = call.modified_since_ms()
    if since is not None:
        rows = [r for r in rows if ms_of(r["UpdatedDateUTC"]) > since]
    rows = call.filtered(rows)
    if isinstance(rows, WhereError):
        return bad_where(rows)
    paged = paging(call.request, len(rows), "all")
    if not isinstance(paged, tuple):
        return paged
    offset, limit, pagination = paged
    return envelope(call.now, "Payments", rows[offset : offset + limit], pagination)


def get_payment(call: Call) -> Response:
    payment = call.tenant.payments.get(call.request.params["id"].lower())
    if payment is None:
        return not_found()
    return envelope(call.now, "Payments", [payment_view(call.tenant, payment)])
