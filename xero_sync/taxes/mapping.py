"""Xero's tax rates read into ours, and whether a mapping still holds: pure, no database."""

from datetime import datetime
from decimal import Decimal

from django.db import models

from ..inbound import normalise
from ..models import XeroConnection
from .models import TaxMapping, XeroTaxRate

PLACES = Decimal("0.0001")


def rate_places(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(PLACES)


def tax_rate_from_xero(connection: XeroConnection, raw: object, now: datetime) -> XeroTaxRate:
    """One of Xero's tax rates (its JSON) as an unsaved row; normalise.Unstorable when it
    cannot be."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a tax rate")

    def length(name: str) -> int:
        field = XeroTaxRate._meta.get_field(name)
        assert isinstance(field, models.CharField) and field.max_length is not None
        return field.max_length

    rate_field = XeroTaxRate._meta.get_field("effective_rate")
    assert isinstance(rate_field, models.DecimalField)
    tax_type = normalise.fits(raw.get("TaxType"), length("tax_type"))
    if not tax_type:
        raise normalise.Unstorable("it has no TaxType")
    components = raw.get("TaxComponents")
    return XeroTaxRate(
        connection=connection,
        tax_type=tax_type,
        name=normalise.text(raw.get("Name"), length("name")),
        status=normalise.text(raw.get("Status"), length("status")),
        effective_rate=normalise.decimal(
            raw.get("EffectiveRate", 0),
            max_digits=rate_field.max_digits,
            places=rate_field.decimal_places,
        ),
        components=[
            {
                "name": normalise.text(c.get("Name"), 100),
                "rate": str(normalise.decimal(c.get("Rate", 0), max_digits=8, places=4)),
                "compound": normalise.flag(c.get("IsCompound")),
            }
            for c in (components if isinstance(components, list) else [])
            if isinstance(c, dict)
        ],
        can_apply_to_revenue=normalise.flag(raw.get("CanApplyToRevenue")),
        fetched_at=now,
    )


def broken_reason(mapping: TaxMapping, xero_rates: dict[str, XeroTaxRate]) -> str:
    tax_rate = mapping.tax_rate
    xero = xero_rates.get(mapping.xero_tax_type)
    if xero is None:
        return f"Xero no longer has the tax rate {mapping.xero_name}."
    if not xero.usable_on_sales:
        return f"{xero.name} is no longer active for sales in Xero."
    if rate_places(xero.effective_rate) != rate_places(mapping.effective_rate):
        return (
            f"{xero.name} in Xero is now {xero.effective_rate.normalize():f}%, "
            f"not {mapping.effective_rate.normalize():f}%."
        )
    if rate_places(tax_rate.effective_rate) != rate_places(mapping.effective_rate):
        return (
            f"{tax_rate.name} is now {tax_rate.effective_rate.normalize():f}%, "
            f"not {mapping.effective_rate.normalize():f}% as when it was mapped."
        )
    return ""
