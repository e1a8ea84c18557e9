"""Mapping CRM tax rates to the organisation's Xero tax rates (sandbox NZ org: OUTPUT2 15%,
TAX001 GST + levy 2% = 17%, TAX002 GST + compound levy 2% = 17.3%, zero-rated ones, a DELETED
12.5% and input-only rates)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from xero_sandbox.seed import default_orgs
from xero_sync.models import TaxMapping
from xero_sync.taxes.services import mapping_rows, tax_mapping_set, unmapped_tax_rates

from ..factories import client_for, tax_rate_make
from .conftest import KIWI, connect


def row_for(connection, tax_rate):
    return next(r for r in mapping_rows(connection) if r.tax_rate == tax_rate)


@pytest.fixture
def connected(xero, account, admin_user):
    return connect(xero, account, admin_user)


def _map(client, account, tax_rate, tax_type):
    return client.post(
        reverse("xero_sync:tax_mapping", args=[account.slug]),
        {f"map-{tax_rate.pk}": tax_type},
        follow=True,
    )


@pytest.mark.django_db
def test_a_compound_multi_component_rate_maps_to_its_xero_twin(connected, account, admin_user):
    levy = tax_rate_make(
        account, "GST + compound levy", ("GST", Decimal(15), False), ("Levy", Decimal(2), True)
    )
    client = client_for(admin_user)
    page = client.get(reverse("xero_sync:tax_mapping", args=[account.slug]))
    row = row_for(connected, levy)
    assert [o.tax_type for o in row.options] == ["TAX002"]
    text = page.content.decode()
    assert "GST 15% + Levy 2% compound" in text  # both sides' components are shown
    response = _map(client, account, levy, "TAX002")
    assert "Saved: mapped GST + compound levy to " in response.content.decode()
    assert levy.xero_mapping.xero_tax_type == "TAX002"
    assert row_for(connected, levy).status == "mapped"


@pytest.mark.django_db
def test_only_equal_rates_are_offered_and_a_near_miss_is_refused_naming_both(
    connected, account, admin_user
):
    near = tax_rate_make(
        account, "GST + levy 2.1%", ("GST", Decimal(15), False), ("Levy", Decimal("2.1"), False)
    )
    flat = tax_rate_make(account, "Flat 17%", ("All in", Decimal(17), False))
    client = client_for(admin_user)
    client.get(reverse("xero_sync:tax_mapping", args=[account.slug]))  # reads Xero's rates
    assert row_for(connected, near).options == []
    assert row_for(connected, near).status == "no_equal_rate"
    assert [o.tax_type for o in row_for(connected, flat).options] == ["TAX001"]
    response = _map(client, account, near, "TAX001")
    text = response.content.decode()
    assert "GST + levy 2.1% (17.1%) cannot be mapped to GST + Regional levy 2% (17%)" in text
    assert not TaxMapping.objects.filter(tax_rate=near).exists()


@pytest.mark.django_db
def test_deleted_and_purchase_only_xero_rates_are_never_offered(connected, account):
    old = tax_rate_make(account, "Old GST", ("GST", Decimal("12.5"), False))
    gst = tax_rate_make(account, "GST", ("GST", Decimal(15), False))
    from xero_sync.taxes.services import xero_tax_rates_refresh

    xero_tax_rates_refresh(connected)
    assert row_for(connected, old).options == []  # TAX003 12.5% is DELETED in Xero
    assert [o.tax_type for o in row_for(connected, gst).options] == ["OUTPUT2"]  # not INPUT2


@pytest.mark.django_db
def test_a_rate_with_no_twin_says_how_to_add_one_in_xero(connected, account, admin_user):
    tax_rate_make(account, "Odd 9%", ("Tax", Decimal(9), False))
    page = client_for(admin_user).get(reverse("xero_sync:tax_mapping", args=[account.slug]))
    text = page.content.decode()
    assert "Xero has no active sales tax rate at 9%" in text
    assert "never creates tax rates in Xero" in text


@pytest.mark.django_db
def test_unmapped_rates_are_flagged_on_the_integration_page(connected, account, admin_user):
    gst = tax_rate_make(account, "GST", ("GST", Decimal(15), False))
    page = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "1 tax rate not mapped to Xero" in page.content.decode()
    from xero_sync.taxes.services import xero_tax_rates_refresh

    xero_tax_rates_refresh(connected)
    tax_mapping_set(connection=connected, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user)
    assert unmapped_tax_rates(account) == []
    page = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "not mapped to Xero" not in page.content.decode()


@pytest.mark.django_db
def test_editing_the_crm_rate_breaks_its_mapping(connected, account, admin_user):
    from taxes.services import tax_rate_update
    from xero_sync.taxes.services import xero_tax_rates_refresh

    gst = tax_rate_make(account, "GST", ("GST", Decimal(15), False))
    xero_tax_rates_refresh(connected)
    tax_mapping_set(connection=connected, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user)
    tax_rate_update(
        tax_rate=gst, name="GST", is_active=True, components=[("GST", Decimal(16), False)]
    )
    gst.xero_mapping.refresh_from_db()
    assert gst.xero_mapping.broken_reason == "GST is now 16%, not 15% as when it was mapped."
    assert unmapped_tax_rates(account) == [gst]


@pytest.mark.django_db
def test_a_xero_rate_that_changes_or_disappears_is_flagged_at_the_next_refresh(
    xero, connected, account, admin_user
):
    from xero_sync.taxes.services import xero_tax_rates_refresh

    levy = tax_rate_make(account, "Levy", ("GST", Decimal(15), False), ("L", Decimal(2), True))
    flat = tax_rate_make(account, "Flat 17", ("All", Decimal(17), False))
    xero_tax_rates_refresh(connected)
    tax_mapping_set(connection=connected, tax_rate=levy, xero_tax_type="TAX002", user=admin_user)
    tax_mapping_set(connection=connected, tax_rate=flat, xero_tax_type="TAX001", user=admin_user)

    # In Xero: TAX002's levy goes up to 2.5% and TAX001 is deleted.
    orgs = default_orgs(n_contacts=25)
    kiwi = next(o for o in orgs if o["Organisation"]["Name"] == KIWI)
    for rate in kiwi["TaxRates"]:
        if rate["TaxType"] == "TAX002":
            rate["TaxComponents"][1]["Rate"] = Decimal("2.5")
            rate["EffectiveRate"] = Decimal("17.8750")
        if rate["TaxType"] == "TAX001":
            rate["Status"] = "DELETED"
    xero.seed(data=orgs, replace=True)
    assert levy.xero_mapping.broken_reason == ""  # nothing noticed before the refresh

    client_for(admin_user).post(
        reverse("xero_sync:tax_mapping", args=[account.slug]), {"refresh": "1"}
    )
    levy.xero_mapping.refresh_from_db()
    flat.xero_mapping.refresh_from_db()
    assert "is now 17.875%, not 17.3%" in levy.xero_mapping.broken_reason
    assert "no longer active for sales" in flat.xero_mapping.broken_reason
    assert set(unmapped_tax_rates(account)) == {levy, flat}


@pytest.mark.django_db
def test_one_form_saves_every_row_and_leaves_unchanged_rows_alone(connected, account, admin_user):
    from xero_sync.taxes.services import xero_tax_rates_refresh

    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    levy = tax_rate_make(
        account, "GST + compound levy", ("GST", Decimal(15), False), ("Levy", Decimal(2), True)
    )
    zero = tax_rate_make(account, "Zero rated", ("GST", Decimal(0), False))
    odd = tax_rate_make(account, "Odd 9%", ("Tax", Decimal(9), False))
    xero_tax_rates_refresh(connected)
    tax_mapping_set(connection=connected, tax_rate=zero, xero_tax_type="ZERORATEDOUTPUT", user=None)
    url = reverse("xero_sync:tax_mapping", args=[account.slug])
    client = client_for(admin_user)
    page = client.get(url).content.decode()
    assert page.count('id="tax-mapping-form"') == 1 and page.count("<form") == 3  # +refresh, logout
    assert f'name="map-{gst.pk}"' in page and f'name="map-{odd.pk}"' not in page  # no twin

    response = client.post(
        url,
        {
            f"map-{gst.pk}": "OUTPUT2",
            f"map-{levy.pk}": "TAX002",
            f"map-{zero.pk}": "ZERORATEDOUTPUT",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Saved: mapped " in text and "GST 15% to 15% GST on Income" in text
    assert "GST + compound levy to " in text and "Zero rated" not in text.split("Saved")[1][:200]
    assert {r.tax_rate.name: r.status for r in mapping_rows(connected)} == {
        "GST 15%": "mapped",
        "GST + compound levy": "mapped",
        "Zero rated": "mapped",
        "Odd 9%": "no_equal_rate",
    }
    zero_mapped_at = TaxMapping.objects.get(tax_rate=zero).mapped_at

    # Clearing one row, a value no row offers for another: the first is saved, the second
    # refused with its reason; the untouched row is not written again.
    response = client.post(
        url,
        {f"map-{gst.pk}": "", f"map-{levy.pk}": "OUTPUT2\x00", f"map-{zero.pk}": "ZERORATEDOUTPUT"},
        follow=True,
    )
    text = response.content.decode()
    assert "GST 15% no longer mapped" in text
    assert "GST + compound levy: choose one of the Xero rates offered" in text
    assert not TaxMapping.objects.filter(tax_rate=gst).exists()
    assert TaxMapping.objects.get(tax_rate=levy).xero_tax_type == "TAX002"
    assert TaxMapping.objects.get(tax_rate=zero).mapped_at == zero_mapped_at


@pytest.mark.django_db
def test_settings_taxes_shows_each_rates_mapping_once_xero_is_connected(xero, account, admin_user):
    from xero_sync.taxes.services import xero_tax_rates_refresh

    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_rate_make(account, "Odd 9%", ("Tax", Decimal(9), False))
    client = client_for(admin_user)
    taxes = reverse("taxes:index", args=[account.slug])
    page = client.get(taxes).content.decode()
    assert "not available yet" not in page
    assert "When Xero is connected" in page and "In Xero</th>" not in page

    connection = connect(xero, account, admin_user)
    xero_tax_rates_refresh(connection)
    tax_mapping_set(connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user)
    page = client.get(taxes).content.decode()
    assert "not available yet" not in page and "When Xero is connected" not in page
    assert "In Xero</th>" in page
    assert '<td class="xero-mapping">15% GST on Income</td>' in page
    assert page.count("Not mapped") == 1  # Odd 9%
    assert reverse("xero_sync:tax_mapping", args=[account.slug]) in page


def test_a_posted_rate_id_that_cannot_be_an_id_is_ignored_not_a_500(connected, account, admin_user):
    """100,000 digits as the rate's id in the field name was a 500 (int() refuses them)."""
    gst = tax_rate_make(account, "GST", ("GST", Decimal(15), False))
    client = client_for(admin_user)
    url = reverse("xero_sync:tax_mapping", args=[account.slug])
    client.get(url)  # reads Xero's rates
    body = f"map-{'9' * 100_000}=OUTPUT2"  # urlencoded: multipart refuses such a long name
    response = client.post(url, body, content_type="application/x-www-form-urlencoded", follow=True)
    assert response.status_code == 200 and "Nothing changed." in response.content.decode()
    assert _map(client, account, gst, "OUTPUT2").status_code == 200
    assert TaxMapping.objects.get().tax_rate == gst
