"""Payments against invoices: to a BANK account or one with EnablePaymentsToAccount, never more
than is outstanding; a fully paid invoice becomes PAID; deleting a payment undoes it."""

from decimal import Decimal

from ..currency_table import decimals
from ..money import has_more_places, round2, to_decimal
from ..msdates import iso_utc_string, ms_date, parse_date
from ..store import Tenant, new_id, touch
from ..where import WhereError, compile_where, sort
from . import rules
from .call import Call, ms_of
from .envelope import envelope, not_found, paging, validation_exception

EXCEEDS = "Payment amount exceeds the amount outstanding on this document"


def _find_invoice(tenant: Tenant, sent: dict) -> dict | None:
    ref = sent.get("Invoice") or {}
    invoice_id = ref.get("InvoiceID")
    if invoice_id:
        return tenant.invoices.get(str(invoice_id).lower())
    number = ref.get("InvoiceNumber") or sent.get("InvoiceNumber")
    if number:
        found = tenant.invoice_numbers.get(str(number).strip().lower())
        return tenant.invoices.get(found) if found else None
    return None


def _find_account(tenant: Tenant, sent: dict) -> dict | None:
    ref = sent.get("Account") or {}
    if ref.get("AccountID"):
        return tenant.accounts.get(str(ref["AccountID"]).lower())
    code = ref.get("Code") or sent.get("Code")
    return tenant.account_by_code(str(code)) if code else None


def invoice_summary(tenant: Tenant, invoice: dict) -> dict:
    contact = tenant.contacts.get(invoice["Contact"]["ContactID"], {})
    summary = {
        "Type": invoice["Type"],
        "InvoiceID": invoice["InvoiceID"],
        "Contact": {"ContactID": contact.get("ContactID", ""), "Name": contact.get("Name", "")},
        "CurrencyCode": invoice["CurrencyCode"],
        "HasErrors": False,
    }
    if invoice.get("InvoiceNumber"):
        summary["InvoiceNumber"] = invoice["InvoiceNumber"]
    return summary


def apply_payment(
    call_now, tenant: Tenant, sent: dict
) -> tuple[dict | None, list[str], dict | None]:
    """(payment, errors, invoice). Usable by the API, the HTML view and the control API."""
    errors = []
    invoice = _find_invoice(tenant, sent)
    account = _find_account(tenant, sent)
    amount = to_decimal(sent.get("Amount"))
    if invoice is None:
        errors.append(
            "Invoice could not be found."
            if sent.get("Invoice")
            else "You must specify an Invoice, CreditNote, Prepayment or Overpayment."
        )
    elif invoice["Status"] not in ("AUTHORISED", "PAID"):
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
    currency = (invoice or {}).get("CurrencyCode") or tenant.base_currency
    if amount is None or amount <= 0:
        errors.append("Payment amount must be greater than zero.")
    elif has_more_places(amount, decimals(currency)):
        errors.append(rules.too_many_places("Payment amount", amount, currency))
    elif invoice is not None and amount > invoice["AmountDue"]:
        errors.append(EXCEEDS)
    day = parse_date(sent.get("Date")) if sent.get("Date") else call_now.date()
    if day is None:
        errors.append("Date is not a valid date.")
    else:
        errors += rules.date_messages("Date", day) + rules.lock_messages(tenant, day)
    errors += _currency_errors(tenant, invoice, account)
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
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "Status": "AUTHORISED",
        "IsReconciled": False,
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {
            "AccountID": account["AccountID"],
            "Code": account.get("Code", ""),
            "Name": account.get("Name", ""),
        },
        "InvoiceID": invoice["InvoiceID"],
    }
    if sent.get("Reference"):
        payment["Reference"] = str(sent["Reference"])
    touch(payment, call_now)
    tenant.payments[payment["PaymentID"]] = payment
    invoice["AmountPaid"] = round2(invoice["AmountPaid"] + amount)
    invoice["AmountDue"] = round2(invoice["AmountDue"] - amount)
    invoice["Payments"] = invoice.get("Payments", []) + [_invoice_payment(payment)]
    if invoice["AmountDue"] == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = ms_date(day)
    touch(invoice, call_now)
    return payment, [], invoice


