"""What Xero sends, made to fit what our columns hold.

Xero's data is untrusted input: a field may be any length, carry any character (NUL, control
characters, lone surrogates), or be missing, and a number may lie outside a column's range.
These pure functions turn one value into what can be stored, or say it cannot be
(`Unstorable`); the record that holds it is then quarantined, never its neighbours.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ELLIPSIS = "…"
# C0 and C1 control characters and DEL; tabs and line breaks are handled apart.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile("[\t\n\r]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
# JSON nested deeper than this is not a Xero record: kept raw in quarantine, never walked.
MAX_DEPTH = 32


class Unstorable(ValueError):
    """A record from Xero that cannot be stored, with the reason in plain words."""


def text(value: object, limit: int | None = None, *, lines: bool = False) -> str:
    """A string fit for a text column: no NUL or control characters, no lone surrogates,
    trimmed, and cut to `limit` characters (the cut marked with an ellipsis). Tabs and line
    breaks become spaces unless `lines`. A number or boolean becomes its text; a list or
    object (a shape the field never has) becomes empty."""
    if value is None or isinstance(value, dict | list):
        return ""
    value = value if isinstance(value, str) else str(value)
    value = _SURROGATE.sub("\ufffd", _CONTROL.sub("", value))
    if not lines:
        value = _BREAKS.sub(" ", value)
    value = value.strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + ELLIPSIS
    return value


def fits(value: object, limit: int) -> str:
    """text() for a field whose whole value matters (an id, a code): never cut, so a value
    too long for its column makes the record unstorable."""
    cleaned = text(value)
    if len(cleaned) > limit:
        raise Unstorable(f"a value of {len(cleaned)} characters where at most {limit} fit")
    return cleaned


def json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON value as PostgreSQL's jsonb takes it: strings (keys too) without NUL or lone
    surrogates, numbers as JSON numbers. Raises Unstorable when nested beyond MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise Unstorable(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {json_safe(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v, depth + 1) for v in value]
    if isinstance(value, Decimal):  # the client reads Xero's numbers as Decimal
        return float(value) if value.is_finite() else None
    return value


def decimal(value: object, *, max_digits: int, places: int) -> Decimal:
    """A number for a DecimalField(max_digits, places), rounded to its places as Xero
    rounds (half away from zero). Raises Unstorable when it is not a finite number or does
    not fit the column."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise Unstorable(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise Unstorable(f"{str(value)[:40]!r} is not a number") from error
    if not number.is_finite():
        raise Unstorable(f"{value!r} is not a finite number")
    limit = Decimal(10) ** (max_digits - places)
    if abs(number) >= limit:
        raise Unstorable(f"{number} is out of range (below {limit} expected)")
    return number.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP")


def moment(value: object) -> datetime | None:
    """Xero's "/Date(1573755038314+0000)/" or an ISO string as an aware datetime; None when
    absent or unreadable (a date we cannot read is not a reason to lose the record)."""
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.match(value)
    try:
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: object) -> date | None:
    """Xero's Date fields ("/Date(ms)/" or "YYYY-MM-DD…") as a date; None when unreadable."""
    if isinstance(value, str):
        iso = _ISO_DAY.match(value)
        if iso:
            try:
                return date(*map(int, iso.groups()))
            except ValueError:
                return None
    found = moment(value)
    return found.date() if found else None


def flag(value: object) -> bool:
    """A boolean as Xero means it: true only when it says true."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
