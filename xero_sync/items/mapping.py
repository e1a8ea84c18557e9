"""Pure mapping between Xero's items and the CRM's products: no database, no network."""

from dataclasses import dataclass
from decimal import Decimal

from invoices.models import PRODUCT_CODE_MAX_LENGTH, PRODUCT_NAME_MAX_LENGTH, Product

from ..client.shapes import ItemBody
from ..inbound import normalise


@dataclass(frozen=True)
class ItemFacts:
    """One Xero item in the CRM's terms."""

    item_id: str
    code: str
    name: str
    description: str
    unit_price: Decimal
    account_code: str
    tax_type: str
    is_sold: bool


def item_from_xero(raw: object) -> ItemFacts:
    """Raises normalise.Unstorable (with the reason) for a record the CRM cannot keep."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("the item is not an object")
    item_id = normalise.fits(raw.get("ItemID"), 64)
    if not item_id:
        raise normalise.Unstorable("the item has no ItemID")
    code = normalise.fits(raw.get("Code"), PRODUCT_CODE_MAX_LENGTH)
    if not code:
        raise normalise.Unstorable("the item has no Code")
    sales = raw.get("SalesDetails")
    sales = sales if isinstance(sales, dict) else {}
    price = sales.get("UnitPrice")
    unit_price = Decimal(0) if price is None else normalise.decimal(price, max_digits=14, places=4)
    if unit_price < 0:
        raise normalise.Unstorable(f"its sale price {unit_price} is negative")
    return ItemFacts(
        item_id=item_id,
        code=code,
        name=normalise.text(raw.get("Name"), PRODUCT_NAME_MAX_LENGTH) or code,
        description=normalise.text(raw.get("Description"), 4000, lines=True),
        unit_price=unit_price,
        account_code=normalise.fits(sales.get("AccountCode"), 10),
        tax_type=normalise.text(sales.get("TaxType"), 50),
        is_sold=raw.get("IsSold", True) is not False,
    )


def item_body(product: Product, *, account_code: str, tax_type: str) -> ItemBody:
    """The item the CRM creates for a product: its code, name, description and sale price;
    the sales account and tax type as its invoice lines send them."""
    return ItemBody(
        code=product.code,
        name=product.name or product.code,
        description=product.description,
        unit_price=Decimal(product.unit_price),
        account_code=account_code,
        tax_type=tax_type,
    )
