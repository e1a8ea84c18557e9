"""Money and tax arithmetic as Xero does it: Decimal, per-line tax rounded to 2 dp then summed.

Rounding is ROUND_HALF_UP, which in `decimal` means half away from zero (Xero rounds .5 away from
zero, e.g. -0.125 -> -0.13)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, overload

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")
HUNDRED = Decimal(100)


@overload
def to_decimal(value: object, default: Decimal) -> Decimal: ...
@overload
def to_decimal(value: object, default: None = None) -> Decimal | None: ...
def to_decimal(value: object, default: Decimal | None = None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return default


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round4(value: Decimal) -> Decimal:
    return value.quantize(FOUR_DP, rounding=ROUND_HALF_UP)


def round_dp(value: Decimal, dp: int) -> Decimal:
    return round4(value) if dp == 4 else round2(value)


def money(value: Decimal, dp: int = 2) -> Decimal:
    """Money in a currency with `dp` decimal places, written at 2 dp as Xero writes money
    (JPY 150.15 -> 150.00)."""
    return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP).quantize(CENT)


def has_more_places(value: Decimal, dp: int) -> bool:
    """True when `value` cannot be written at `dp` decimal places without rounding."""
    return value != value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)


def effective_rate(components: list[dict[str, Any]]) -> Decimal:
    """S + c x (1 + S/100): compound components apply on top of the simple ones (help.xero.com)."""
    simple = sum(
        (to_decimal(c.get("Rate"), Decimal(0)) for c in components if not c.get("IsCompound")),
        Decimal(0),
    )
    rate = simple
    for component in components:
        if component.get("IsCompound"):
            compound = to_decimal(component.get("Rate"), Decimal(0))
            rate += compound * (1 + simple / HUNDRED)
    return round4(rate)


def display_rate(components: list[dict[str, Any]]) -> Decimal:
    # UNVERIFIED for compound rates: the nominal sum of the components.
    return round4(sum((to_decimal(c.get("Rate"), Decimal(0)) for c in components), Decimal(0)))


def line_amount(
    quantity: Decimal,
    unit_amount: Decimal,
    discount_rate: Decimal | None,
    discount_amount: Decimal | None,
    dp: int = 2,
) -> Decimal:
    gross = quantity * unit_amount
    if discount_rate:
        gross = gross * (HUNDRED - discount_rate) / HUNDRED
    elif discount_amount:
        gross = gross - discount_amount
    return money(gross, dp)


def line_tax(amount: Decimal, rate: Decimal, line_amount_types: str, dp: int = 2) -> Decimal:
    if line_amount_types == "NoTax" or not rate:
        return Decimal("0.00")
    if line_amount_types == "Inclusive":
        return money(amount - amount / (1 + rate / HUNDRED), dp)
    return money(amount * rate / HUNDRED, dp)


def totals(lines: list[dict[str, Any]], line_amount_types: str) -> tuple[Decimal, Decimal, Decimal]:
    """(SubTotal, TotalTax, Total) from lines already carrying LineAmount and TaxAmount (each
    already at the currency's places, so their sums are too)."""
    amount = sum((line["LineAmount"] for line in lines), Decimal("0.00"))
    tax = sum((line["TaxAmount"] for line in lines), Decimal("0.00"))
    if line_amount_types == "Inclusive":
        return round2(amount - tax), round2(tax), round2(amount)
    return round2(amount), round2(tax), round2(amount + tax)
