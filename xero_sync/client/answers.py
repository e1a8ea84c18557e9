"""Reading what Xero answers: headers, error bodies, validation messages, paging. Pure
functions on plain values (the SDK's error object only for its status and body)."""

import json
from typing import Any

from xero_python.exceptions import ApiException

from ..inbound import normalise

# A JSON object as Xero sent it, read field by field by a mapper.
JsonObject = dict[str, Any]


def header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def int_header(headers: Any, name: str) -> int | None:
    value = header(headers, name)
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is None or abs(number) < 2**31 else None


def dicts(value: object) -> list[JsonObject]:
    """The objects of a list Xero sent; anything else in their place is left out."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def element_messages(element: object) -> list[str]:
    """Xero's ValidationErrors messages on one element (an invoice, contact or payment)."""
    if not isinstance(element, dict):
        return []
    return [
        normalise.text(v.get("Message"), 1000)
        for v in dicts(element.get("ValidationErrors"))
        if normalise.text(v.get("Message"))
    ]


def validation_messages(error: ApiException) -> tuple[list[str], list[JsonObject]]:
    data = safe_json(error.body)
    elements = dicts(data.get("Elements"))
    messages = [m for element in elements for m in element_messages(element)]
    if not messages and data.get("Message"):
        messages = [normalise.text(data["Message"], 1000)]
    return messages, elements


def problem_detail(error: ApiException) -> str:
    body = safe_json(error.body)
    return normalise.text(body.get("Detail") or body.get("Title") or body.get("Message"), 500)


def retry_after_seconds(value: Any, default: float = 1.0) -> float:
    """Retry-After as seconds: a number Xero sent, else the default (never negative, never
    more than a day)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(seconds, 0.0), 86400.0) if seconds == seconds else default


def status_of(error: ApiException) -> int | None:
    """The HTTP status of an SDK error. (The SDK's own `status` of a 400 parses the body as
    JSON, and raises when Xero's body is not JSON.)"""
    response = getattr(error, "http_resp", None)
    status = getattr(response, "status", None)
    if status is None:
        try:
            status = error.status
        except ValueError:
            return None
    return status if isinstance(status, int) else None


def pagination(value: object) -> dict[str, int]:
    """Xero's paging block with only the whole numbers it should hold."""
    if not isinstance(value, dict):
        return {}
    return {
        k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0
    }


def safe_json(body: Any) -> JsonObject:
    try:
        value = json.loads(body or b"{}")
        return value if isinstance(value, dict) else {}
    except (ValueError, TypeError):
        return {}
