"""Applying a page of Xero contacts to the CRM: map each record, match the page, write it.

- Each record is mapped on its own (mapping.xero_values); one that cannot be stored is
  quarantined with its reason, the rest of its page goes on, and the high-water mark moves
  past it. A page the database refuses is applied in halves down to the one record.
- A Xero value never blanks a CRM field; customer/supplier flags are only ever added.
- Archived in Xero -> archived in the CRM (never deleted). A merged Xero contact
  (MergedToContactID) moves its link to the surviving contact instead of making a duplicate.
- Contacts outside the admin's filter (groups; customers/suppliers/others) are not brought in.
- Changes made here are recorded with source "xero" (by the contacts app's bulk service) and
  never pushed back to Xero.
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import ChangeSource, Contact, ContactChange
from contacts.services import ContactEdit, contacts_apply_changes
from platform_crm.bulk_copy import copy_rows

from ..client.errors import OUTAGES, XeroError
from ..inbound import normalise
from ..inbound.models import QuarantineKind
from ..inbound.quarantine import Held, quarantine_hold, quarantine_release
from ..invoices.outbox import invoices_resume_held_of
from ..models import XeroConnection
from .conflicts import Decision, conflicts_decide
from .duplicates import kept_as_one, possible_duplicates_hold
from .mapping import (
    Change,
    ContactFilter,
    XeroValues,
    changes_apply,
    changes_from_xero,
    xero_values,
)
from .matching import (
    Clash,
    CrmSide,
    Duplicate,
    Outcome,
    crm_side_read,
    matches_decide,
    phone_holder,
    possible_duplicates_find,
)
from .models import ContactConflict, ContactSync, PhoneClash, XeroContact
from .name_links import name_questions_answered

log = logging.getLogger(__name__)

# The database, Redis or Xero away: the whole page is tried again, never split.
_WHOLE_PAGE_AGAIN: tuple[type[BaseException], ...] = (*OUTAGES, XeroError)


@dataclass
class PageResult:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    newest_update: datetime | None = None
    held: list[Held] = field(default_factory=list)
    possible_duplicates: list[Duplicate] = field(default_factory=list)

    def note_update(self, raw: object) -> None:
        """The high-water mark moves past every record Xero sent, stored or not."""
        updated = normalise.moment(raw.get("UpdatedDateUTC")) if isinstance(raw, dict) else None
        if updated and (self.newest_update is None or updated > self.newest_update):
            self.newest_update = updated

    def add(self, other: "PageResult") -> None:
        for name, count in other.counts.items():
            self.counts[name] += count
        self.held += other.held
        self.possible_duplicates += other.possible_duplicates
        if other.newest_update and (
            self.newest_update is None or other.newest_update > self.newest_update
        ):
            self.newest_update = other.newest_update


def page_apply(
    connection: XeroConnection,
    raw_contacts: list[object],
    contact_filter: ContactFilter,
    *,
    dry_run: bool = False,
    source: str = "sync",
) -> PageResult:
    """Match and apply one page of Xero contacts. Each record is mapped on its own; one that
    cannot be stored is quarantined with its reason and the rest of the page goes on, and the
    high-water mark moves past it. dry_run: count only, write nothing."""
    result = PageResult()
    region = connection.account.country
    values = []
    for raw in raw_contacts:
        result.note_update(raw)
        try:
            values.append(xero_values(raw, region=region))
        except normalise.Unstorable as unstorable:
            result.held.append(_held(raw, str(unstorable)))
    _apply_isolated(connection, values, contact_filter, dry_run, result)
    result.counts[Outcome.QUARANTINED] += len(result.held)
    if not dry_run:
        quarantine_hold(connection=connection, held=result.held, source=source)
        held_ids = {h.xero_id for h in result.held}
        quarantine_release(
            connection=connection,
            kind=QuarantineKind.CONTACT,
            xero_ids=[v.contact_id for v in values if v.contact_id not in held_ids],
            resolution="Stored by a later sync",
        )
        possible_duplicates_hold(connection, result.possible_duplicates)
    return result


def _held(raw: object, reason: str) -> Held:
    fields = raw if isinstance(raw, dict) else {}
    return Held(
        kind=QuarantineKind.CONTACT,
        raw=raw,
        reason=reason,
        xero_id=normalise.text(fields.get("ContactID")),
        label=normalise.text(fields.get("Name")) or normalise.text(fields.get("EmailAddress")),
    )


def _apply_isolated(
    connection: XeroConnection,
    values: list[XeroValues],
    contact_filter: ContactFilter,
    dry_run: bool,
    result: PageResult,
) -> None:
    """Apply the records in one transaction; when the database refuses it, apply each half
    on its own, down to the one record it refuses, which is quarantined. A page with one bad
    record costs about log2(page size) more attempts, not a lost page."""
    if not values:
        return
    try:
        plan = _page_apply_retrying(connection, values, contact_filter, dry_run=dry_run)
    except _WHOLE_PAGE_AGAIN:
        raise  # the database, Redis or Xero is away: the whole page is retried
    except Exception as refused:  # a record the database (or a bug) refuses: find it
        if len(values) == 1:
            log.exception("xero contact not stored", extra={"xero_id": values[0].contact_id})
            reason = (str(refused).strip().splitlines() or ["refused"])[0]
            result.held.append(_held(values[0].payload, f"The CRM could not store it ({reason})."))
            return
        log.info("xero contact page refused; applying it in halves", extra={"size": len(values)})
        half = len(values) // 2
        _apply_isolated(connection, values[:half], contact_filter, dry_run, result)
        _apply_isolated(connection, values[half:], contact_filter, dry_run, result)
        return
    for name, count in plan.counts.items():
        result.counts[name] += count
    result.possible_duplicates += plan.duplicates


def _page_apply_retrying(
    connection: XeroConnection,
    values: list[XeroValues],
    contact_filter: ContactFilter,
    *,
    dry_run: bool,
) -> "PagePlan":
    """One transaction for the records, retried once if a concurrent sync linked the same
    contacts first."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                plan = _page_plan(connection, values, contact_filter)
                if dry_run:
                    transaction.set_rollback(True)
                else:
                    _page_write(connection, plan)
                return plan
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("xero contact page raced another sync; re-reading")
    raise AssertionError("unreachable")


