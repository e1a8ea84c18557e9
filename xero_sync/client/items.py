"""Typed calls about items (Xero's price list): created from our ItemBody, read as Xero's JSON
(each record of any shape: items.mapping checks every one on its own)."""

from typing import Any

from xero_python.accounting import Item as XItem
from xero_python.accounting import Items as XItems
from xero_python.accounting import Purchase as XPurchase

from .answers import JsonObject
from .shapes import ItemBody
from .transport import Transport, request_body, request_digest, xero_bool


def _items_model(bodies: list[ItemBody]) -> XItems:
    models = []
    for body in bodies:
        details: dict[str, Any] = {
            "unit_price": body.unit_price,
            "account_code": body.account_code or None,
            "tax_type": body.tax_type or None,
        }
        model = XItem(code=body.code, name=body.name, is_sold=True)
        if body.description:
            model.description = body.description
        if any(v is not None for v in details.values()):
            model.sales_details = XPurchase(**{k: v for k, v in details.items() if v is not None})
        models.append(model)
    return XItems(items=models)


def items_request(bodies: list[ItemBody]) -> JsonObject:
    """PUT /Items' body as Xero receives it."""
    return request_body(_items_model(bodies))


def items_request_digest(bodies: list[ItemBody]) -> str:
    return request_digest(_items_model(bodies))


class ItemCalls(Transport):
    def items(self) -> list[Any]:
        """GET /Items: the whole price list (Xero does not page it), as Xero sent it."""
        return self._list(
            "items.list",
            lambda acc, ident, **o: acc.get_items(self.connection.tenant_id, unitdp=4, **o),
            "Items",
        )

    def items_create(self, items: list[ItemBody], *, idempotency_key: str) -> list[Any]:
        """PUT /Items?summarizeErrors=false: one answer per element, each with its own errors."""
        body = items_request(items)
        return self._list(
            "items.create",
            lambda acc, ident, **o: acc.create_items(
                self.connection.tenant_id,
                body,
                summarize_errors=xero_bool(False),
                unitdp=4,
                **o,
            ),
            "Items",
            write=True,
            idempotency_key=idempotency_key,
        )
