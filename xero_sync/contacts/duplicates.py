"""Possible duplicates: a Xero contact whose email or phone is a CRM contact's that already
has its Xero twin (see matching). A sync holds them; a person can make one a contact of its
own, or say the CRM contact is the one."""

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.duplicates import contacts_merge
from contacts.models import ChangeSource, Contact
from contacts.services import contacts_apply_changes
from platform_crm.models import Account

from ..inbound import normalise
from ..models import XeroConnection
from .mapping import xero_values
from .matching import Duplicate
from .models import DuplicateResolution, PhoneClash, PossibleDuplicate, XeroContact


def kept_as_one(connection: XeroConnection, duplicates: list[Duplicate]) -> set[str]:
    """Xero contacts an admin already decided are the CRM contact they match: left alone."""
    if not duplicates:
        return set()
    return set(
        PossibleDuplicate.objects.filter(
            connection=connection,
            xero_contact_id__in=[d.values.contact_id for d in duplicates],
            resolution=DuplicateResolution.KEPT_ONE,
        ).values_list("xero_contact_id", flat=True)
    )


def possible_duplicates_hold(connection: XeroConnection, duplicates: list[Duplicate]) -> None:
    """Keep each possible duplicate once, with Xero's latest word on it: one read, one update
    and one insert for a page's worth (a large import can hold thousands)."""
    latest = {d.values.contact_id: d for d in duplicates}  # a later sighting wins
    if not latest:
        return
    try:
        with transaction.atomic():
            _hold_in_bulk(connection, latest)
    except IntegrityError:
        # Another sync held one of them meanwhile: one at a time, each re-read.
        for duplicate in latest.values():
            PossibleDuplicate.objects.update_or_create(
                connection=connection,
                xero_contact_id=duplicate.values.contact_id,
                resolved_at=None,
                defaults=_held_fields(duplicate),
            )


def _held_fields(duplicate: Duplicate) -> dict[str, Any]:
    values = duplicate.values
    return {
        "contact": duplicate.contact,
        "xero_name": values.name,
        "matched_by": duplicate.matched_by,
        "payload": values.payload,
    }


def _hold_in_bulk(connection: XeroConnection, latest: dict[str, Duplicate]) -> None:
    held = {
        row.xero_contact_id: row
        for row in PossibleDuplicate.objects.select_for_update().filter(
            connection=connection, xero_contact_id__in=list(latest), resolved_at=None
        )
    }
    for xero_id, row in held.items():
        for field, value in _held_fields(latest[xero_id]).items():
            setattr(row, field, value)
    PossibleDuplicate.objects.bulk_update(
        list(held.values()), ["contact", "xero_name", "matched_by", "payload"]
    )
    PossibleDuplicate.objects.bulk_create(
        PossibleDuplicate(connection=connection, xero_contact_id=xero_id, **_held_fields(d))
        for xero_id, d in latest.items()
        if xero_id not in held
    )


def possible_duplicate_create(*, duplicate: PossibleDuplicate, user: User) -> Contact | None:
    """Not the same: the Xero contact becomes a CRM contact of its own, linked to it. None
    when it was decided meanwhile, or Xero's contact has been linked another way."""
    with transaction.atomic():
        held = _claim(duplicate)
        if held is None:
            return None
        connection = held.connection
        values = xero_values(held.payload, region=connection.account.country)
        [contact_id] = contacts_apply_changes(
            account=connection.account,
            creates=[values.new_contact()],
            updates=[],
            source=ChangeSource.XERO,
            by=user,
        )
        try:
            with transaction.atomic():
                XeroContact.objects.create(
                    connection=connection,
                    contact_id=contact_id,
                    xero_contact_id=values.contact_id,
                    xero_updated_at=values.updated_at,
                    payload=values.payload,
                    synced_at=timezone.now(),
                )
        except IntegrityError:  # linked by a sync meanwhile: nothing to create
            transaction.set_rollback(True)
            return None
        _resolve(held, DuplicateResolution.CREATED, user)
    return Contact.objects.get(pk=contact_id)


def possible_duplicate_keep_one(*, duplicate: PossibleDuplicate, user: User) -> bool:
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


def _resolve(held: PossibleDuplicate, resolution: str, user: User) -> None:
    held.resolved_at, held.resolution, held.resolved_by = timezone.now(), resolution, user
    held.save(update_fields=["resolved_at", "resolution", "resolved_by"])


