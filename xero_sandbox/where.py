"""A small subset of Xero's `where` and `order` grammar, enough for the filters clients really
send: `A=="x" AND B!=true`, `Name.Contains("x")`, `.StartsWith`, `.EndsWith`, `Guid("…")`,
`Date>=DateTime(2024, 01, 31)` (on a date field: UTC, as Xero's docs write it).
The real grammar is UNVERIFIED; anything outside this subset answers 400."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .msdates import parse_datetime

_CLAUSE = re.compile(
    r"""^\s*(?P<field>[A-Za-z][\w.]*?)\s*
    (?:(?P<op>==|!=|>=|<=|>|<)\s*
      (?P<value>"[^"]*"|true|false|-?\d+(?:\.\d+)?|Guid\("[^"]*"\)|DateTime\([\d\s,]*\))
      |\.(?P<method>Contains|StartsWith|EndsWith)\("(?P<arg>[^"]*)"\))\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


class WhereError(ValueError):
    pass


def _value(raw: str) -> str | datetime | bool | Decimal:
    if raw.startswith('"'):
        return raw[1:-1]
    if raw.lower().startswith("datetime("):
        try:
            year, month, day, *clock = (int(p) for p in raw[9:-1].split(","))
            if len(clock) > 4:
                raise ValueError(raw)
            hour, minute, second, microsecond = (*clock, 0, 0, 0, 0)[:4]
            return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
        except (TypeError, ValueError):
            raise WhereError(f"Unsupported DateTime: {raw!r}") from None
    if raw.lower().startswith("guid("):
        return raw[6:-2]
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return Decimal(raw)


def _moment(value: Any) -> datetime | None:
    """A stored date ("/Date(ms+0000)/", the hot path on 10,000 invoices) or any date text."""
    fast = isinstance(value, str) and value.startswith("/Date(") and value[19:20] in ("+", ")")
    if fast and value[6:19].isdigit():
        return datetime.fromtimestamp(int(value[6:19]) / 1000, UTC)
    return parse_datetime(value)


def _get(entity: dict[str, Any], dotted: str) -> Any:
    value: Any = entity
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def compile_where(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over Xero-shaped dicts; raises WhereError for what it cannot parse."""
    groups = []
    for alternative in re.split(r"\s+OR\s+|\s*\|\|\s*", text.strip()):
        clauses = []
        for part in re.split(r"\s+AND\s+|\s*&&\s*", alternative):
            match = _CLAUSE.match(part)
            if not match:
                raise WhereError(f"Unsupported where clause: {part!r}")
            clause = match.groupdict()
            clause["expected"] = _value(clause["value"]) if clause["value"] else None
            clauses.append(clause)
        groups.append(clauses)

    def test(entity: dict[str, Any], clause: dict[str, Any]) -> bool:
        actual = _get(entity, clause["field"])
        if clause["method"]:
            text_value = str(actual or "").lower()
            arg = clause["arg"].lower()
            method = clause["method"].lower()
            if method == "contains":
                return arg in text_value
            return (
                text_value.startswith(arg) if method == "startswith" else text_value.endswith(arg)
            )
        expected, op = clause["expected"], clause["op"]
        if isinstance(expected, datetime):
            actual = _moment(actual)
        elif isinstance(expected, str) and isinstance(actual, str):
            actual, expected = actual.lower(), expected.lower()
        if isinstance(expected, Decimal) and actual is not None:
            actual = Decimal(str(actual))
        if op == "==":
            return bool(actual == expected)
        if op == "!=":
            return bool(actual != expected)
        if actual is None:
            return False
        return bool(
            {
                ">": actual > expected,
                "<": actual < expected,
                ">=": actual >= expected,
                "<=": actual <= expected,
            }[op]
        )

    return lambda entity: any(all(test(entity, c) for c in clauses) for clauses in groups)


def sort(items: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    if not order:
        return items
    parts = order.strip().split()
    field = parts[0]
    descending = len(parts) > 1 and parts[1].upper() == "DESC"
    return sorted(items, key=lambda e: (str(_get(e, field) or "")).lower(), reverse=descending)
