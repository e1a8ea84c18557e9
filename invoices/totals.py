"""The bridge from our rows to taxes.calculation: anything with quantity, unit_price,
discount_rate and tax_rate (an InvoiceLine, a services.LineInput) becomes a calculation.Line."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import models

from taxes.calculation import Component, Line, Totals, invoice_totals
from taxes.calculation import TaxMode as CalculationTaxMode
from taxes.models import TaxRate

from .currencies import currency_places
from .models import Invoice, InvoiceLine


def tax_components(tax_rate: TaxRate | None) -> tuple[Component, ...]:
    if tax_rate is None:
        return ()
    return tuple(
        Component(name=c.name, rate=c.rate, compound=c.is_compound)
        for c in tax_rate.components.all()
    )


def totals_for(*, tax_mode: str, lines: Sequence[Any], currency: str = "") -> Totals:
    """Rounded to the currency's places (JPY to whole yen, as Xero rounds it)."""
    return invoice_totals(
        [
            Line(
                quantity=line.quantity,
                unit_amount=line.unit_price,
                discount_rate=line.discount_rate,
                components=tax_components(line.tax_rate),
            )
            for line in lines
        ],
        CalculationTaxMode(tax_mode),
        currency_places(currency),
    )


def _column_max(field: object) -> Decimal:
    """The largest amount a DecimalField column holds: 999,999,999,999.99 for (14, 2)."""
    assert isinstance(field, models.DecimalField)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** (
        -field.decimal_places
    )


LINE_AMOUNT_MAX = min(
    _column_max(InvoiceLine._meta.get_field(name)) for name in ("line_amount", "tax_amount")
)
TOTAL_MAX = min(
    _column_max(Invoice._meta.get_field(name)) for name in ("subtotal", "total_tax", "total")
)


def totals_too_large(totals: Totals) -> list[str]:
    """Why these totals cannot be stored (a column would overflow), in words; [] if they fit."""
    reasons = [
        f"Line {n}: its amount is more than a line can hold ({LINE_AMOUNT_MAX:,}); "
        "lower its quantity or unit price."
        for n, line in enumerate(totals.lines, start=1)
        if max(abs(line.line_amount), abs(line.tax_amount)) > LINE_AMOUNT_MAX
    ]
    if not reasons and max(abs(totals.subtotal), abs(totals.total)) > TOTAL_MAX:
        reasons.append(
            f"The invoice total is more than an invoice can hold ({TOTAL_MAX:,}); "
            "split it into two invoices."
        )
    return reasons
