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
    from demo.data import demo_data_load
    from platform_crm.models import Account
    from taxes.models import TaxRate

    demo_data_load()
    demo_data_load()
    kiwi = Account.objects.get(slug="kiwi-plumbing")
    assert kiwi.contacts.count() == 7  # the demo contacts, Chloe Wu entered twice among them
    assert TaxRate.objects.filter(account=kiwi).count() == 5
    admin = kiwi.memberships.get(user__username="admin").user
    page = client_for(admin).get(reverse("taxes:index", args=[kiwi.slug])).content.decode()
    assert "GST + compound levy" in page and "17.3%" in page


@pytest.mark.parametrize(
    ("value", "shown"),
    [("12.3500", "12.35%"), ("10.0000", "10%"), ("0.0000", "0%"), ("9.9750", "9.975%")],
)
def test_rates_are_shown_without_trailing_zeros_or_exponents(value, shown):
    assert percent(Decimal(value)) == shown


def _components(*rows):
    data = {
        "components-TOTAL_FORMS": str(len(rows) + 1),
        "components-INITIAL_FORMS": "0",
        "components-MIN_NUM_FORMS": "1",
        "components-MAX_NUM_FORMS": "6",
    }
    for i, (name, rate, compound) in enumerate(rows):
        data[f"components-{i}-name"] = name
        data[f"components-{i}-rate"] = rate
        if compound:
            data[f"components-{i}-is_compound"] = "on"
    return data


@pytest.mark.django_db
def test_admin_creates_a_compound_multi_component_rate(account, admin_user):
    from taxes.models import TaxRate

    response = client_for(admin_user).post(
        reverse("taxes:new", args=[account.slug]),
        {"name": "GST + QST", "is_active": "on"}
        | _components(("GST", "5", False), ("QST", "7", True)),
    )
    assert response.status_code == 302
    rate = TaxRate.objects.get(account=account, name="GST + QST")
    assert rate.effective_rate == Decimal("12.35")
    assert [(c.name, c.is_compound) for c in rate.components.all()] == [
        ("GST", False),
        ("QST", True),
    ]


@pytest.mark.django_db
def test_two_compound_components_or_a_rate_over_100_are_refused_with_reasons(account, admin_user):
    client = client_for(admin_user)
    url = reverse("taxes:new", args=[account.slug])
    two_compound = client.post(
        url, {"name": "Odd"} | _components(("A", "5", True), ("B", "7", True))
    )
    assert "Only one component can be compound" in two_compound.content.decode()
    too_high = client.post(url, {"name": "High"} | _components(("A", "150", False)))
    assert "Ensure this value is less than or equal to 100" in too_high.content.decode()


@pytest.mark.django_db
def test_editing_without_touching_components_keeps_them(account, admin_user):
    from taxes.services import tax_rate_create

    rate = tax_rate_create(
        account=account,
        name="GST + PST",
        components=[("GST", Decimal(5), False), ("PST", Decimal(7), False)],
    )
    data = {
        "name": "GST+PST (BC)",
        "is_active": "on",
        "components-TOTAL_FORMS": "3",
        "components-INITIAL_FORMS": "2",
        "components-MIN_NUM_FORMS": "1",
        "components-MAX_NUM_FORMS": "6",
        "components-0-name": "GST",
        "components-0-rate": "5.0000",
        "components-1-name": "PST",
        "components-1-rate": "7.0000",
    }
    client_for(admin_user).post(reverse("taxes:edit", args=[account.slug, rate.pk]), data)
    rate.refresh_from_db()
    assert rate.name == "GST+PST (BC)"
    assert rate.effective_rate == Decimal("12")
