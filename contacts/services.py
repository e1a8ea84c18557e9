from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from platform_crm.bulk_copy import copy_rows, ids_reserve
from platform_crm.models import Account

from .models import ADDRESS_FIELDS, ChangeSource, Contact, ContactChange, display_name_of
from .phones import phone_to_e164
from .signals import contact_changed, contact_edit_refusals

EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    *ADDRESS_FIELDS,
    "is_customer",
    "is_supplier",
    "is_archived",
)


def _normalise(contact: Contact) -> None:
    contact.email = contact.email.strip()
    for name in ADDRESS_FIELDS:
        setattr(contact, name, " ".join(getattr(contact, name).split()))
    contact.phone = contact.phone.strip()
    if contact.phone:
        e164 = phone_to_e164(contact.phone, default_region=contact.account.country)
        if e164 is None:
            raise ValidationError({"phone": "This does not look like a phone number."})
        contact.phone_e164 = e164
    else:
        contact.phone_e164 = ""
    if not (contact.first_name or contact.last_name or contact.company_name):
        raise ValidationError("Give the contact a first name, a last name or a company name.")


def contact_create(*, account: Account, by: User | None = None, **fields: Any) -> Contact:
    contact = Contact(account=account, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    _normalise(contact)
    with transaction.atomic():
        contact.save()
        ContactChange.objects.create(
            contact=contact,
            field="created",
            new_value=contact.display_name,
            source=ChangeSource.USER,
            changed_by=by,
        )
        contact_changed.send(
            sender=Contact, contact=contact, fields=["created"], at=contact.created_at
        )
    return contact


def contact_update(*, contact: Contact, by: User | None = None, **fields: Any) -> Contact:
    """Apply a user's edit. `contact` may already carry the new values (a ModelForm sets
    them); the audit compares with what is stored."""
    stored = Contact.objects.filter(pk=contact.pk).values(*EDITABLE_FIELDS).first() or {}
    for name, value in fields.items():
        if name in EDITABLE_FIELDS:
            setattr(contact, name, value)
    _normalise(contact)
    changed = [name for name in EDITABLE_FIELDS if stored.get(name) != getattr(contact, name)]
    if changed:
        refusals = [
            answer
            for _, answer in contact_edit_refusals.send(
                sender=Contact, contact=contact, fields=changed
            )
            if answer
        ]
        if refusals:
            raise ValidationError(refusals)
    with transaction.atomic():
        contact.save()
        ContactChange.objects.bulk_create(
            ContactChange(
                contact=contact,
                field=name,
                old_value=str(stored.get(name, "")),
                new_value=str(getattr(contact, name)),
                source=ChangeSource.USER,
                changed_by=by,
            )
            for name in changed
        )
        if changed:
            contact_changed.send(
                sender=Contact, contact=contact, fields=changed, at=contact.updated_at
            )
    return contact


# --- many contacts at once (an import from another system) ------------------------------------
# What a bulk write sets on a contact, in this order.
BULK_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "phone_e164",
    *ADDRESS_FIELDS,
    "is_archived",
    "is_customer",
    "is_supplier",
)


@dataclass(frozen=True)
class ContactValues:
    """A contact to create: already fit for the columns (the caller normalised it)."""

    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    email: str = ""
    phone: str = ""
    phone_e164: str = ""
    address_line1: str = ""
    address_line2: str = ""
    address_line3: str = ""
    address_line4: str = ""
    address_city: str = ""
    address_region: str = ""
    address_postal_code: str = ""
    address_country: str = ""
    is_archived: bool = False
    is_customer: bool = True
    is_supplier: bool = False

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in BULK_FIELDS)

    def display_name(self, pk: int) -> str:
        return display_name_of(
            first_name=self.first_name,
            last_name=self.last_name,
            company_name=self.company_name,
            email=self.email,
            pk=pk,
        )


@dataclass
class ContactEdit:
    """A stored contact already carrying its new values, and each change made to it as
    (field, old value, new value), in the order they were made."""

    contact: Contact
    changes: list[tuple[str, object, object]] = field(default_factory=list)


# The edited contacts' BULK_FIELDS in one statement (bulk_update's CASE WHEN per row and field
# costs more than the rest of an import's page), and updated_at as auto_now sets it.
_UPDATE_TYPES = ("bigint", *("boolean" if f.startswith("is_") else "text" for f in BULK_FIELDS))
_UPDATE_SQL = (
    f"UPDATE {Contact._meta.db_table} AS c "  # noqa: S608 (names of our own, no input)
    f"SET {', '.join(f'{name} = v.{name}' for name in BULK_FIELDS)}, updated_at = %s "
    f"FROM unnest({', '.join(f'%s::{t}[]' for t in _UPDATE_TYPES)}) "
    f"AS v(id, {', '.join(BULK_FIELDS)}) WHERE c.id = v.id AND c.account_id = %s"
)
_CONTACT_COLUMNS = ("id", *BULK_FIELDS, "account_id", "created_at", "updated_at")
_CHANGE_COLUMNS = (
    "contact_id",
    "field",
    "old_value",
    "new_value",
    "source",
    "changed_by_id",
    "changed_at",
)


def contacts_apply_changes(
    *,
    account: Account,
    creates: Sequence[ContactValues],
    updates: Iterable[ContactEdit],
    source: ChangeSource,
    by: User | None = None,
) -> list[int]:
    """Create and edit many of the account's contacts at once, each change in the audit trail
    with its source (a created contact as "created" with its display name), as contact_create
    and contact_update record them. Returns the new contacts' ids, in the order of `creates`.
    Call it inside a transaction: on PostgreSQL it writes with COPY and one UPDATE, without
    building a model per row. created_at, updated_at and changed_at are one reading of the
    clock, taken at write time."""
    edits = list(updates)
    if any(edit.contact.account_id != account.pk for edit in edits):
        raise ValueError("a contact of another account")
    stamp = timezone.now()
    ids = ids_reserve(Contact, len(creates))
    created = list(zip(ids, creates, strict=True))
    if created:
        copy_rows(
            Contact,
            _CONTACT_COLUMNS,
            ((pk, *values.row(), account.pk, stamp, stamp) for pk, values in created),
        )
    if edits:
        contacts = [edit.contact for edit in edits]
        with db_connection.cursor() as cursor:
            cursor.execute(
                _UPDATE_SQL,
                [
                    stamp,
                    [c.pk for c in contacts],
                    *([getattr(c, name) for c in contacts] for name in BULK_FIELDS),
                    account.pk,
                ],
            )
    by_id = by.pk if by is not None else None
    audit = [
        *(
            (edit.contact.pk, name, str(old), str(new))
            for edit in edits
            for name, old, new in edit.changes
        ),
        *((pk, "created", "", values.display_name(pk)) for pk, values in created),
    ]
    if audit:
        copy_rows(
            ContactChange,
            _CHANGE_COLUMNS,
            ((*row, source.value, by_id, stamp) for row in audit),
        )
    return ids
