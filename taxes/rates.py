"""Effective tax rates, computed the way Xero computes them."""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

RATE_PLACES = Decimal("0.0001")


def effective_rate(components: Iterable[tuple[Decimal, bool]]) -> Decimal:
    """Percent, 4 dp: non-compound rates add up; a compound rate applies on top of them.

    5% + compound 7% -> 5 + 7 * 1.05 = 12.35.
    """
    components = list(components)
    simple = sum((Decimal(rate) for rate, compound in components if not compound), Decimal(0))
    compound = sum((Decimal(rate) for rate, is_compound in components if is_compound), Decimal(0))
    total = simple + compound * (1 + simple / 100)
    return total.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
