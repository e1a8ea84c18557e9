"""Items made in Xero, brought in as CRM products (at connection, and on a person's "Refresh
items from Xero"): a new code becomes a product, a code the CRM already has is linked to it,
and a product already linked is left as the CRM has it (lines send their own description,
price and tax). A record that cannot be kept is quarantined; the rest go on."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoices.models import EventSource, Product
from invoices.services import product_create
from platform_crm.models import Account
from taxes.models import TaxRate

from ..connection.calls import xero_client_for
from ..inbound import normalise
from ..inbound.quarantine import Held, quarantine_hold, quarantine_release
from ..models import QuarantineKind, XeroConnection
from ..taxes.services import mapped_tax_rates
from .mapping import ItemFacts, item_from_xero
from .models import XeroItem


@dataclass
class ItemsImported:
    created: int = 0  # new products
    linked: int = 0  # CRM products of the same code, now known as the item
    unchanged: int = 0  # already linked
    not_sold: int = 0  # items Xero does not sell: a sales invoice line cannot use them
    held: int = 0  # quarantined, with the reason

    def in_words(self) -> str:
        parts = [
            f"{self.created} new product{'s' if self.created != 1 else ''}",
            f"{self.linked} linked by code",
            f"{self.unchanged} already linked",
        ]
        if self.not_sold:
            parts.append(f"{self.not_sold} not sold in Xero, left out")
        if self.held:
            parts.append(f"{self.held} held on Sync failures")
        return ", ".join(parts)


def items_import(connection: XeroConnection) -> ItemsImported:
    """GET /Items (one call: Xero does not page items), then each item on its own."""
    found = xero_client_for(connection).items()
    account = connection.account
    result = ItemsImported()
    linked_ids = set(
        XeroItem.objects.filter(connection=connection).values_list("xero_item_id", flat=True)
    )
    linked_products = set(
        XeroItem.objects.filter(connection=connection).values_list("product_id", flat=True)
    )
    products = {p.code.lower(): p for p in Product.objects.filter(account=account)}
    rates = mapped_tax_rates(connection)
    held: list[Held] = []
    stored: list[str] = []
    for raw in found:
        try:
            item = item_from_xero(raw)
        except normalise.Unstorable as unreadable:
            held.append(_held(raw, f"The CRM could not read this item: {unreadable}."))
            continue
        if item.item_id in linked_ids:
            result.unchanged += 1
            stored.append(item.item_id)
            continue
        if not item.is_sold:
            result.not_sold += 1
            continue
        product = products.get(item.code.lower())
        try:
            with transaction.atomic():
                if product is None:
                    product = _product_from(account, item, rates)
                    result.created += 1
                elif product.pk in linked_products:
                    raise ValidationError(
                        f"the CRM product {product.code} is already linked to another Xero item"
                    )
                else:
                    result.linked += 1
                XeroItem.objects.create(
                    connection=connection,
                    product=product,
                    xero_item_id=item.item_id,
                    code=item.code,
                    synced_at=timezone.now(),
                )
        except (ValidationError, IntegrityError) as refused:
            why = "; ".join(getattr(refused, "messages", None) or [str(refused)])
            held.append(_held(raw, f"The CRM could not keep this item: {why}."))
            continue
        products[item.code.lower()] = product
        linked_products.add(product.pk)
        stored.append(item.item_id)
    with transaction.atomic():
        quarantine_release(
            connection=connection,
            kind=QuarantineKind.ITEM,
            xero_ids=stored,
            resolution="Stored by a later refresh",
        )
        result.held = quarantine_hold(connection=connection, held=held, source="items")
    return result


def _product_from(account: Account, item: ItemFacts, rates: dict[str, TaxRate]) -> Product:
    return product_create(
        account=account,
        made_in=EventSource.XERO,
        code=item.code,
        name=item.name,
        description=item.description,
        unit_price=item.unit_price,
        tax_rate=rates.get(item.tax_type),
        sales_account_code=item.account_code,
    )


def _held(raw: object, reason: str) -> Held:
    fields = raw if isinstance(raw, dict) else {}
    return Held(
        kind=QuarantineKind.ITEM,
        raw=raw,
        reason=reason,
        xero_id=normalise.text(fields.get("ItemID"))[:64],
        label=normalise.text(fields.get("Code"), 255) or normalise.text(fields.get("Name"), 255),
    )
