"""Xero's date formats: MS-JSON "/Date(ms+0000)/" out; that, "YYYY-MM-DD" and ISO in."""

import re
from datetime import UTC, date, datetime, timedelta

_MS = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_datetime(value: object) -> datetime | None:
    """Parse any date form Xero clients send; None when it is not a date."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _MS.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: object) -> date | None:
    parsed = parse_datetime(value)
    return parsed.astimezone(UTC).date() if parsed else None


def ms_datetime(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def ms_envelope_time(moment: datetime) -> str:
    """The response envelope's DateTimeUTC: "/Date(1552432238623)/", no offset (all 166 of the
    spec's examples), unlike entity dates, which carry "+0000"."""
    return f"/Date({int(moment.timestamp() * 1000)})/"


def ms_date(day: date) -> str:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return ms_datetime(midnight)


def iso_date(day: date) -> str:
    """The `…String` companion fields, e.g. DateString "2024-03-11T00:00:00"."""
    return f"{day.isoformat()}T00:00:00"


def iso_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_utc_string(ms_value: str) -> str:
    """`UpdatedDateUTCString` beside an MS-JSON UpdatedDateUTC: "2019-03-12T23:10:38Z"
    (the spec's Invoice and Payment examples), seconds precision, with Z."""
    moment = parse_datetime(ms_value)
    assert moment is not None, ms_value  # stored dates always parse
    return iso_datetime(moment) + "Z"


def ms_to_datetime(value: str) -> datetime | None:
    return parse_datetime(value)


def days(n: float) -> timedelta:
    return timedelta(days=n)
