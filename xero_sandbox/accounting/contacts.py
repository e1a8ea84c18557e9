"""Contacts and contact groups: list with Xero's filters and paging, single GET, create and
update with Xero's rule that contact names are unique among active contacts."""

from datetime import datetime
from typing import Any

from .. import jsonio
from ..config import Behaviour
from ..store import Tenant, new_id, touch
from ..where import WhereError, compile_where, sort
from ..wire import Response
from .call import Call, ms_of
from .envelope import (
    csv,
    element_errors,
    envelope,
    envelope_of_json,
    not_found,
    paging,
    validation_exception,
)

READ_ONLY = {
    "UpdatedDateUTC",
    "IsSupplier",
    "IsCustomer",
    "Balances",
    "HasAttachments",
    "HasValidationErrors",
    "ValidationErrors",
    "StatusAttributeString",
    "ContactGroups",
    "Website",
    "Discount",
    "Attachments",
}
# summaryOnly leaves out the computation-heavy parts.
HEAVY = {
    "Addresses",
    "Phones",
    "ContactGroups",
    "ContactPersons",
    "PaymentTerms",
    "Balances",
    "BatchPayments",
    "BrandingTheme",
    "SalesTrackingCategories",
    "PurchasesTrackingCategories",
    "Attachments",
}
STATUSES = {"ACTIVE", "ARCHIVED", "GDPRREQUEST"}
SEARCHED = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")


