from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taxes.calculation import Component, Line, TaxMode, invoice_totals, line_result

GST = (Component("GST", D("15")),)
GST_PST = (Component("GST", D("5")), Component("PST", D("7")))
GST_QST = (Component("GST", D("5")), Component("QST", D("7"), compound=True))


def test_tax_is_rounded_per_line_then_summed_not_charged_on_the_total():
    # 3 lines of 0.10 at 15%: each line's tax is 0.015 -> 0.02, so 0.06; 15% of 0.30 is 0.05.
    totals = invoice_totals([Line(D(1), D("0.10"), components=GST)] * 3, TaxMode.EXCLUSIVE)
    assert totals.total_tax == D("0.06")
    assert totals.total == D("0.36")


def test_half_a_cent_rounds_away_from_zero():
    assert line_result(
        Line(D(1), D("0.05"), components=(Component("T", D(10)),)), TaxMode.EXCLUSIVE
    ).tax_amount == D("0.01")
    assert line_result(
        Line(D(1), D("-0.05"), components=(Component("T", D(10)),)), TaxMode.EXCLUSIVE
    ).tax_amount == D("-0.01")


def test_inclusive_lines_hold_their_tax_and_the_subtotal_is_the_remainder():
    totals = invoice_totals([Line(D(1), D("115.00"), components=GST)], TaxMode.INCLUSIVE)
    assert (totals.subtotal, totals.total_tax, totals.total) == (
        D("100.00"),
        D("15.00"),
        D("115.00"),
    )


def test_no_tax_invoices_charge_nothing_whatever_the_rates():
    totals = invoice_totals([Line(D(2), D("9.99"), components=GST)], TaxMode.NO_TAX)
    assert (totals.subtotal, totals.total_tax, totals.total) == (D("19.98"), D("0.00"), D("19.98"))


def test_discount_and_four_decimal_quantities_round_the_line_to_the_cent():
    line = Line(D("1.2345"), D("19.9900"), discount_rate=D("12.5"), components=GST)
    result = line_result(line, TaxMode.EXCLUSIVE)
    # 1.2345 * 19.99 = 24.677655; less 12.5% = 21.592948 -> 21.59; tax 3.2385 -> 3.24
    assert (result.line_amount, result.tax_amount) == (D("21.59"), D("3.24"))


def test_compound_component_is_charged_on_top_of_the_other_tax():
    result = line_result(Line(D(1), D("100.00"), components=GST_QST), TaxMode.EXCLUSIVE)
    assert result.tax_amount == D("12.35")
    assert result.component_taxes == (D("5.00"), D("7.35"))


def test_multi_component_parts_always_add_up_to_the_line_tax():
    result = line_result(Line(D(1), D("10.10"), components=GST_PST), TaxMode.EXCLUSIVE)
    assert result.tax_amount == D("1.21")  # 12% of 10.10, not 0.51 + 0.71
    assert sum(result.component_taxes) == result.tax_amount


money = st.decimals(min_value=D("-10000"), max_value=D("100000"), places=2)
quantity = st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4)
rates = st.sampled_from([(), GST, GST_PST, GST_QST, (Component("Zero", D(0)),)])


@given(
    st.lists(st.tuples(quantity, money, st.integers(0, 100), rates), min_size=1, max_size=8),
    st.sampled_from(list(TaxMode)),
)
def test_totals_are_consistent_to_the_cent(raw_lines, mode):
    lines = [Line(q, u, D(d), c) for q, u, d, c in raw_lines]
    totals = invoice_totals(lines, mode)
    for value in (totals.subtotal, totals.total_tax, totals.total):
        assert value == value.quantize(D("0.01"))
    assert totals.subtotal + totals.total_tax == totals.total
    assert totals.total_tax == sum(r.tax_amount for r in totals.lines)
    for result in totals.lines:
        assert sum(result.component_taxes, D(0)) == (
            result.tax_amount if result.component_taxes else 0
        )


@pytest.mark.parametrize("mode", list(TaxMode))
def test_an_empty_invoice_is_all_zero(mode):
    totals = invoice_totals([], mode)
    assert (totals.subtotal, totals.total_tax, totals.total) == (D(0), D(0), D(0))
