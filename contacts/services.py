from django.core.exceptions import ValidationError

from platform_crm.models import Account

from .models import Contact
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


def contact_create(*, account: Account, **fields) -> Contact:
    contact = Contact(account=account, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    _normalise(contact)
    contact.save()
    return contact


def contact_update(*, contact: Contact, **fields) -> Contact:
    for name, value in fields.items():
        if name in EDITABLE_FIELDS:
            setattr(contact, name, value)
    _normalise(contact)
    contact.save()
    return contact