def duplicate_name(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


ARCHIVED_MATCH = (
    "The specified contact details matched an archived contact. "
    "Archived contacts cannot currently be edited via the API."
)
# Every contact has one phone of each standard type and one address of each type, empty until
# set (the spec's PUT /Contacts example: a MOBILE sent, all four phones and both addresses
# answered). A phone or address sent replaces the stored one of its type; the others stay.
PHONE_TYPES = ("DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE")  # spec Phone.PhoneType
ADDRESS_TYPES = ("POBOX", "STREET")  # spec Address.AddressType
EMPTY_PHONE = {"PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
EMPTY_ADDRESS = {"City": "", "Region": "", "PostalCode": "", "Country": ""}
SLOTS = {
    "Phones": ("PhoneType", PHONE_TYPES, ("DEFAULT", "DDI", "FAX", "MOBILE"), EMPTY_PHONE),
    "Addresses": ("AddressType", ADDRESS_TYPES, ("STREET", "POBOX"), EMPTY_ADDRESS),
}


def _by_type(
    field: str, stored: list[Any] | None, sent: object, fresh: bool
) -> tuple[list[Any], list[str]]:
    """`stored` with each element of `sent` in place of the stored one of its type (appended
    when there is none); a new contact starts from the empty standard slots."""
    key, allowed, standard, empty = SLOTS[field]
    result = [dict(e) for e in stored or [] if isinstance(e, dict)]
    if fresh and not result:
        result = [{key: kind, **empty} for kind in standard]
    if sent is None:
        return result, []
    if not isinstance(sent, list):
        return result, [f"{field} must be a list."]
    errors = []
    for element in sent:
        kind = element.get(key) if isinstance(element, dict) else None
        if kind not in allowed:
            errors.append(f"{key} '{kind}' is not valid; use one of {', '.join(allowed)}.")
            continue
        replacement = {key: kind, **empty, **element}
        at = next((i for i, e in enumerate(result) if e.get(key) == kind), None)
        if at is None:
            result.append(replacement)
        else:
            result[at] = replacement
    return result, errors


def contact_view(tenant: Tenant, contact: dict[str, Any], summary: bool) -> dict[str, Any]:
    if summary:
        return {k: v for k, v in contact.items() if k not in HEAVY}
    view = dict(contact)
    view["ContactGroups"] = [
        {
            "ContactGroupID": g["ContactGroupID"],
            "Name": g["Name"],
            "Status": g["Status"],
            "Contacts": [],
        }
        for g in tenant.groups_of(contact["ContactID"])
    ]
    view.setdefault("HasValidationErrors", False)
    return view


def contact_json(tenant: Tenant, contact_id: str, summary: bool) -> str:
    key = (contact_id, summary)
    cached = tenant.contact_json.get(key)
    if cached is None:
        cached = jsonio.dumps(contact_view(tenant, tenant.contacts[contact_id], summary))
        tenant.contact_json[key] = cached
    return cached


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def find_contact(tenant: Tenant, ref: dict[str, Any]) -> dict[str, Any] | None:
    """A contact reference as Xero resolves it: ContactID, then ContactNumber, then active Name."""
    if ref.get("ContactID"):
        return tenant.contacts.get(ref["ContactID"].lower()) or tenant.contacts.get(
            ref["ContactID"]
        )
    if ref.get("ContactNumber"):
        for contact in tenant.contacts.values():
            if contact.get("ContactNumber") == ref["ContactNumber"]:
                return contact
    if ref.get("Name"):
        contact_id = tenant.active_names.get(ref["Name"].strip().lower())
        return tenant.contacts.get(contact_id) if contact_id else None
    return None


def save_contact(
    tenant: Tenant,
    sent: dict[str, Any],
    now: datetime,
    existing: dict[str, Any] | None,
    behaviour: Behaviour | None = None,
    *,
    api: bool = True,
) -> tuple[dict[str, Any] | None, list[str]]:
    """Create or update one contact; (stored contact, []) or (None, error messages). `api`
    False is a person in Xero, who may edit an archived contact; the names rules hold for both."""
    behaviour = behaviour or Behaviour()
    incoming = {k: v for k, v in _strip_nulls(sent).items() if k not in READ_ONLY}
    merged = dict(existing or {})
    merged.update({k: v for k, v in incoming.items() if k not in SLOTS})
    errors = []
    for field in SLOTS:
        merged[field], slot_errors = _by_type(
            field, merged.get(field), incoming.get(field), existing is None
        )
        errors += slot_errors
    name = (merged.get("Name") or "").strip()
    if not name:
        errors.append("The contact name must be specified.")
    elif len(name) > 255:
        errors.append("The contact name must be 255 characters or less.")
    if len(merged.get("ContactNumber") or "") > 50:
        errors.append("The Contact Number must be 50 characters or less.")
    status = merged.setdefault("ContactStatus", "ACTIVE")
    if status not in STATUSES:
        errors.append(f"Contact status '{status}' is not valid.")
    if name and status == "ACTIVE":
        errors += _name_errors(tenant, name, merged.get("ContactID"), existing, behaviour)
    if (
        api
        and existing is not None
        and existing.get("ContactStatus") == "ARCHIVED"
        and status == "ARCHIVED"
        and not behaviour.edit_archived_contacts
        and any(existing.get(k) != merged.get(k) for k in merged)
    ):
        errors.append(ARCHIVED_MATCH)
    if errors:
        return None, errors
    merged["Name"] = name
    merged.setdefault("ContactID", new_id())
    merged.setdefault("HasAttachments", False)
    merged.setdefault("IsSupplier", False)
    merged.setdefault("IsCustomer", False)
    touch(merged, now)
    tenant.put_contact(merged)
    return merged, []


def _name_errors(
    tenant: Tenant,
    name: str,
    contact_id: str | None,
    existing: dict[str, Any] | None,
    behaviour: Behaviour,
) -> list[str]:
    """An ACTIVE contact's name is unique among active contacts (case-insensitively:
    UNVERIFIED) and, with archived_contact_names "reserved", may not newly take an archived
    contact's name (restoring a contact under its own name is not taking one)."""
    key = name.lower()
    holder = tenant.active_names.get(key)
    if holder and holder != contact_id:
        return [duplicate_name(name)]
    renamed = existing is None or (existing.get("Name") or "").strip().lower() != key
    archived = tenant.archived_names.get(key, set()) - {contact_id}
    if renamed and archived and behaviour.archived_contact_names == "reserved":
        return [ARCHIVED_MATCH]
    return []


# handlers ---------------------------------------------------------------------------
def list_contacts(call: Call) -> Response:
    tenant, request = call.tenant, call.request
    summary = request.flag("summaryOnly")
    ids = tenant.contact_ids(request.flag("includeArchived"))
    wanted = {i.lower() for i in csv(request.arg("IDs"))}
    since = call.modified_since_ms()
    term = (request.arg("searchTerm") or "").strip().lower()
    where, order = request.arg("where"), request.arg("order")
    if wanted or since is not None or term or where or order:
        try:
            predicate = compile_where(where) if where else None
        except WhereError as error:
            return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
        contacts = tenant.contacts
        rows = [contacts[i] for i in ids]
        if wanted:
            rows = [c for c in rows if c["ContactID"] in wanted]
        if since is not None:
            rows = [c for c in rows if ms_of(c.get("UpdatedDateUTC")) > since]
        if term:
            rows = [c for c in rows if any(term in str(c.get(f, "")).lower() for f in SEARCHED)]
        if predicate:
            rows = [c for c in rows if predicate(c)]
        ids = [c["ContactID"] for c in sort(rows, order)]
    paged = paging(request, len(ids), call.behaviour.unpaged_lists)
    if not isinstance(paged, tuple):
        return paged
    offset, limit, pagination = paged
    page = ids[offset : offset + limit]
    return envelope_of_json(
        call.now, "Contacts", [contact_json(tenant, i, summary) for i in page], pagination
    )


def get_contact(call: Call) -> Response:
    contact = find_contact(call.tenant, {"ContactID": call.request.params["id"]})
    if contact is None:
        contact = find_contact(call.tenant, {"ContactNumber": call.request.params["id"]})
    if contact is None:
        return not_found()
    return envelope_of_json(
        call.now, "Contacts", [contact_json(call.tenant, contact["ContactID"], False)], None
    )


def write_contacts(call: Call) -> Response:
    """PUT creates, POST creates or updates (matched by ContactID or ContactNumber)."""
    body = call.request.json or {}
    sent = body.get("Contacts", [body] if "Name" in body or "ContactID" in body else [])
    if call.request.params.get("id"):
        sent = [dict(sent[0] if sent else {}, ContactID=call.request.params["id"])]
    results, failed = [], False
    for element in sent:
        existing = None
        if element.get("ContactID"):
            existing = find_contact(call.tenant, {"ContactID": element["ContactID"]})
            if existing is None:
                results.append(element_errors(element, ["The contact could not be found."]))
                failed = True
                continue
        elif element.get("ContactNumber"):
            existing = find_contact(call.tenant, {"ContactNumber": element["ContactNumber"]})
        before = dict(existing) if existing else None
        saved, errors = save_contact(call.tenant, element, call.now, existing, call.behaviour)
        if errors:
            failed = True
            out = element_errors(element, errors)
            out.update(HasValidationErrors=True, StatusAttributeString="ERROR")
            results.append(out)
            continue
        assert saved is not None  # saved when nothing was refused
        changed = before is None or any(
            before.get(k) != saved.get(k) for k in saved if k != "UpdatedDateUTC"
        )
        if not changed and before is not None:
            saved["UpdatedDateUTC"] = before["UpdatedDateUTC"]
        elif before is None:
            call.emit("CONTACT", "CREATE", saved["ContactID"])
        else:
            call.emit("CONTACT", "UPDATE", saved["ContactID"])
        view = contact_view(call.tenant, saved, False)
        view.update(HasValidationErrors=False, StatusAttributeString="OK")
        results.append(view)
    if failed and call.summarize_errors():
        return validation_exception(results)
    return envelope(call.now, "Contacts", results)


def list_groups(call: Call) -> Response:
    groups = [
        dict(g, Contacts=[])
        for g in call.tenant.contact_groups.values()
        if g.get("Status") == "ACTIVE"
    ]
    where = call.request.arg("where")
    if where:
        try:
            groups = [g for g in groups if compile_where(where)(g)]
        except WhereError as error:
            return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
    return envelope(call.now, "ContactGroups", sort(groups, call.request.arg("order")))


def get_group(call: Call) -> Response:
    tenant = call.tenant
    group_id = call.request.params["id"].lower()
    group = tenant.contact_groups.get(group_id)
    if group is None:
        return not_found()
    members = [
        {"ContactID": cid, "Name": tenant.contacts[cid]["Name"]}
        for cid in tenant.group_members.get(group_id, [])
        if cid in tenant.contacts
    ]
    return envelope(call.now, "ContactGroups", [dict(group, Contacts=members)])


def add_group_members(call: Call) -> Response:
    tenant = call.tenant
    group_id = call.request.params["id"].lower()
    if group_id not in tenant.contact_groups:
        return not_found()
    members = list(tenant.group_members.get(group_id, []))
    added = []
    for ref in (call.request.json or {}).get("Contacts", []):
        contact = find_contact(tenant, ref)
        if contact is None:
            return validation_exception([element_errors(ref, ["The contact could not be found."])])
        if contact["ContactID"] not in members:
            members.append(contact["ContactID"])
        added.append({"ContactID": contact["ContactID"], "Name": contact["Name"]})
    tenant.set_group_members(group_id, members)
    return envelope(call.now, "Contacts", added)


def remove_group_member(call: Call) -> Response:
    tenant = call.tenant
    group_id = call.request.params["id"].lower()
    members = tenant.group_members.get(group_id)
    contact_id = call.request.params["contact_id"].lower()
    if members is None or contact_id not in members:
        return not_found()
    tenant.set_group_members(group_id, [m for m in members if m != contact_id])
    from ..wire import Response

    return Response(status=204, content_type="text/plain")
