"""Tracking categories and their options: the list Xero serves, the Tracking on invoice lines
(at most two categories, each once, options active), and changes made "inside Xero"."""

from collections.abc import Iterable
from typing import Any

from ..store import Tenant, new_id
from ..wire import Response
from .call import Call
from .envelope import envelope, not_found
from .settings import filtered

MAX_PER_LINE = 2
# Xero's limits on an organisation (developer docs, Tracking Categories).
MAX_ACTIVE, MAX_TOTAL = 2, 4
STATUSES = ("ACTIVE", "ARCHIVED", "DELETED")
TOO_MANY = "Any LineItem can have a maximum of 2 TrackingCategory elements."


def category_view(category: dict[str, Any], include_archived: bool) -> dict[str, Any]:
    shown = ("ACTIVE", "ARCHIVED") if include_archived else ("ACTIVE",)
    view = {k: v for k, v in category.items() if k != "Options"}
    view["Options"] = [
        {
            "TrackingOptionID": o["TrackingOptionID"],
            "Name": o["Name"],
            "Status": o["Status"],
            "TrackingCategoryID": category["TrackingCategoryID"],
        }
        for o in category["Options"]
        if o["Status"] in shown
    ]
    return view


def _find(
    items: Iterable[dict[str, Any]], key_id: str, ref_id: object, name_key: str, name: object
) -> dict[str, Any] | None:
    if ref_id:
        return next((i for i in items if i[key_id].lower() == str(ref_id).lower()), None)
    if isinstance(name, str) and name.strip():
        wanted = name.strip().lower()
        return next((i for i in items if i[name_key].lower() == wanted), None)
    return None


def line_tracking(tenant: Tenant, sent: object) -> tuple[list[dict[str, Any]], list[str]]:
    """A line's Tracking as Xero stores it ({Name, Option, TrackingCategoryID,
    TrackingOptionID}, spec L10175-10179), or the reasons it is refused."""
    if not sent:
        return [], []
    if not isinstance(sent, list):
        return [], ["Tracking must be a list of tracking categories."]
    if len(sent) > MAX_PER_LINE:
        return [], [TOO_MANY]
    out, errors, seen = [], [], set()
    for ref in sent:
        ref = ref if isinstance(ref, dict) else {}
        category = _find(
            tenant.tracking_categories.values(),
            "TrackingCategoryID",
            ref.get("TrackingCategoryID"),
            "Name",
            ref.get("Name"),
        )
        label = ref.get("Name") or ref.get("TrackingCategoryID")
        if category is None or category["Status"] == "DELETED":
            errors.append(f"Tracking category '{label}' is not valid.")
            continue
        if category["Status"] != "ACTIVE":
            errors.append(f"Tracking category '{category['Name']}' is archived.")
            continue
        if category["TrackingCategoryID"] in seen:
            errors.append(
                f"Tracking category '{category['Name']}' can only be used once on a line."
            )
            continue
        seen.add(category["TrackingCategoryID"])
        option = _find(
            category["Options"],
            "TrackingOptionID",
            ref.get("TrackingOptionID"),
            "Name",
            ref.get("Option"),
        )
        option_label = ref.get("Option") or ref.get("TrackingOptionID")
        if option is None or option["Status"] == "DELETED":
            errors.append(
                f"Tracking option '{option_label}' is not valid for tracking category "
                f"'{category['Name']}'."
            )
            continue
        if option["Status"] != "ACTIVE":
            errors.append(f"Tracking option '{option['Name']}' is archived.")
            continue
        out.append(
            {
                "Name": category["Name"],
                "Option": option["Name"],
                "TrackingCategoryID": category["TrackingCategoryID"],
                "TrackingOptionID": option["TrackingOptionID"],
            }
        )
    return out, errors


# "inside Xero" (control API) ---------------------------------------------------------------
def add_category(tenant: Tenant, name: str, options: list[str]) -> dict[str, Any]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("A tracking category needs a Name of 1 to 100 characters.")
    live = [c for c in tenant.tracking_categories.values() if c["Status"] != "DELETED"]
    if any(c["Name"].lower() == name.lower() for c in live):
        raise ValueError(f"A tracking category named {name!r} already exists.")
    if len(live) >= MAX_TOTAL or sum(c["Status"] == "ACTIVE" for c in live) >= MAX_ACTIVE:
        raise ValueError("Xero allows 2 active tracking categories and 4 in all.")
    category: dict[str, Any] = {
        "TrackingCategoryID": new_id(),
        "Name": name,
        "Status": "ACTIVE",
        "Options": [],
    }
    tenant.tracking_categories[category["TrackingCategoryID"]] = category
    for option in options:
        add_option(tenant, category["TrackingCategoryID"], option)
    return category


def set_category_status(tenant: Tenant, category_id: str, status: str) -> dict[str, Any]:
    category = tenant.tracking_categories.get(category_id.lower())
    if category is None:
        raise KeyError(category_id)
    if status not in STATUSES:
        raise ValueError(f"Status must be one of {STATUSES}.")
    actives = sum(c["Status"] == "ACTIVE" for c in tenant.tracking_categories.values())
    if status == "ACTIVE" and category["Status"] != "ACTIVE" and actives >= MAX_ACTIVE:
        raise ValueError("Xero allows 2 active tracking categories.")
    category["Status"] = status
    return category


def add_option(tenant: Tenant, category_id: str, name: str) -> dict[str, Any]:
    category = tenant.tracking_categories.get(category_id.lower())
    if category is None:
        raise KeyError(category_id)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("A tracking option needs a Name of 1 to 100 characters.")
    if any(o["Name"].lower() == name.lower() for o in category["Options"]):
        raise ValueError(f"The option {name!r} already exists.")
    option = {"TrackingOptionID": new_id(), "Name": name, "Status": "ACTIVE"}
    category["Options"].append(option)
    return option


def set_option_status(
    tenant: Tenant, category_id: str, option_id: str, status: str
) -> dict[str, Any]:
    category = tenant.tracking_categories.get(category_id.lower())
    option = next(
        (
            o
            for o in (category or {}).get("Options", [])
            if o["TrackingOptionID"].lower() == option_id.lower()
        ),
        None,
    )
    if option is None:
        raise KeyError(option_id)
    if status not in STATUSES:
        raise ValueError(f"Status must be one of {STATUSES}.")
    option["Status"] = status
    changed: dict[str, Any] = option
    return changed


# handlers ---------------------------------------------------------------------------------
def list_tracking_categories(call: Call) -> Response:
    include_archived = call.request.flag("includeArchived")
    shown = ("ACTIVE", "ARCHIVED") if include_archived else ("ACTIVE",)
    rows = [
        category_view(c, include_archived)
        for c in call.tenant.tracking_categories.values()
        if c["Status"] in shown
    ]
    listed = filtered(call, rows)
    if not isinstance(listed, list):
        return listed
    return envelope(call.now, "TrackingCategories", listed)


def get_tracking_category(call: Call) -> Response:
    category = call.tenant.tracking_categories.get(call.request.params["id"].lower())
    if category is None:
        return not_found()
    return envelope(call.now, "TrackingCategories", [category_view(category, True)])