def possible_duplicate_link_instead(*, duplicate: PossibleDuplicate, user: User) -> bool:
    """The CRM contact is this Xero contact: its link moves here (Xero's details come with the
    next sync), and the Xero contact it was linked to is left alone by later syncs. False when
    decided meanwhile, or when this Xero contact is linked to another CRM contact."""
    with transaction.atomic():
        held = _claim(duplicate)
        if held is None:
            return False
        connection = held.connection
        if XeroContact.objects.filter(
            connection=connection, xero_contact_id=held.xero_contact_id
        ).exists():
            return False
        link = XeroContact.objects.select_for_update().filter(contact_id=held.contact_id).first()
        if link is not None:
            PossibleDuplicate.objects.create(
                connection=connection,
                contact_id=held.contact_id,
                xero_contact_id=link.xero_contact_id,
                xero_name=normalise.text(link.payload.get("Name")),
                matched_by=held.matched_by,
                payload=link.payload,
                resolved_at=timezone.now(),
                resolution=DuplicateResolution.KEPT_ONE,
                resolved_by=user,
            )
            values = xero_values(held.payload, region=connection.account.country)
            link.xero_contact_id = values.contact_id
            link.payload, link.xero_updated_at = values.payload, None  # the next sync reads it
            link.synced_at = timezone.now()
            link.save()
        else:
            XeroContact.objects.create(
                connection=connection,
                contact_id=held.contact_id,
                xero_contact_id=held.xero_contact_id,
                payload=held.payload,
                synced_at=timezone.now(),
            )
        _resolve(held, DuplicateResolution.LINKED_INSTEAD, user)
    return True


def name_match_merge(*, duplicate: PossibleDuplicate, user: User) -> Contact | None:
    """ "Same contact" for a name question whose Xero contact came into the CRM meanwhile (an
    import, a webhook or a poll made it a contact of its own): both CRM contacts are that Xero
    contact, so they are merged into the one asked about, which takes the link (links_fold)
    and whose waiting invoices go on (the merge receiver). The merged contact, or None when
    decided meanwhile or that Xero contact is not another contact here."""
    with transaction.atomic():
        held = _claim(duplicate)
        if held is None or held.matched_by != "name":
            return None
        other = (
            XeroContact.objects.select_related("contact")
            .filter(connection=held.connection, xero_contact_id=held.xero_contact_id)
            .exclude(contact_id=held.contact_id)
            .first()
        )
        if other is None or other.contact.account_id != held.connection.account_id:
            return None
        merged = other.contact
        contacts_merge(
            account=held.connection.account, survivor=held.contact, merged=[merged], by=user
        )
        _resolve(held, DuplicateResolution.LINKED_INSTEAD, user)
    return merged


def links_fold(*, survivor: Contact, merged: list[Contact]) -> None:
    """CRM contacts merged: a merged contact's Xero link moves to the survivor when it has
    none; otherwise that Xero contact is kept as one with the survivor (later syncs leave it
    alone) and the link goes. Their outbox rows go with them."""
    has_link = XeroContact.objects.filter(contact=survivor).exists()
    for link in XeroContact.objects.select_for_update().filter(contact__in=merged):
        if not has_link:
            XeroContact.objects.filter(pk=link.pk).update(contact=survivor)
            has_link = True
            continue
        PossibleDuplicate.objects.filter(
            connection=link.connection, xero_contact_id=link.xero_contact_id, resolved_at=None
        ).delete()
        PossibleDuplicate.objects.create(
            connection=link.connection,
            contact=survivor,
            xero_contact_id=link.xero_contact_id,
            xero_name=normalise.text(link.payload.get("Name")),
            matched_by="merge",
            payload=link.payload,
            resolved_at=timezone.now(),
            resolution=DuplicateResolution.KEPT_ONE,
        )
        link.delete()


def phone_clash_groups(account: Account, *, limit: int = 100) -> list[tuple[str, list[int], str]]:
    """For Possible duplicates: each Xero contact that is one contact here while its phone is
    another's, as (key, the two ids, why in words)."""
    clashes = PhoneClash.objects.filter(connection__account=account).select_related(
        "contact", "phone_holder"
    )[:limit]
    return [
        (
            f"xero-phone:{c.xero_contact_id}:{c.phone_e164}",
            [c.contact_id, c.phone_holder_id],
            f"Xero's “{c.xero_name}” is {c.contact.display_name} here, but its phone "
            f"{c.phone} is {c.phone_holder.display_name}'s: the phone was not moved. One "
            "person or company, or two?",
        )
        for c in clashes
    ]
