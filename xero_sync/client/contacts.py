"""Typed calls about contacts and contact groups. Contacts come back as Xero's JSON, each
record of any shape (contacts.mapping checks every one on its own, so one odd record never
costs its neighbours); groups as our ContactGroup."""

from datetime import datetime
from typing import Any

from xero_python.accounting import Address as XAddress
from xero_python.accounting import Contact as XContact
from xero_python.accounting import Contacts as XContacts
from xero_python.accounting import Phone as XPhone

from ..inbound import normalise
from .answers import JsonObject, dicts, pagination
from .errors import BadAnswer, NotFound
from .shapes import ContactBody, ContactChanges, ContactGroup
from .transport import Transport, request_body, request_digest, xero_bool


def _contacts_model(bodies: list[ContactBody]) -> XContacts:
    fields = (
        {
            "name": body.name,
            "first_name": body.first_name,
            "last_name": body.last_name,
            "email_address": body.email_address,
            "contact_id": body.contact_id,
            "contact_number": body.contact_number,
        }
        for body in bodies
    )
    # Absent fields are left out, never sent empty; an update (with its ContactID) sends the
    # names and email as the CRM has them, empty ones too, so a field cleared here is cleared.
    clearable = ("first_name", "last_name", "email_address")
    models = []
    for body, f in zip(bodies, fields, strict=True):
        model = XContact(
            **{k: v for k, v in f.items() if v or (f["contact_id"] and k in clearable)}
        )
        if body.address is not None:
            model.addresses = [_address_model(body.address)]
        models.append(model)
    return XContacts(contacts=models)


def _address_model(parts: tuple[str, ...]) -> XAddress:
    return XAddress(address_type="POBOX", **dict(zip(ADDRESS_PARTS, parts, strict=True)))


def _changes_model(changes: ContactChanges) -> XContact:
    fields: dict[str, Any] = {
        "contact_id": changes.contact_id or None,
        "name": changes.name,
        "first_name": changes.first_name,
        "last_name": changes.last_name,
        "email_address": changes.email_address,
        "contact_status": changes.status,
    }
    model = XContact(**{k: v for k, v in fields.items() if v is not None})
    if changes.phone is not None:
        kind, number = changes.phone
        model.phones = [XPhone(phone_type=kind, phone_number=number)]
    if changes.address is not None:
        model.addresses = [_address_model(changes.address)]
    return model


# ContactChanges.address's parts, as the SDK's Address names them.
ADDRESS_PARTS = (
    "address_line1",
    "address_line2",
    "address_line3",
    "address_line4",
    "city",
    "region",
    "postal_code",
    "country",
)


def contact_changes_request(changes: list[ContactChanges]) -> JsonObject:
    """POST /Contacts' body as Xero receives it."""
    return request_body(XContacts(contacts=[_changes_model(c) for c in changes]))


def contact_changes_digest(changes: list[ContactChanges]) -> str:
    return request_digest(XContacts(contacts=[_changes_model(c) for c in changes]))


def contacts_request(bodies: list[ContactBody]) -> JsonObject:
    """PUT /Contacts' body as Xero receives it."""
    return request_body(_contacts_model(bodies))


def contacts_request_digest(bodies: list[ContactBody]) -> str:
    return request_digest(_contacts_model(bodies))


class ContactCalls(Transport):
    def contacts_create(self, contacts: list[ContactBody], *, idempotency_key: str) -> list[Any]:
        """PUT /Contacts?summarizeErrors=false: one answer per element."""
        body = contacts_request(contacts)
        return self._contacts_write("contacts.create", body, idempotency_key, put=True)

    def contacts_save(self, changes: list[ContactChanges], *, idempotency_key: str) -> list[Any]:
        """POST /Contacts?summarizeErrors=false: updates by ContactID (and creates), one answer
        per element, each with its own errors."""
        body = contact_changes_request(changes)
        return self._contacts_write("contacts.save", body, idempotency_key, put=False)

    def _contacts_write(
        self, operation: str, body: JsonObject, idempotency_key: str, *, put: bool
    ) -> list[Any]:
        def write(acc: Any, ident: Any, **o: Any) -> Any:
            send = acc.create_contacts if put else acc.update_or_create_contacts
            return send(self.connection.tenant_id, body, summarize_errors=xero_bool(False), **o)

        return self._list(operation, write, "Contacts", write=True, idempotency_key=idempotency_key)

    def contacts_search(self, term: str) -> list[Any]:
        return self._list(
            "contacts.find",
            lambda acc, ident, **o: acc.get_contacts(
                self.connection.tenant_id, search_term=term, page=1, **o
            ),
            "Contacts",
        )

    def contacts_by_ids(self, ids: list[str]) -> list[object]:
        """Contacts named by id (archived ones too), as a page of the contact list."""
        return self._list(
            "contacts.by_id",
            lambda acc, ident, **o: acc.get_contacts(
                self.connection.tenant_id,
                i_ds=ids,
                page=1,
                page_size=max(len(ids), 1),
                include_archived=xero_bool(True),
                **o,
            ),
            "Contacts",
        )

    def contacts_page(
        self,
        page: int,
        *,
        page_size: int = 1000,
        modified_since: datetime | None = None,
        include_archived: bool = True,
    ) -> tuple[list[object], dict[str, int]]:
        """One page of contacts, oldest first, and Xero's pagination block."""
        kwargs: dict[str, object] = {
            "page": page,
            "page_size": page_size,
            "include_archived": xero_bool(include_archived),
        }
        if modified_since is not None:
            kwargs["if_modified_since"] = modified_since
        body = self._call(
            "contacts.page",
            lambda acc, ident, **o: acc.get_contacts(self.connection.tenant_id, **kwargs, **o),
            raw=True,
        )
        contacts = body.get("Contacts") or []
        if not isinstance(contacts, list):
            raise BadAnswer("Xero's answer has no list of contacts.")
        return contacts, pagination(body.get("pagination"))

    def contact(self, contact_id: str) -> object | None:
        """The contact as Xero sent it (any shape: page_apply checks it), or None."""
        try:
            found = self._list(
                "contacts.get",
                lambda acc, ident, **o: acc.get_contact(self.connection.tenant_id, contact_id, **o),
                "Contacts",
            )
        except NotFound:
            return None
        return found[0] if found else None

    def contact_groups(self) -> list[ContactGroup]:
        """The organisation's active groups."""
        groups = self._list(
            "contact_groups.list",
            lambda acc, ident, **o: acc.get_contact_groups(self.connection.tenant_id, **o),
            "ContactGroups",
        )
        return [
            ContactGroup(
                id=normalise.text(g.get("ContactGroupID")), name=normalise.text(g.get("Name"))
            )
            for g in dicts(groups)
            if g.get("ContactGroupID") and normalise.text(g.get("Status") or "ACTIVE") == "ACTIVE"
        ]

    def contact_group_member_ids(self, group_id: str) -> set[str]:
        groups = self._list(
            "contact_groups.get",
            lambda acc, ident, **o: acc.get_contact_group(self.connection.tenant_id, group_id, **o),
            "ContactGroups",
        )
        members = dicts(groups[0].get("Contacts")) if dicts(groups) else []
        return {normalise.text(c.get("ContactID")) for c in members if c.get("ContactID")}
