"""Invoice arithmetic, done the way Xero does it, in Decimal.

- A line's amount is quantity x unit price less its discount, rounded to the cent (to the
  currency's places: JPY has none).
- A line's tax is computed on that amount at the tax rate's effective rate and rounded the
  same way, line by line; the invoice's tax is the sum of its lines' taxes (never tax on the total).
- Tax-exclusive: the total is subtotal + tax. Tax-inclusive: the line amount already holds the
  tax (tax = amount x r / (100 + r)); the subtotal is what remains. No tax: tax is zero.
- Rounding is half away from zero (ROUND_HALF_UP on Decimal), as Xero rounds.
- A multi-component rate is charged at its effective rate; the line's tax is then split across
  the components in proportion, each rounded, the last taking the remainder, so the parts always
  add up to the line's tax.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from .rates import effective_rate

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


class TaxMode(StrEnum):
    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"
    NO_TAX = "no_tax"


@dataclass(frozen=True)
class Component:
    name: str
    rate: Decimal  # percent
    compound: bool = False


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal = Decimal(0)  # percent
    components: Sequence[Component] = ()


@dataclass(frozen=True)
class LineResult:
    line_amount: Decimal
    tax_amount: Decimal
    component_taxes: tuple[Decimal, ...]


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineResult, ...]
    subtotal: Decimal
    total_tax: Decimal
    total: Decimal


def to_cents(value: Decimal, places: int = 2) -> Decimal:
    """Rounded to the currency's smallest unit: the cent, or the whole unit for places=0."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def line_amount(line: Line, places: int = 2) -> Decimal:
    gross = Decimal(line.quantity) * Decimal(line.unit_amount)
    return to_cents(gross * (HUNDRED - Decimal(line.discount_rate)) / HUNDRED, places)


def _split(tax: Decimal, components: Sequence[Component], places: int) -> tuple[Decimal, ...]:
    """Each component's share of a line's tax, in cents, adding up to the tax exactly."""
    if not components:
        return ()
    simple = sum((c.rate for c in components if not c.compound), Decimal(0))
    # A compound component's weight includes the tax it is charged on top of.
    weights = [c.rate * (1 + simple / HUNDRED) if c.compound else c.rate for c in components]
    total_weight = sum(weights, Decimal(0))
    if total_weight == 0:
        return tuple(Decimal("0.00") for _ in components)
    parts = [to_cents(tax * w / total_weight, places) for w in weights[:-1]]
    return (*parts, tax - sum(parts, Decimal(0)))


def line_result(line: Line, mode: TaxMode, places: int = 2) -> LineResult:
    amount = line_amount(line, places)
    if mode == TaxMode.NO_TAX or not line.components:
        return LineResult(amount, Decimal("0.00"), tuple(Decimal("0.00") for _ in line.components))
    rate = effective_rate((c.rate, c.compound) for c in line.components)
    if mode == TaxMode.EXCLUSIVE:
        tax = to_cents(amount * rate / HUNDRED, places)
    else:
        tax = to_cents(amount * rate / (HUNDRED + rate), places)
    return LineResult(amount, tax, _split(tax, line.components, places))


def invoice_totals(lines: Sequence[Line], mode: TaxMode, places: int = 2) -> Totals:
    """`places`: the currency's decimal places (2; 0 for JPY and the like)."""
    results = tuple(line_result(line, mode, places) for line in lines)
    amounts = sum((r.line_amount for r in results), Decimal("0.00"))
    tax = sum((r.tax_amount for r in results), Decimal("0.00"))
    if mode == TaxMode.INCLUSIVE:
        return Totals(results, subtotal=amounts - tax, total_tax=tax, total=amounts)
    return Totals(results, subtotal=amounts, total_tax=tax, total=amounts + tax)