@dataclass
class PagePlan:
    """What a page does to the CRM, decided before anything is written."""

    now: datetime
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    duplicates: list[Duplicate] = field(default_factory=list)
    creates: list[XeroValues] = field(default_factory=list)
    edits: dict[int, ContactEdit] = field(default_factory=dict)  # by CRM contact id
    new_links: list[tuple[int, XeroValues]] = field(default_factory=list)  # (contact id, Xero's)
    touched_links: list[XeroContact] = field(default_factory=list)
    # CRM changes not yet in Xero (by contact id), the rule for conflicts with them, and the
    # conflicts decided: (contact id, decision).
    pending: dict[int, ContactSync] = field(default_factory=dict)
    rule: str = ""
    conflicts: list[tuple[int, Decision]] = field(default_factory=list)
    # Xero contacts whose phone is another CRM contact's: the phone stays put (phone clashes).
    crm: CrmSide | None = None
    clashes: list[Clash] = field(default_factory=list)

    def edit(self, contact: Contact, changes: list[Change]) -> None:
        """Record changes to a contact; one changed twice in a page is written once."""
        entry = self.edits.setdefault(contact.pk, ContactEdit(contact))
        entry.changes += changes

    def contact_of(self, link: XeroContact) -> Contact:
        """The link's contact as this page left it so far."""
        entry = self.edits.get(link.contact_id)
        return entry.contact if entry else link.contact


def _page_plan(
    connection: XeroConnection, page: list[XeroValues], contact_filter: ContactFilter
) -> PagePlan:
    """Decide each record's outcome: matches first (across the page), then record by record."""
    plan = PagePlan(now=timezone.now(), rule=connection.contact_conflict_rule)
    # Merged-away records first, so a survivor later in the page finds the moved link.
    page = sorted(page, key=lambda v: not v.merged_to)
    crm = plan.crm = crm_side_read(connection, page)
    plan.pending = {
        sync.contact_id: sync
        for sync in ContactSync.objects.filter(
            contact_id__in=[link.contact_id for link in crm.links.values()]
        ).exclude(dirty={})
    }
    admitted = [
        v
        for v in page
        if v.contact_id not in crm.links
        and not v.merged_to
        and not v.archived
        and contact_filter.admits(v)
    ]
    matches = matches_decide(admitted, crm)
    duplicates = possible_duplicates_find([v for v in admitted if v.contact_id not in matches], crm)
    decided_one = kept_as_one(connection, duplicates)
    plan.duplicates = [d for d in duplicates if d.values.contact_id not in decided_one]
    duplicate_ids = {d.values.contact_id for d in plan.duplicates}

    for values in page:
        if values.merged_to:
            outcome = _merge_follow(plan, values, crm)
        elif values.contact_id in crm.links:
            outcome = _linked_update(plan, values, crm.links[values.contact_id])
        elif (
            values.archived or not contact_filter.admits(values) or values.contact_id in decided_one
        ):
            outcome = Outcome.SKIPPED
        elif values.contact_id in duplicate_ids:
            outcome = Outcome.POSSIBLE_DUPLICATE
        elif values.contact_id in matches:
            outcome = _match_link(plan, values, *matches[values.contact_id])
        else:
            plan.creates.append(values)
            outcome = Outcome.CREATED
        plan.counts[outcome] += 1
    return plan


