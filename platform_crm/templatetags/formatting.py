from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """12.3500 -> '12.35%', 10.0000 -> '10%' (no exponent, no trailing zeros)."""
    if value in (None, ""):
        return ""
    text = format(Decimal(value).normalize(), "f")
    return f"{text}%"
