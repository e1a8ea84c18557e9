"""What an admin decides about a possible duplicate: a Xero contact whose email or phone is a
CRM contact's that already has its Xero twin (see contact_sync). Issue 18's review screen adds
merging; here a person can make it a contact of its own, or say the CRM contact is the one."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import ChangeSource, Contact, ContactChange

from .contact_sync import xero_values
from .models import DuplicateResolution, PossibleDuplicate, XeroContact


def possible_duplicate_create(*, duplicate: PossibleDuplicate, user) -> Contact | None:
    """Not the same: the Xero contact becomes a CRM contact of its own, linked to it. None
    when it was decided meanwhile, or Xero's contact has been linked another way."""
    with transaction.atomic():
        held = _claim(duplicate)
        if held is None:
            return None
        connection = held.connection
        values = xero_values(held.payload, region=connection.account.country)
        contact = Contact.objects.create(
            account=connection.account,
            first_name=values.first_name,
            last_name=values.last_name,
            company_name=values.company_name,
            email=values.email,
            phone=values.phone,
            phone_e164=values.phone_e164,
            is_customer=values.is_customer,
            is_supplier=values.is_supplier,
        )
        ContactChange.objects.create(
            contact=contact,
            field="created",
            new_value=contact.display_name,
            source=ChangeSource.XERO,
            changed_by=user,
        )
        try:
            with transaction.atomic():
                XeroContact.objects.create(
                    connection=connection,
                    contact=contact,
                    xero_contact_id=values.contact_id,
                    xero_updated_at=values.updated_at,
                    payload=values.payload,
                    synced_at=timezone.now(),
                )
        except IntegrityError:  # linked by a sync meanwhile: nothing to create
            transaction.set_rollback(True)
            return None
        _resolve(held, DuplicateResolution.CREATED, user)
    return contact


def possible_duplicate_keep_one(*, duplicate: PossibleDuplicate, user) -> bool:
    """The same: the CRM contact stays the one, and the Xero contact is left alone by later
    syncs."""
    with transaction.atomic():
        held = _claim(duplicate)
        if held is None:
            return False
        _resolve(held, DuplicateResolution.KEPT_ONE, user)
    return True


def _claim(duplicate: PossibleDuplicate) -> PossibleDuplicate | None:
    return (
        PossibleDuplicate.objects.select_for_update()
        .select_related("connection__account")
        .filter(pk=duplicate.pk, resolved_at=None)
        .first()
    )


def _resolve(held: PossibleDuplicate, resolution: str, user) -> None:
    held.resolved_at, held.resolution, held.resolved_by = timezone.now(), resolution, user
    held.save(update_fields=["resolved_at", "resolution", "resolved_by"])