def _linked_update(plan: PagePlan, values: XeroValues, link: XeroContact) -> str:
    """A Xero contact already linked: its news go onto its CRM contact."""
    if link.xero_updated_at and link.xero_updated_at == values.updated_at:
        return Outcome.UNCHANGED
    contact = plan.contact_of(link)
    changes = changes_from_xero(contact, values)
    pending = plan.pending.get(contact.pk)
    if pending is not None and changes:
        # Fields changed here and not yet in Xero: Xero's older value is not applied, and a
        # field changed in both places is decided by the connection's rule.
        before = _xero_before(link, contact)
        changes, decisions = conflicts_decide(changes, pending.dirty, before, values, plan.rule)
        plan.conflicts += [(contact.pk, d) for d in decisions]
    changes = _phone_kept_apart(plan, contact, values, changes)
    changes_apply(contact, changes, values)
    if changes:
        plan.edit(contact, changes)
    link.payload, link.xero_updated_at, link.synced_at = values.payload, values.updated_at, plan.now
    plan.touched_links.append(link)
    return Outcome.UPDATED_LINKED if changes else Outcome.UNCHANGED


def _phone_kept_apart(
    plan: PagePlan, contact: Contact, values: XeroValues, changes: list[Change]
) -> list[Change]:
    """Xero's phone for this contact is another CRM contact's: it is not moved here (a clash,
    for a person to look at), and the other changes go ahead."""
    if plan.crm is None or not any(name == "phone" for name, _, _ in changes):
        return changes
    holder = phone_holder(plan.crm, contact, values.phone_e164)
    if holder is None:
        return changes
    plan.clashes.append(Clash(values, contact, holder))
    return [change for change in changes if change[0] != "phone"]


def _xero_before(link: XeroContact, contact: Contact) -> XeroValues | None:
    """Xero's contact as last synced (None when not known)."""
    if not link.payload:
        return None
    try:
        return xero_values(link.payload, region=contact.account.country)
    except normalise.Unstorable:
        return None


def _match_link(plan: PagePlan, values: XeroValues, contact: Contact, outcome: str) -> str:
    """An unlinked CRM contact found by email or phone: updated from Xero and linked."""
    changes = _phone_kept_apart(plan, contact, values, changes_from_xero(contact, values))
    changes_apply(contact, changes, values)
    plan.edit(contact, changes)
    plan.new_links.append((contact.pk, values))
    return outcome


def _merge_follow(plan: PagePlan, values: XeroValues, crm: CrmSide) -> str:
    """Xero merged this contact into values.merged_to."""
    link = crm.links.get(values.contact_id)
    if link is None:
        return Outcome.SKIPPED  # never imported: nothing to follow
    if values.merged_to not in crm.links:
        # Our contact now stands for the survivor; its details arrive with the survivor.
        link.xero_contact_id = values.merged_to
        link.xero_updated_at = None
        link.synced_at = plan.now
        plan.touched_links.append(link)
        crm.links[values.merged_to] = link
        return Outcome.UPDATED_LINKED
    # The survivor is already someone else in the CRM: this one is the duplicate.
    contact = link.contact
    if not contact.is_archived:
        contact.is_archived = True
        plan.edit(contact, [("is_archived", False, True)])
        return Outcome.UPDATED_LINKED
    return Outcome.UNCHANGED


_LINK_COLUMNS = (
    "connection_id",
    "contact_id",
    "xero_contact_id",
    "xero_updated_at",
    "payload",
    "synced_at",
)


