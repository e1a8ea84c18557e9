"""Response envelopes and error bodies of the Accounting API (spec: Error, Element, Pagination)."""

import uuid
from datetime import datetime
from typing import Any

from .. import jsonio
from ..msdates import ms_envelope_time
from ..wire import Request, Response, json_response, raw_json, text_response

PROVIDER = "Platform CRM Sandbox"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def envelope(
    now: datetime,
    plural: str,
    items: list[Any],
    pagination: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    data: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER,
        "DateTimeUTC": ms_envelope_time(now),
    }
    if pagination is not None:
        data["pagination"] = pagination
    data[plural] = items
    return json_response(data, status)


def envelope_of_json(
    now: datetime, plural: str, item_json: list[str], pagination: dict[str, Any] | None
) -> Response:
    """Same as `envelope` for items already serialised (the contacts page cache)."""
    head: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER,
        "DateTimeUTC": ms_envelope_time(now),
    }
    if pagination is not None:
        head["pagination"] = pagination
    text = jsonio.dumps(head)[:-1] + f',"{plural}":[' + ",".join(item_json) + "]}"
    return raw_json(text)


def validation_exception(elements: list[dict[str, Any]]) -> Response:
    return json_response(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
        400,
    )


def bad_where(error: Exception) -> Response:
    return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])


def not_found() -> Response:
    # Xero answers unknown ids with a plain-text 404.
    return text_response("The resource you're looking for cannot be found", 404)


def problem(status: int, title: str, detail: str) -> Response:
    return json_response(
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
        status,
    )


def paging(
    request: Request, total: int, unpaged: str
) -> tuple[int, int, dict[str, Any] | None] | Response:
    """(offset, limit, pagination) for a list call. Without `page`, Xero's unpaged behaviour is
    UNVERIFIED: "first_page" serves page 1 of 100 (with pagination), "all" serves everything."""
    raw_page = request.arg("page")
    raw_size = request.arg("pageSize")
    if raw_page is None and unpaged == "all":
        return 0, total, None
    try:
        page = max(int(raw_page or 1), 1)
        size = int(raw_size) if raw_size else DEFAULT_PAGE_SIZE
    except ValueError:
        return validation_exception(
            [{"ValidationErrors": [{"Message": "page and pageSize must be integers"}]}]
        )
    size = min(max(size, 1), MAX_PAGE_SIZE)
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": -(-total // size),
        "itemCount": total,
    }
    return (page - 1) * size, size, pagination


def csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def element_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    out = dict(element)
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out
