"""The organisation's currencies: its base currency and those it added (PUT /Currencies, which
"adds" or "subscribes to" a currency; Xero cannot remove one once added)."""

from typing import Any

from ..currency_table import VALID, describe
from ..wire import Response
from .call import Call
from .envelope import element_errors, envelope, validation_exception
from .rules import bad_currency
from .settings import filtered


def list_currencies(call: Call) -> Response:
    rows = filtered(call, list(call.tenant.currencies.values()))
    return rows if not isinstance(rows, list) else envelope(call.now, "Currencies", rows)


def create_currency(call: Call) -> Response:
    """The SDK sends a bare Currency (spec: requestBody Currency); a {"Currencies": [...]}
    wrapper is read too. Adding a currency already enabled answers it again (UNVERIFIED)."""
    body = call.request.json or {}
    sent: list[Any] = body["Currencies"] if isinstance(body.get("Currencies"), list) else [body]
    added = []
    for element in sent:
        element = element if isinstance(element, dict) else {}
        code = element.get("Code")
        if not isinstance(code, str) or code not in VALID:
            return validation_exception([element_errors(element, [bad_currency(code)])])
        currency = call.tenant.currencies.setdefault(code, describe(code))
        added.append(currency)
    return envelope(call.now, "Currencies", added)
