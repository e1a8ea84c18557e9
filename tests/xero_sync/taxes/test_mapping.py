"""Xero's tax rates read into ours, pure: no database, no sandbox."""

import datetime as dt
from decimal import Decimal as D

import pytest

from xero_sync.inbound import normalise
from xero_sync.models import XeroConnection
from xero_sync.taxes.mapping import rate_places, tax_rate_from_xero

from ..spec_examples import spec_example

pytestmark = pytest.mark.pure

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
CONNECTION = XeroConnection(pk=1)


@pytest.mark.parametrize(
    ("tax_type", "name", "rate", "on_sales"),
    [
        ("INPUT2", "15% GST on Expenses", D("15.0000"), False),
        ("OUTPUT2", "15% GST on Income", D("15.0000"), True),
        ("GSTONIMPORTS", "GST on Imports", D("0.0000"), False),
        ("NONE", "No GST", D("0.0000"), True),
    ],
)
def test_the_spec_s_tax_rates_are_read(tax_type, name, rate, on_sales):
    raw = next(r for r in spec_example("/TaxRates", "TaxRates") if r["TaxType"] == tax_type)
    read = tax_rate_from_xero(CONNECTION, raw, NOW)
    assert (read.tax_type, read.name, read.effective_rate) == (tax_type, name, rate)
    assert read.usable_on_sales is on_sales
    assert read.components == [{"name": "GST", "rate": str(rate), "compound": False}]
    assert read.fetched_at == NOW


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not a rate", "not a tax rate"),
        ({"Name": "Nameless"}, "no TaxType"),
        ({"TaxType": "X" * 51}, "51 characters"),
        ({"TaxType": "BIG", "EffectiveRate": "123456.0"}, "out of range"),
    ],
)
def test_a_tax_rate_that_cannot_be_stored_is_unstorable(raw, why):
    with pytest.raises(normalise.Unstorable, match=why):
        tax_rate_from_xero(CONNECTION, raw, NOW)


def test_odd_components_are_left_out_and_flags_read_as_xero_writes_them():
    raw = {
        "TaxType": "OUTPUT3",
        "Status": "ACTIVE",
        "CanApplyToRevenue": "true",
        "EffectiveRate": 9,
        "TaxComponents": [{"Name": "GST", "Rate": "9", "IsCompound": True}, "junk"],
    }
    read = tax_rate_from_xero(CONNECTION, raw, NOW)
    assert read.can_apply_to_revenue is True
    assert read.components == [{"name": "GST", "rate": "9.0000", "compound": True}]


@pytest.mark.parametrize(
    ("value", "expected"), [(D("15"), D("15.0000")), ("12.5", D("12.5000")), (0, D("0.0000"))]
)
def test_rates_compare_at_four_places(value, expected):
    assert rate_places(value) == expected
