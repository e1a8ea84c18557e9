"""The bridge from our rows to taxes.calculation: anything with quantity, unit_price,
discount_rate and tax_rate (an InvoiceLine, a services.LineInput) becomes a calculation.Line."""

from collections.abc import Sequence

from taxes.calculation import Component, Line, Totals, invoice_totals
from taxes.calculation import TaxMode as CalculationTaxMode
from taxes.models import TaxRate


def tax_components(tax_rate: TaxRate | None) -> tuple[Component, ...]:
    if tax_rate is None:
        return ()
    return tuple(
        Component(name=c.name, rate=c.rate, compound=c.is_compound)
        for c in tax_rate.components.all()
    )


def totals_for(*, tax_mode: str, lines: Sequence) -> Totals:
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
    )
