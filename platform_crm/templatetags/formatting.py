from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import template
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    """12.3500 -> '12.35%', 10.0000 -> '10%' (no exponent, no trailing zeros)."""
    if value in (None, ""):
        return ""
    text = format(Decimal(value).normalize(), "f")
    return f"{text}%"


def decimal_text(value: Any, min_places: int = 0) -> str:
    """A stored Decimal as people write it: no exponent, no padding zeros beyond `min_places`
    (240.0000 -> '240.00' for a price, 2.5000 -> '2.5' for a quantity)."""
    if value in (None, ""):
        return ""
    number = Decimal(value).normalize()
    exponent = number.as_tuple().exponent
    # A finite Decimal's exponent is an int ('n', 'N' and 'F' mark NaN and infinities).
    places = max(-exponent, min_places, 0) if isinstance(exponent, int) else min_places
    return f"{number:.{places}f}"


@register.filter
def plain(value: Any, min_places: int | str = 0) -> str:
    """{{ line.unit_price|plain:2 }} -> '240.00'; {{ line.quantity|plain }} -> '2.5'."""
    return decimal_text(value, int(min_places))


@register.filter
def minutes(value: timedelta) -> int:
    """A timedelta in whole minutes: timedelta(minutes=15) -> 15."""
    return int(value.total_seconds() // 60)


@register.filter
def email_link(address: str | None) -> str:
    """A mailto: link for a valid address, the address as text otherwise. Emails from Xero come
    unchecked, and a mailto: link reads '?' as the start of headers: 'a@b.com?cc=x@evil.example'
    would add a recipient. Valid addresses are percent-encoded too ('a?cc=x@b.com' is valid)."""
    if not address:
        return ""
    try:
        validate_email(address)
    except ValidationError:
        return conditional_escape(address)
    return format_html('<a href="mailto:{}">{}</a>', quote(address, safe="@"), address)


@register.filter
def ago(value: Any) -> str:
    """{{ sync.synced_at|ago }} -> '3 minutes ago', or 'just now' within the first minute
    (Django's timesince alone says '0 minutes')."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
