from decimal import Decimal

import pytest
from django.urls import reverse

from platform_crm.templatetags.formatting import percent
from taxes.rates import effective_rate

from ..factories import client_for


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ([("15", False)], "15.0000"),
        ([("5", False), ("7", False)], "12.0000"),
        ([("5", False), ("7", True)], "12.3500"),
        ([("0", False)], "0.0000"),
        ([("9.975", True)], "9.9750"),
    ],
)
def test_effective_rate_is_computed_as_xero_does(components, expected):
    rates = [(Decimal(rate), compound) for rate, compound in components]
    assert effective_rate(rates) == Decimal(expected)


@pytest.mark.django_db
def test_demo_data_loads_twice_without_duplicates_and_lists_taxes(settings):
    from platform_crm.demo import demo_data_load
    from platform_crm.models import Account
    from taxes.models import TaxRate

    demo_data_load()
    demo_data_load()
    kiwi = Account.objects.get(slug="kiwi-plumbing")
    assert kiwi.contacts.count() == 6
    assert TaxRate.objects.filter(account=kiwi).count() == 4
    admin = kiwi.memberships.get(user__username="admin").user
    page = client_for(admin).get(reverse("taxes:index", args=[kiwi.slug])).content.decode()
    assert "GST + compound QST" in page and "12.35%" in page


@pytest.mark.parametrize(
    ("value", "shown"),
    [("12.3500", "12.35%"), ("10.0000", "10%"), ("0.0000", "0%"), ("9.9750", "9.975%")],
)
def test_rates_are_shown_without_trailing_zeros_or_exponents(value, shown):
    assert percent(Decimal(value)) == shown