def _currency_errors(tenant: Tenant, invoice: dict | None, account: dict | None) -> list[str]:
    """A payment is in its invoice's currency, into an account in that currency or the base
    currency; each must be enabled."""
    errors = []
    codes = [(invoice or {}).get("CurrencyCode"), (account or {}).get("CurrencyCode")]
    for code in dict.fromkeys(c for c in codes if c):
        errors += rules.currency_messages(tenant, code)
    account_code = (account or {}).get("CurrencyCode")
    if (
        invoice
        and account_code
        and account_code
        not in (
            invoice["CurrencyCode"],
            tenant.base_currency,
        )
    ):
        errors.append(
            f"The account's currency {account_code} must be the invoice's currency "
            f"{invoice['CurrencyCode']} or the base currency {tenant.base_currency}."
        )
    return errors


def _bank_amount(tenant: Tenant, amount, rate, account: dict | None, currency: str):
    """What reaches the account: the amount itself, or its value in the base currency when a
    foreign-currency invoice is paid into a base-currency account."""
    account_code = (account or {}).get("CurrencyCode") or tenant.base_currency
    if account_code == currency or not rate:
        return amount
    return round2(amount / rate)


def _invoice_payment(payment: dict) -> dict:
    out = {k: payment[k] for k in ("PaymentID", "Date", "Amount", "CurrencyRate") if k in payment}
    if "Reference" in payment:
        out["Reference"] = payment["Reference"]
    out.update(HasAccount=False, HasValidationErrors=False)
    return out


def remove_payment(call_now, tenant: Tenant, payment: dict) -> dict:
    payment["Status"] = "DELETED"
    touch(payment, call_now)
    invoice = tenant.invoices[payment["InvoiceID"]]
    invoice["AmountPaid"] = round2(invoice["AmountPaid"] - payment["Amount"])
    invoice["AmountDue"] = round2(invoice["AmountDue"] + payment["Amount"])
    invoice["Payments"] = [p for p in invoice["Payments"] if p["PaymentID"] != payment["PaymentID"]]
    if invoice["Status"] == "PAID":
        invoice["Status"] = "AUTHORISED"
        invoice.pop("FullyPaidOnDate", None)
    touch(invoice, call_now)
    return invoice


def payment_view(tenant: Tenant, payment: dict) -> dict:
    view = {k: v for k, v in payment.items() if k != "InvoiceID"}
    view["Invoice"] = invoice_summary(tenant, tenant.invoices[payment["InvoiceID"]])
    view["UpdatedDateUTCString"] = iso_utc_string(payment["UpdatedDateUTC"])
    return view


# handlers ---------------------------------------------------------------------------
def create_payments(call: Call):
    body = call.request.json or {}
    bare = "Payments" not in body
    sent = [body] if bare else body["Payments"]
    results, failed = [], False
    for element in sent:
        payment, errors, invoice = apply_payment(call.now, call.tenant, element)
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
            call.emit("INVOICE", "UPDATE", invoice["InvoiceID"])
        view = payment_view(call.tenant, payment)
        view["StatusAttributeString"] = "OK"
        results.append(view)
    # The single-payment POST has no summarizeErrors: an error is always a 400.
    if failed and (bare or call.summarize_errors()):
        return validation_exception(
            [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        )
    return envelope(call.now, "Payments", results)


def delete_payment(call: Call):
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
    invoice = remove_payment(call.now, call.tenant, payment)
    if call.behaviour.webhook_on_payment:
        call.emit("INVOICE", "UPDATE", invoice["InvoiceID"])
    return envelope(call.now, "Payments", [payment_view(call.tenant, payment)])


def list_payments(call: Call):
    rows = [payment_view(call.tenant, p) for p in call.tenant.payments.values()]
    since = call.modified_since_ms()
    if since is not None:
        rows = [r for r in rows if ms_of(r["UpdatedDateUTC"]) > since]
    try:
        if call.request.arg("where"):
            predicate = compile_where(call.request.arg("where"))
            rows = [r for r in rows if predicate(r)]
    except WhereError as error:
        return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
    rows = sort(rows, call.request.arg("order"))
    paged = paging(call.request, len(rows), "all")
    if not isinstance(paged, tuple):
        return paged
    offset, limit, pagination = paged
    return envelope(call.now, "Payments", rows[offset : offset + limit], pagination)


def get_payment(call: Call):
    payment = call.tenant.payments.get(call.request.params["id"].lower())
    if payment is None:
        return not_found()
    return envelope(call.now, "Payments", [payment_view(call.tenant, payment)])
