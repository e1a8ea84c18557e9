from django.core.exceptions import ValidationError

from platform_crm.models import Account

from .models import ChangeSource, Contact, ContactChange
from .phones import phone_to_e164

EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "is_customer",
    "is_supplier",
    "is_archived",
)


def _normalise(contact: Contact) -> None:
    contact.email = contact.email.strip()
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


def contact_create(*, account: Account, by=None, **fields) -> Contact:
    contact = Contact(account=account, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    _normalise(contact)
    contact.save()
    ContactChange.objects.create(
        contact=contact,
        field="created",
        new_value=contact.display_name,
        source=ChangeSource.USER,
        changed_by=by,
    )
    return contact


def contact_update(*, contact: Contact, by=None, **fields) -> Contact:
    """Apply a user's edit. `contact` may already carry the new values (a ModelForm sets
    them); the audit compares with what is stored."""
    stored = Contact.objects.filter(pk=contact.pk).values(*EDITABLE_FIELDS).first() or {}
    for name, value in fields.items():
        if name in EDITABLE_FIELDS:
            setattr(contact, name, value)
    _normalise(contact)
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
        for name in EDITABLE_FIELDS
        if stored.get(name) != getattr(contact, name)
    )
    return contact
