"""Contacts that look like one person or company: the same email (case aside), the same E.164
phone, or the same name once case, punctuation and word order are put aside. Listed for a
person to merge or to mark as not duplicates; never merged by themselves."""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import ForeignKey

from platform_crm.models import Account

from .models import ADDRESS_FIELDS, ChangeSource, Contact, ContactChange, NotDuplicate
from .signals import contacts_merging, duplicate_group_sources

GROUPS_SHOWN = 50


@dataclass(frozen=True)
class DuplicateGroup:
    key: str  # what they share, as "email:…", "phone:…" or "name:…" (or another source's key)
    contacts: tuple[Contact, ...]
    reason: str = ""  # another source's words for why they look like one

    @property
    def why(self) -> str:
        if self.reason:
            return self.reason
        kind, _, value = self.key.partition(":")
        return {"email": "the same email", "phone": "the same phone", "name": "the same name"}[
            kind
        ] + f" ({value})"

    @property
    def ids(self) -> list[int]:
        return sorted(c.pk for c in self.contacts)


def name_key(contact: Contact) -> str:
    """A name as people read it: case, punctuation and word order aside."""
    words = re.sub(r"[^\w\s]", " ", contact.display_name.casefold()).split()
    return " ".join(sorted(words))


def duplicate_groups(account: Account, *, limit: int = GROUPS_SHOWN) -> list[DuplicateGroup]:
    """The account's active contacts that share an email, a phone or a name, in groups, after
    the groups other sources (an integration) know of; a set of contacts already found by one
    key is not listed again by another, and groups an admin said are not duplicates stay
    hidden while their members stay the same."""
    contacts = list(Contact.objects.filter(account=account, is_archived=False).order_by("pk"))
    by_key: dict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        if contact.email:
            by_key[f"email:{contact.email.lower()}"].append(contact)
        if contact.phone_e164:
            by_key[f"phone:{contact.phone_e164}"].append(contact)
        name = name_key(contact)
        if name:
            by_key[f"name:{name}"].append(contact)
    dismissed = {
        (key, tuple(ids))
        for key, ids in NotDuplicate.objects.filter(account=account).values_list(
            "key", "contact_ids"
        )
    }
    by_id = {contact.pk: contact for contact in contacts}
    reasons: dict[str, str] = {}
    for _, answer in duplicate_group_sources.send(sender=Contact, account=account):
        if not isinstance(answer, list):
            continue
        for source_key, source_ids, reason in answer:
            members = [by_id[pk] for pk in sorted(set(source_ids)) if pk in by_id]
            if source_key not in by_key and len(members) >= 2:
                by_key[source_key], reasons[source_key] = members, reason
    groups, seen = [], set()
    for key, members in sorted(by_key.items(), key=lambda item: item[0] not in reasons):
        ids = tuple(sorted(c.pk for c in members))
        if len(members) < 2 or ids in seen or (key, ids) in dismissed:
            continue
        if any((other, ids) in dismissed for other in by_key if other != key):
            continue  # the same people, already said not to be one
        seen.add(ids)
        groups.append(DuplicateGroup(key, tuple(members), reasons.get(key, "")))
        if len(groups) >= limit:
            break
    return groups


def duplicate_group_find(account: Account, key: str, ids: list[int]) -> DuplicateGroup | None:
    """The group as listed, if it still stands (members unchanged)."""
    wanted = sorted(ids)
    return next(
        (g for g in duplicate_groups(account, limit=10**6) if g.key == key and g.ids == wanted),
        None,
    )


def duplicates_dismiss(*, account: Account, group: DuplicateGroup, by: User | None) -> None:
    """Not one person or company: the group is not listed again."""
    try:
        with transaction.atomic():
            NotDuplicate.objects.create(
                account=account, key=group.key, contact_ids=group.ids, decided_by=by
            )
    except IntegrityError:
        pass  # said already (a double click)


MERGE_FILLS = ("first_name", "last_name", "company_name", "email", "phone", "phone_e164")


def contacts_merge(
    *, account: Account, survivor: Contact, merged: list[Contact], by: User | None
) -> Contact:
    """Fold `merged` into `survivor`: everything that points at them (invoices and so their
    payments, history, links kept by integrations) moves to the survivor, a field the survivor
    lacks is filled from them, and they are deleted. One transaction."""
    merged = [c for c in merged if c.pk != survivor.pk]
    if any(c.account_id != account.pk for c in [survivor, *merged]):
        raise ValueError("a contact of another account")
    with transaction.atomic():
        ids = [survivor.pk, *(c.pk for c in merged)]
        locked = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=ids)}
        survivor = locked[survivor.pk]
        merged = [locked[c.pk] for c in merged if c.pk in locked]
        contacts_merging.send(sender=Contact, survivor=survivor, merged=merged)
        for relation in Contact._meta.related_objects:
            if relation.one_to_one or not isinstance(relation.field, ForeignKey):
                continue
            relation.related_model._default_manager.filter(
                **{f"{relation.field.name}__in": merged}
            ).update(**{relation.field.name: survivor})
        filled = []
        for name in MERGE_FILLS:
            if not getattr(survivor, name):
                value = next((getattr(c, name) for c in merged if getattr(c, name)), "")
                if value:
                    setattr(survivor, name, value)
                    filled.append(name)
        if not any(getattr(survivor, name) for name in ADDRESS_FIELDS):
            # An address is taken whole, never pieced together from several.
            source = next((c for c in merged if any(getattr(c, n) for n in ADDRESS_FIELDS)), None)
            if source is not None:
                for name in ADDRESS_FIELDS:
                    setattr(survivor, name, getattr(source, name))
                filled.append("billing_address")
        said = [name for name in filled if name != "phone_e164"]
        survivor.is_customer = survivor.is_customer or any(c.is_customer for c in merged)
        survivor.is_supplier = survivor.is_supplier or any(c.is_supplier for c in merged)
        survivor.save()
        ContactChange.objects.create(
            contact=survivor,
            field="merged",
            new_value="Merged with "
            + ", ".join(f"{c.display_name} (#{c.pk})" for c in merged)
            + (f"; took their {', '.join(f.replace('_', ' ') for f in said)}" if said else ""),
            source=ChangeSource.USER,
            changed_by=by,
        )
        Contact.objects.filter(pk__in=[c.pk for c in merged]).delete()
    return survivor
