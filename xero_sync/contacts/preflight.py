"""Xero needs contact names to be unique among active contacts (and archived ones keep theirs):
a CRM name that another contact known from Xero holds is refused before any call, in words
that name the other contact."""

from contacts.models import Contact

from ..models import XeroConnection
from .models import PossibleDuplicate, XeroContact


def name_taken_message(connection: XeroConnection, contact: Contact, name: str) -> str:
    """Why `contact` cannot be called `name` in Xero, or "" when no other contact known from
    Xero holds that name (compared as Xero does, case aside)."""
    name = name.strip()
    if not name:
        return ""
    other = (
        XeroContact.objects.filter(connection=connection, payload__Name__iexact=name)
        .exclude(contact_id=contact.pk)
        .select_related("contact")
        .first()
    )
    if other is not None:
        archived = other.payload.get("ContactStatus") == "ARCHIVED"
        kept = " (archived in Xero, which keeps its name)" if archived else ""
        return (
            f"Xero already has a contact named “{name}”: the contact “"
            f"{other.contact.display_name}” here{kept}. "
            "Xero needs contact names to be unique; choose another name, or rename that contact "
            "first."
        )
    held = (
        PossibleDuplicate.objects.filter(
            connection=connection, resolved_at=None, xero_name__iexact=name
        )
        .exclude(contact_id=contact.pk)
        .first()
    )
    if held is not None:
        return (
            f"Xero already has a contact named “{name}” (not yet in the CRM: it is listed under "
            "Possible duplicates). Xero needs contact names to be unique; choose another name."
        )
    return ""
