"""Rules real Xero applies to invoices and payments beyond the shape of their fields: currencies
the organisation has enabled, money at the currency's decimal places, dates, lock dates, a
plan's cap on approved invoices, tax type against the account's class, discounts and
quantities. Each message's source is in README.md ("Refusals")."""

from datetime import date
from decimal import Decimal
from typing import Any

from ..config import Behaviour
from ..currency_table import SIX_DP, VALID, decimals, rate_on
from ..money import has_more_places, to_decimal
from ..msdates import parse_date
from ..seed import ACCOUNT_CLASS
from ..store import Tenant

EARLIEST = date(1900, 1, 1)
APPROVED = ("AUTHORISED", "PAID", "VOIDED")  # every status an approved invoice can reach
PLAN_LIMIT = "You have reached the limit of invoices you can approve"
CAN_APPLY = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}


def bad_account(code: object) -> str:
    return f"Account code '{code}' is not a valid code for this document."


def bad_tax_type(code: object) -> str:
    return (
        f"The TaxType code '{code}' does not exist or cannot be used for this type of transaction."
    )


def bad_currency(code: object) -> str:
    return f"The currency code '{code}' is not valid."


def not_subscribed(code: object) -> str:
    return f"Organisation is not subscribed to currency {code}"


def no_rate(code: object, day: date) -> str:
    return f"No exchange rate is available for {code} on {day.isoformat()}; send a CurrencyRate."


def too_many_places(what: str, value: Decimal, code: str) -> str:
    places = decimals(code)
    return f"{what} {value} has more decimal places than {code} allows ({places})."


def tax_not_for_account(tax_type: object, code: object) -> str:
    return f"The TaxType code '{tax_type}' cannot be used with account code '{code}'."


def lock_messages(tenant: Tenant, day: date) -> list[str]:
    """Documents dated on or before a lock date cannot be approved, changed or paid."""
    messages = []
    for field, name in (("EndOfYearLockDate", "end of year"), ("PeriodLockDate", "period")):
        locked = parse_date(tenant.organisation.get(field))
        if locked is not None and day <= locked:
            messages.append(
                f"The document date cannot be before the {name} lock date, "
                f"currently set at {locked.strftime('%d-%b-%Y')}"
            )
    return messages


def date_messages(field: str, day: date | None) -> list[str]:
    if day is not None and day < EARLIEST:
        return [f"{field} must be on or after 1 January 1900."]
    return []


def currency_messages(tenant: Tenant, code: object) -> list[str]:
    """A currency must be one of Xero's codes, written as Xero writes it, and enabled."""
    if not isinstance(code, str) or code not in VALID:
        return [bad_currency(code)]
    if code not in tenant.currencies:
        return [not_subscribed(code)]
    return []


def currency_rate(
    tenant: Tenant, code: str, day: date, sent: object
) -> tuple[Decimal | None, list[str]]:
    """The rate a document in `code` dated `day` carries: the one sent, else the day rate."""
    if code == tenant.base_currency:
        return Decimal("1.000000"), []
    if sent is not None:
        rate = to_decimal(sent)
        if rate is None or rate <= 0:
            return None, ["The currency rate must be greater than zero."]
        return rate.quantize(SIX_DP), []
    rate = rate_on(tenant.rates, tenant.base_currency, code, day)
    return (rate, []) if rate is not None else (None, [no_rate(code, day)])


def plan_messages(tenant: Tenant, invoice_type: str, day: date, invoice_id: str) -> list[str]:
    """A Starter-like plan caps approved invoices per calendar month of the invoice date."""
    cap = tenant.plan.get(invoice_type)
    if cap is None:
        return []
    approved = sum(
        1
        for other in tenant.invoices.values()
        if other["Type"] == invoice_type
        and other["Status"] in APPROVED
        and other["InvoiceID"] != invoice_id
        and (parse_date(other["Date"]) or date.min).replace(day=1) == day.replace(day=1)
    )
    return [PLAN_LIMIT] if approved >= cap else []


def account_class(account: dict[str, Any]) -> str:
    account_class: str = account.get("Class") or ACCOUNT_CLASS.get(account.get("Type") or "", "")
    return account_class


def tax_account_messages(
    rate: dict[str, Any] | None, account: dict[str, Any] | None, tax_type: str
) -> list[str]:
    """A tax rate applies only to the account classes its CanApplyTo* flags allow."""
    if rate is None or account is None or tax_type == "NONE":
        return []
    flag = CAN_APPLY.get(account_class(account))
    if flag and not rate.get(flag):
        return [tax_not_for_account(tax_type, account.get("Code", ""))]
    return []


def line_number_messages(
    quantity: Decimal | None,
    discount_rate: Decimal | None,
    discount_amount: Decimal | None,
    code: str,
    behaviour: Behaviour,
) -> list[str]:
    messages = []
    if quantity is not None and quantity < 0 and not behaviour.allow_negative_quantities:
        messages.append(
            f"The quantity value '{quantity:.4f}' is invalid. Quantity must not be less than zero."
        )
    if discount_rate is not None and not 0 <= discount_rate <= 100:
        messages.append(f"The discount rate '{discount_rate:.2f}' is invalid.")
    if discount_amount is not None:
        if discount_amount < 0:
            messages.append(f"The discount amount '{discount_amount:.2f}' is invalid.")
        elif has_more_places(discount_amount, decimals(code)):
            messages.append(too_many_places("DiscountAmount", discount_amount, code))
    return messages
