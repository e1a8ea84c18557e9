"""The products on a batch's invoice lines, as Xero items: linked when known, created (one
PUT /Items for the batch, under a stored idempotency key) when not. A code Xero already holds
is linked to that item, never created twice. A fixed number of queries per batch, however many
rows and lines."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from invoices.models import InvoiceLine, InvoiceStatus, Product

from ..client import XeroClient, element_messages
from ..client.errors import BadAnswer, XeroError
from ..client.items import items_request_digest
from ..inbound import normalise
from ..items.mapping import item_body
from ..items.models import XeroItem
from ..models import XeroConnection
from .keys import digest
from .refusals import RowFailed, is_definite, page_url
from .rows import Row


def items_link(client: XeroClient, connection: XeroConnection, rows: list[Row]) -> dict[int, str]:
    """CRM product id -> the Xero ItemCode its lines carry, for every product on a live row's
    invoice, creating the missing items in one call. A product Xero refuses fails the rows
    that use it, with Xero's words and the product's page."""
    live = [r for r in rows if r.live and r.sync.invoice.status != InvoiceStatus.VOID]
    if not live:
        return {}
    lines = InvoiceLine.objects.filter(invoice__in=[r.sync.invoice_id for r in live]).exclude(
        product=None
    )
    used: dict[int, Product] = {}
    users: dict[int, set[int]] = {}  # product id -> the invoices using it
    for line in lines.select_related("product__tax_rate__xero_mapping"):
        assert line.product is not None
        used[line.product.pk] = line.product
        users.setdefault(line.product.pk, set()).add(line.invoice_id)
    if not used:
        return {}
    codes = dict(
        XeroItem.objects.filter(connection=connection, product__in=list(used)).values_list(
            "product_id", "code"
        )
    )
    missing = [p for pk, p in sorted(used.items()) if pk not in codes]
    if not missing:
        return codes
    bodies = [
        item_body(p, account_code=line_account_code(p, connection), tax_type=_tax_type(p))
        for p in missing
    ]
    key = "crm-items-" + digest([items_request_digest(bodies), *(p.pk for p in missing)])
    try:
        answers = client.items_create(bodies, idempotency_key=key)
    except XeroError as refused:
        if not is_definite(refused):
            raise
        for product in missing:
            _rows_fail(live, users[product.pk], product, refused.message)
        return codes
    if len(answers) != len(missing):
        raise BadAnswer("Xero's answer does not hold one item per item sent.")
    made: list[XeroItem] = []
    refused_ones: dict[int, list[str]] = {}
    now = timezone.now()
    for product, answer in zip(missing, answers, strict=True):
        messages = element_messages(answer)
        xero_id = (
            normalise.text(answer.get("ItemID"))[:64]
            if isinstance(answer, dict) and not messages
            else ""
        )
        if xero_id:
            made.append(_link(connection, product, xero_id, product.code, now))
        else:
            refused_ones[product.pk] = messages or ["Xero gave the item no ItemID."]
    if refused_ones:
        # Refused, most often because Xero already has an item of that code (made there
        # since the last import, or by an earlier request whose answer was lost): that item
        # is this product's. One read of the price list for the batch.
        theirs = _items_by_code(client.items())
        for product in missing:
            if product.pk not in refused_ones:
                continue
            found = theirs.get(product.code.lower())
            if found is not None:
                made.append(_link(connection, product, found[0], found[1], now))
            else:
                why = "; ".join(refused_ones[product.pk])
                _rows_fail(live, users[product.pk], product, why)
    with transaction.atomic():
        # A link written meanwhile by another path (a refresh) wins; ours is not needed.
        XeroItem.objects.bulk_create(made, ignore_conflicts=True)
    codes.update({link.product_id: link.code for link in made})
    return codes


def line_account_code(product: Product, connection: XeroConnection) -> str:
    """The sales account a product's lines (and its item) go to: its own, else the
    connection's."""
    return product.sales_account_code or connection.sales_account_code


def _tax_type(product: Product) -> str:
    rate = product.tax_rate
    mapping = getattr(rate, "xero_mapping", None) if rate is not None else None
    return mapping.xero_tax_type if mapping is not None and not mapping.is_broken else ""


def _link(
    connection: XeroConnection, product: Product, xero_id: str, code: str, now: Any
) -> XeroItem:
    return XeroItem(
        connection=connection, product=product, xero_item_id=xero_id, code=code, synced_at=now
    )


def _items_by_code(found: list[Any]) -> Mapping[str, tuple[str, str]]:
    """Code (lower case) -> (ItemID, Code) of the items Xero listed that can be read."""
    by_code = {}
    for raw in found:
        if not isinstance(raw, dict):
            continue
        item_id = normalise.text(raw.get("ItemID"))[:64]
        code = normalise.text(raw.get("Code"))
        if item_id and code and len(code) <= 30:
            by_code[code.lower()] = (item_id, code)
    return by_code


def _rows_fail(rows: list[Row], invoices: set[int], product: Product, why: str) -> None:
    account = rows[0].sync.invoice.account  # the batch's, read with it
    failure = RowFailed(
        "item",
        f"Xero did not take the product {product.code} as an item: {why}",
        page_url("invoices:product_edit", account, product_pk=product.pk),
    )
    for row in rows:
        if row.sync.invoice_id in invoices and row.live:
            row.failed = failure
