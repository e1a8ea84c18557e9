"""Items (price list): list, read by ItemID or Code, create and update, and what an invoice line
takes from its ItemCode."""

from datetime import datetime
from typing import Any

from ..money import round4, round_dp, to_decimal
from ..store import Tenant, new_id, touch
from ..wire import Response
from .call import Call
from .envelope import element_errors, envelope, not_found, validation_exception
from .rules import bad_account, bad_tax_type, tax_account_messages
from .settings import filtered

READ_ONLY = {
    "ItemID",
    "UpdatedDateUTC",
    "IsTrackedAsInventory",
    "TotalCostPool",
    "QuantityOnHand",
    "StatusAttributeString",
    "ValidationErrors",
}
DETAILS = ("UnitPrice", "AccountCode", "COGSAccountCode", "TaxType")


def duplicate_code(code: str) -> str:
    return f"Price List Item with Code '{code}' already exists"


def item_view(item: dict[str, Any], unitdp: int = 2) -> dict[str, Any]:
    view = dict(item)
    for key in ("SalesDetails", "PurchaseDetails"):
        details = dict(item.get(key) or {})
        if "UnitPrice" in details:
            details["UnitPrice"] = round_dp(details["UnitPrice"], unitdp)
        view[key] = details
    return view


def _details(tenant: Tenant, sent: dict[str, Any] | None, errors: list[str]) -> dict[str, Any]:
    details = {k: v for k, v in (sent or {}).items() if k in DETAILS and v is not None}
    if "UnitPrice" in details:
        price = to_decimal(details["UnitPrice"])
        if price is None:
            errors.append("UnitPrice must be a number.")
        else:
            details["UnitPrice"] = round4(price)
    account = None
    if details.get("AccountCode"):
        account = tenant.account_by_code(str(details["AccountCode"]))
        if account is None or account.get("Status") != "ACTIVE" or account.get("Type") == "BANK":
            errors.append(bad_account(details["AccountCode"]))
            account = None
    if details.get("TaxType"):
        rate = tenant.tax_rates.get(details["TaxType"])
        if rate is None or rate.get("Status") != "ACTIVE":
            errors.append(bad_tax_type(details["TaxType"]))
        else:
            errors.extend(tax_account_messages(rate, account, details["TaxType"]))
    return details


def save_item(
    tenant: Tenant, sent: dict[str, Any], now: datetime, existing: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """(item, []) or (None, messages)."""
    incoming = {k: v for k, v in sent.items() if k not in READ_ONLY and v is not None}
    merged = dict(existing or {})
    merged.update(incoming)
    errors: list[str] = []
    code = merged.get("Code")
    if not isinstance(code, str) or not code.strip():
        errors.append("Item Code must be specified.")
    elif len(code) > 30:
        errors.append("Item Code must be 30 characters or less.")
    else:
        holder = tenant.item_by_code(code)
        if holder is not None and holder["ItemID"] != merged.get("ItemID"):
            errors.append(duplicate_code(code))
    if len(str(merged.get("Name") or "")) > 50:
        errors.append("Item Name must be 50 characters or less.")
    for key in ("Description", "PurchaseDescription"):
        if len(str(merged.get(key) or "")) > 4000:
            errors.append(f"{key} must be 4000 characters or less.")
    merged["IsSold"] = merged.get("IsSold", True) is not False
    merged["IsPurchased"] = merged.get("IsPurchased", True) is not False
    for key in ("SalesDetails", "PurchaseDetails"):
        merged[key] = _details(tenant, merged.get(key), errors)
    if errors:
        return None, errors
    # Spec Item.IsSold / IsPurchased: turning one off nulls its description and details.
    if not merged["IsSold"]:
        merged.pop("Description", None)
        merged["SalesDetails"] = {}
    if not merged["IsPurchased"]:
        merged.pop("PurchaseDescription", None)
        merged["PurchaseDetails"] = {}
    merged["IsTrackedAsInventory"] = bool(
        merged.get("InventoryAssetAccountCode") and merged["PurchaseDetails"].get("COGSAccountCode")
    )
    merged.setdefault("ItemID", new_id())
    touch(merged, now)
    tenant.items[merged["ItemID"]] = merged
    return merged, []


def find_item(tenant: Tenant, key: str) -> dict[str, Any] | None:
    return tenant.items.get(key.lower()) or tenant.item_by_code(key)


# handlers ---------------------------------------------------------------------------------
def list_items(call: Call) -> Response:
    rows = filtered(call, list(call.tenant.items.values()), modified=True)
    if not isinstance(rows, list):
        return rows
    return envelope(call.now, "Items", [item_view(r, call.unitdp()) for r in rows])


def get_item(call: Call) -> Response:
    item = find_item(call.tenant, call.request.params["id"])
    if item is None:
        return not_found()
    return envelope(call.now, "Items", [item_view(item, call.unitdp())])


def write_items(call: Call) -> Response:
    """PUT creates; POST creates or updates, matched by ItemID, else by Code (UNVERIFIED)."""
    body = call.request.json or {}
    sent: list[Any] = body["Items"] if isinstance(body.get("Items"), list) else []
    target = call.request.params.get("id")
    if target:
        existing = find_item(call.tenant, target)
        if existing is None:
            return not_found()
        sent = [dict(sent[0] if sent else {}, ItemID=existing["ItemID"])]
    results, failed = [], False
    for element in sent:
        element = element if isinstance(element, dict) else {}
        existing, errors = None, []
        if element.get("ItemID"):
            existing = call.tenant.items.get(str(element["ItemID"]).lower())
            if existing is None:
                errors = ["The item could not be found."]
            elif call.request.method == "PUT":
                errors = ["Items cannot be updated with PUT; use POST."]
        elif call.request.method == "POST" and isinstance(element.get("Code"), str):
            existing = call.tenant.item_by_code(element["Code"])
        if not errors:
            saved, errors = save_item(call.tenant, element, call.now, existing)
        if errors:
            failed = True
            echo = element_errors(element, errors)
            echo["StatusAttributeString"] = "ERROR"
            results.append(echo)
            continue
        assert saved is not None  # saved when nothing was refused
        view = item_view(saved, call.unitdp())
        view.update(StatusAttributeString="OK", ValidationErrors=[])
        results.append(view)
    if failed and (target or call.summarize_errors()):
        return validation_exception(
            [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        )
    return envelope(call.now, "Items", results)