def _page_write(connection: XeroConnection, plan: PagePlan) -> None:
    """The contacts through the contacts app's bulk service, then the links to Xero."""
    created_ids = contacts_apply_changes(
        account=connection.account,
        creates=[values.new_contact() for values in plan.creates],
        updates=plan.edits.values(),
        source=ChangeSource.XERO,
    )
    if plan.touched_links:
        XeroContact.objects.bulk_update(
            plan.touched_links,
            ["xero_contact_id", "payload", "xero_updated_at", "synced_at"],
            batch_size=1000,
        )
    if plan.conflicts:
        _conflicts_write(connection, plan)
    if plan.clashes:
        _clashes_write(connection, plan)
    if plan.new_links:
        # A contact linked now may be one whose invoices wait for a decision about its name
        # in Xero (contacts.name_links): linked, the question is answered and they go on
        # once this page is stored.
        newly = [pk for pk, _ in plan.new_links]
        name_questions_answered(connection, newly)
        transaction.on_commit(lambda: invoices_resume_held_of(newly))
    links = plan.new_links + list(zip(created_ids, plan.creates, strict=True))
    if links:
        copy_rows(
            XeroContact,
            _LINK_COLUMNS,
            (
                (
                    connection.pk,
                    pk,
                    v.contact_id,
                    v.updated_at,
                    json.dumps(v.payload),  # as JSONField writes it (no encoder)
                    plan.now,
                )
                for pk, v in links
            ),
        )


def _clashes_write(connection: XeroConnection, plan: PagePlan) -> None:
    """Each phone clash listed once (for Possible duplicates) and told once in the history of
    the contact that did not take the phone."""
    known = set(
        PhoneClash.objects.filter(
            connection=connection,
            xero_contact_id__in={c.values.contact_id for c in plan.clashes},
        ).values_list("xero_contact_id", "contact_id", "phone_holder_id", "phone_e164")
    )
    new: dict[tuple[str, int, int, str], Clash] = {}
    for clash in plan.clashes:
        key = (clash.values.contact_id, clash.contact.pk, clash.holder.pk, clash.values.phone_e164)
        if key not in known:
            new.setdefault(key, clash)
    PhoneClash.objects.bulk_create(
        PhoneClash(
            connection=connection,
            xero_contact_id=c.values.contact_id,
            xero_name=c.values.name,
            contact=c.contact,
            phone_holder=c.holder,
            phone=c.values.phone,
            phone_e164=c.values.phone_e164,
        )
        for c in new.values()
    )
    ContactChange.objects.bulk_create(
        ContactChange(
            contact=c.contact,
            field="phone_clash",
            old_value=c.contact.phone,
            new_value=(
                f"Xero's “{c.values.name}” is this contact, but its phone {c.values.phone} is "
                f"{c.holder.display_name}'s (#{c.holder.pk}) here: the phone was not moved. "
                "Both are listed under Possible duplicates."
            ),
            source=ChangeSource.XERO,
        )
        for c in new.values()
    )


def _conflicts_write(connection: XeroConnection, plan: PagePlan) -> None:
    """Each conflict on record and in its contact's history; a field Xero won is no longer
    the CRM's to send (unless changed here again since)."""
    ContactConflict.objects.bulk_create(
        ContactConflict(
            connection=connection,
            contact_id=contact_id,
            field=d.field,
            crm_value=d.crm_value,
            xero_value=d.xero_value,
            winner=d.winner,
            rule=d.rule,
            crm_changed_at=d.crm_changed_at,
            xero_changed_at=d.xero_changed_at,
        )
        for contact_id, d in plan.conflicts
    )
    ContactChange.objects.bulk_create(
        ContactChange(
            contact_id=contact_id,
            field="conflict",
            new_value=d.in_words(),
            source=ChangeSource.XERO,
        )
        for contact_id, d in plan.conflicts
    )
    won: dict[int, dict[str, object]] = defaultdict(dict)
    for contact_id, d in plan.conflicts:
        if d.winner == "xero":
            won[contact_id][d.field] = plan.pending[contact_id].dirty.get(d.field)
    # Locked after the contacts (as a CRM edit locks them: the contact, then its sync row).
    for sync in ContactSync.objects.select_for_update().filter(contact_id__in=list(won)):
        fields = won[sync.contact_id]
        sync.dirty = {k: v for k, v in sync.dirty.items() if fields.get(k, None) != v}
        sync.save(update_fields=["dirty", "updated_at"])
