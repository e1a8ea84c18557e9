"""Contacts from Xero into the CRM: mapping, matching and applying, a page at a time.

Rules:
- Names: a Xero contact with a FirstName or LastName is a person, with Name as the company
  unless it only repeats the person's name; one with neither is a company named by its Name,
  and no person's name is made up (xero_values).
- What Xero sends is normalised to what the CRM's columns hold (xero_sync.normalise); a record
  that still cannot be stored is quarantined with its reason, and the rest of its page goes on.
- Matching, in order: the Xero link; an unlinked CRM contact with the same email (compared
  case-insensitively); one with the same phone (compared in E.164, the account's country as
  the default region). Ties go to the oldest contact, and are logged.
- A Xero value never blanks a CRM field; customer/supplier flags are only ever added.
- Archived in Xero -> archived in the CRM (never deleted). A merged Xero contact
  (MergedToContactID) moves its link to the surviving contact instead of making a duplicate.
- Contacts outside the admin's filter (groups; customers/suppliers/others) are not brought in.
- Changes made here are recorded with source "xero" and never pushed back to Xero.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import ChangeSource, Contact, ContactChange
from contacts.phones import phone_to_e164

from . import normalise
from .client.errors import OUTAGES, XeroError
from .models import (
    DuplicateResolution,
    PossibleDuplicate,
    QuarantineKind,
    XeroConnection,
    XeroContact,
)
from .quarantine import Held, quarantine_hold, quarantine_release

log = logging.getLogger(__name__)

TEXT_FIELDS = ("first_name", "last_name", "company_name", "email", "phone")
ID_LENGTH = XeroContact._meta.get_field("xero_contact_id").max_length
PHONE_TYPES = ("DEFAULT", "MOBILE", "DDI")  # in order of preference; FAX never


# --- reading Xero's shape ------------------------------------------------------------------
def _limit(name: str) -> int:
    return Contact._meta.get_field(name).max_length


def _phone_text(phone: dict) -> str:
    country, area, number = (
        normalise.text(phone.get(key))
        for key in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")
    )
    if not number:
        return ""
    if country:
        return normalise.text(f"+{country.lstrip('+')} {area} {number}".replace("  ", " "))
    return f"{area} {number}".strip()


def _best_phone(phones, region: str) -> tuple[str, str]:
    """(as Xero shows it, E.164) for the first usable phone; empty ones are ignored."""
    by_type = {p.get("PhoneType"): p for p in phones if isinstance(p, dict)}
    for phone_type in PHONE_TYPES:
        text = _phone_text(by_type.get(phone_type) or {})
        if not text:
            continue
        e164 = phone_to_e164(text, default_region=region)
        area = normalise.text(by_type[phone_type].get("PhoneAreaCode"))
        if e164 is None and area[:1] not in ("0", ""):
            # An area code written without its trunk 0 and no country code: "21" "555 0102".
            e164 = phone_to_e164("0" + text, default_region=region)
        if e164 and len(e164) <= _limit("phone_e164"):
            return normalise.text(text, _limit("phone")), e164
    return "", ""


def _name_key(name: str) -> list[str]:
    """A name compared as people read it: case, punctuation and word order aside."""
    return sorted("".join(c for c in name.casefold() if c.isalnum() or c.isspace()).split())


def same_name(a: str, b: str) -> bool:
    return bool(a) and _name_key(a) == _name_key(b)


@dataclass(frozen=True)
class XeroValues:
    """What Xero says about a contact, in CRM terms and fit for the CRM's columns."""

    contact_id: str
    archived: bool
    merged_to: str
    updated_at: datetime | None
    first_name: str
    last_name: str
    company_name: str
    email: str
    phone: str
    phone_e164: str
    is_customer: bool
    is_supplier: bool
    payload: dict = field(repr=False, compare=False)

    @property
    def is_company(self) -> bool:
        """Xero named no person: a company (or a person Xero knows only by Name)."""
        return not (self.first_name or self.last_name)


def xero_values(raw, *, region: str) -> XeroValues:
    """One Xero contact (its JSON) in CRM terms: a person when Xero gives a first or last
    name, with Name as the company unless Name only repeats the person's name; otherwise a
    company named by Name, with no person's name made up. Raises normalise.Unstorable when
    the record cannot be stored (no ContactID)."""
    if not isinstance(raw, dict):
        raise normalise.Unstorable("Xero sent something that is not a contact")
    contact_id = normalise.fits(raw.get("ContactID"), ID_LENGTH)
    if not contact_id:
        raise normalise.Unstorable("Xero sent a contact without a ContactID")
    name = normalise.text(raw.get("Name"), _limit("company_name"))
    first = normalise.text(raw.get("FirstName"), _limit("first_name"))
    last = normalise.text(raw.get("LastName"), _limit("last_name"))
    company = name
    if (first or last) and same_name(name, f"{first} {last}"):
        company = ""  # "Fetu T." for Fetu T. is the person, not a company
    phones = raw.get("Phones")
    phone, e164 = _best_phone(phones if isinstance(phones, list) else [], region)
    return XeroValues(
        contact_id=contact_id,
        archived=normalise.text(raw.get("ContactStatus")) not in ("", "ACTIVE"),
        merged_to=normalise.fits(raw.get("MergedToContactID"), ID_LENGTH),
        updated_at=normalise.moment(raw.get("UpdatedDateUTC")),
        first_name=first,
        last_name=last,
        company_name=company,
        email=normalise.text(raw.get("EmailAddress"), _limit("email")),
        phone=phone,
        phone_e164=e164,
        is_customer=normalise.flag(raw.get("IsCustomer")),
        is_supplier=normalise.flag(raw.get("IsSupplier")),
        payload=normalise.json_safe(raw),
    )


# --- the filter ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ContactFilter:
    group_member_ids: frozenset[str] | None  # None: every contact
    customers: bool = True
    suppliers: bool = True
    others: bool = True

    def admits(self, values: XeroValues) -> bool:
        if self.group_member_ids is not None and values.contact_id not in self.group_member_ids:
            return False
        if values.is_customer or values.is_supplier:
            return (self.customers and values.is_customer) or (
                self.suppliers and values.is_supplier
            )
        return self.others


# --- deciding and applying -----------------------------------------------------------------
class Outcome:
    CREATED = "created"
    UPDATED_LINKED = "updated_linked"
    UPDATED_BY_EMAIL = "updated_by_email"
    UPDATED_BY_PHONE = "updated_by_phone"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    QUARANTINED = "quarantined"
    POSSIBLE_DUPLICATE = "possible_duplicates"


@dataclass(frozen=True)
class Duplicate:
    """A Xero contact whose email or phone is a CRM contact's that already has its twin."""

    values: XeroValues
    contact: Contact
    matched_by: str  # "email" or "phone"


@dataclass
class PageResult:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    newest_update: datetime | None = None
    held: list[Held] = field(default_factory=list)
    possible_duplicates: list[Duplicate] = field(default_factory=list)

    def note_update(self, raw) -> None:
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


def _possible_duplicates(unmatched: list[XeroValues], by_email, by_phone) -> list[Duplicate]:
    found = []
    for values in unmatched:
        holder = by_email.get(values.email.lower()) if values.email else None
        matched_by = "email"
        if holder is None and values.phone_e164:
            holder, matched_by = by_phone.get(values.phone_e164), "phone"
        if holder is not None:
            found.append(Duplicate(values, holder, matched_by))
    return found


def _changes(contact: Contact, values: XeroValues) -> dict[str, tuple]:
    """field -> (old, new): Xero's non-empty values that differ; flags only ever added."""
    changes = {}
    for name in TEXT_FIELDS:
        new = getattr(values, name)
        old = getattr(contact, name)
        if name == "company_name" and values.is_company and same_name(new, contact.full_name):
            continue  # Xero knows this person by their name alone: it is not a company
        if name == "email":
            if new and new.lower() != old.lower():
                changes[name] = (old, new)
        elif name == "phone":
            if values.phone_e164 and values.phone_e164 != contact.phone_e164:
                changes[name] = (old, new)
        elif new and new != old:
            changes[name] = (old, new)
    if values.archived != contact.is_archived:
        changes["is_archived"] = (contact.is_archived, values.archived)
    if values.is_customer and not contact.is_customer:
        changes["is_customer"] = (False, True)
    if values.is_supplier and not contact.is_supplier:
        changes["is_supplier"] = (False, True)
    return changes


def _apply(contact: Contact, changes: dict[str, tuple], values: XeroValues) -> None:
    for name, (_, new) in changes.items():
        setattr(contact, name, new)
    if "phone" in changes:
        contact.phone_e164 = values.phone_e164


# A ContactChange to write, as (contact id, field, old value, new value); source is Xero.
AuditRow = tuple[int, str, str, str]


def _audit(contact: Contact, changes: dict[str, tuple]) -> list[AuditRow]:
    return [(contact.pk, name, str(old), str(new)) for name, (old, new) in changes.items()]


def _first_by_key(contacts: Iterable[Contact], key) -> dict[str, Contact]:
    """key -> the oldest contact with it; ties are logged (they need a human eye)."""
    found: dict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        found[key(contact)].append(contact)
    chosen = {}
    for value, group in found.items():
        group.sort(key=lambda c: c.pk)
        if len(group) > 1:
            log.info(
                "xero contact match tie",
                extra={"key": value, "chosen": group[0].pk, "others": [c.pk for c in group[1:]]},
            )
        chosen[value] = group[0]
    return chosen


# --- reading the CRM side ---------------------------------------------------------------------
# On PostgreSQL the page's keys drive the lookups (unnest joined to the index): an IN list of
# a thousand keys is planned as a scan of the whole table once it has grown, and an import
# grows it faster than statistics follow, so each page would cost more than the one before.
_LINKS_SQL = (
    f"SELECT x.* FROM unnest(%s::text[]) AS k(key) JOIN {XeroContact._meta.db_table} AS x "  # noqa: S608
    "ON x.connection_id = %s AND x.xero_contact_id = k.key"
)
_CANDIDATES_SQL = (
    f"SELECT c.*, EXISTS (SELECT 1 FROM {XeroContact._meta.db_table} AS x "  # noqa: S608
    "WHERE x.contact_id = c.id) AS linked "
    f"FROM unnest(%s::text[]) AS k(key) JOIN {Contact._meta.db_table} AS c "
    "ON c.account_id = %s AND {column} = k.key"
)


def _links_of(connection: XeroConnection, ids: set[str]) -> dict[str, XeroContact]:
    """Xero id -> our link to it, with its contact."""
    if db_connection.vendor != "postgresql":
        return {
            link.xero_contact_id: link
            for link in XeroContact.objects.filter(
                connection=connection, xero_contact_id__in=ids
            ).select_related("contact")
        }
    found = list(XeroContact.objects.raw(_LINKS_SQL, [list(ids), connection.pk]))
    if found:
        contacts = Contact.objects.in_bulk([link.contact_id for link in found])
        for link in found:
            link.contact = contacts[link.contact_id]
    return {link.xero_contact_id: link for link in found}


def _candidates(account, key: str, values: set[str]) -> list[Contact]:
    """The account's contacts whose email (lower-cased) or phone_e164 is one of values, each
    with `linked`: whether it already has a Xero link."""
    if not values:
        return []
    if db_connection.vendor == "postgresql":
        column = "lower(c.email)" if key == "email" else "c.phone_e164"
        sql = _CANDIDATES_SQL.format(column=column)
        return list(Contact.objects.raw(sql, [list(values), account.pk]))
    found = Contact.objects.filter(account=account).annotate(
        linked=Exists(XeroContact.objects.filter(contact=OuterRef("pk")))
    )
    if key == "email":
        return list(found.annotate(email_key=Lower("email")).filter(email_key__in=values))
    return list(found.filter(phone_e164__in=values))


def _email_key(contact: Contact) -> str:
    return contact.email.lower()


def _phone_key(contact: Contact) -> str:
    return contact.phone_e164


def page_apply(
    connection: XeroConnection,
    raw_contacts: list,
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
        _possible_duplicates_hold(connection, result.possible_duplicates)
    return result


def _kept_as_one(connection: XeroConnection, duplicates: list[Duplicate]) -> set[str]:
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


def _possible_duplicates_hold(connection: XeroConnection, duplicates: list[Duplicate]) -> None:
    """Keep each possible duplicate once, with Xero's latest word on it."""
    for duplicate in duplicates:
        values = duplicate.values
        PossibleDuplicate.objects.update_or_create(
            connection=connection,
            xero_contact_id=values.contact_id,
            resolved_at=None,
            defaults={
                "contact": duplicate.contact,
                "xero_name": values.company_name
                or normalise.text(f"{values.first_name} {values.last_name}", 255)
                or values.email,
                "matched_by": duplicate.matched_by,
                "payload": values.payload,
            },
        )


def _held(raw, reason: str) -> Held:
    fields = raw if isinstance(raw, dict) else {}
    return Held(
        kind=QuarantineKind.CONTACT,
        raw=raw,
        reason=reason,
        xero_id=normalise.text(fields.get("ContactID")),
        label=normalise.text(fields.get("Name")) or normalise.text(fields.get("EmailAddress")),
    )


def _apply_isolated(connection, values: list[XeroValues], contact_filter, dry_run, result):
    """Apply the records in one transaction; when the database refuses it, apply each half
    on its own, down to the one record it refuses, which is quarantined. A page with one bad
    record costs about log2(page size) more attempts, not a lost page."""
    if not values:
        return
    try:
        counts, duplicates = _page_apply_retrying(
            connection, values, contact_filter, dry_run=dry_run
        )
    except (*OUTAGES, XeroError):
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
    for name, count in counts.items():
        result.counts[name] += count
    result.possible_duplicates += duplicates


def _page_apply_retrying(connection, values, contact_filter, *, dry_run):
    """One transaction for the records, retried once if a concurrent sync linked the same
    contacts first."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _page_apply(connection, values, contact_filter, dry_run=dry_run)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("xero contact page raced another sync; re-reading")
    raise AssertionError("unreachable")


def _page_apply(connection, all_values: list[XeroValues], contact_filter, *, dry_run):
    account = connection.account
    counts: dict[str, int] = defaultdict(int)
    # Merged-away records first, so a survivor later in the page finds the moved link.
    all_values = sorted(all_values, key=lambda v: not v.merged_to)

    ids = {v.contact_id for v in all_values} | {v.merged_to for v in all_values if v.merged_to}
    links = _links_of(connection, ids)
    wanted = [v for v in all_values if v.contact_id not in links and not v.merged_to]
    with_email = _candidates(account, "email", {v.email.lower() for v in wanted if v.email})
    with_phone = _candidates(account, "phone_e164", {v.phone_e164 for v in wanted if v.phone_e164})
    by_email = _first_by_key([c for c in with_email if not c.linked], key=_email_key)
    by_phone = _first_by_key([c for c in with_phone if not c.linked], key=_phone_key)

    now = timezone.now()
    # Decide the matches first: an email match beats a phone match even when the phone
    # match comes earlier in the page; each CRM contact is matched at most once.
    admitted = [v for v in wanted if not v.archived and contact_filter.admits(v)]
    matches: dict[str, tuple[Contact, str]] = {}
    claimed: set[int] = set()
    for index, attr, outcome in (
        (by_email, "email", Outcome.UPDATED_BY_EMAIL),
        (by_phone, "phone_e164", Outcome.UPDATED_BY_PHONE),
    ):
        for values in admitted:
            key = getattr(values, attr)
            key = key.lower() if attr == "email" else key
            candidate = index.get(key) if key else None
            if values.contact_id in matches or candidate is None or candidate.pk in claimed:
                continue
            matches[values.contact_id] = (candidate, outcome)
            claimed.add(candidate.pk)
    # A Xero contact whose email or phone belongs to a CRM contact already linked to (or
    # matched in this page by) another Xero contact may be the same person twice: held for
    # a person to decide, never created silently.
    duplicates = _possible_duplicates(
        [v for v in admitted if v.contact_id not in matches],
        _first_by_key(with_email, key=_email_key),
        _first_by_key(with_phone, key=_phone_key),
    )
    kept_one = _kept_as_one(connection, duplicates)
    duplicates = [d for d in duplicates if d.values.contact_id not in kept_one]

    new_contacts: list[XeroValues] = []
    updated: dict[int, Contact] = {}
    audit: list[AuditRow] = []
    new_links: list[tuple[int, XeroValues]] = []  # (CRM contact id, Xero's contact)
    touched_links: list[XeroContact] = []
    duplicate_ids = {d.values.contact_id for d in duplicates}

    for values in all_values:
        link = links.get(values.contact_id)
        if values.merged_to:
            outcome = _follow_merge(values, link, links, touched_links, updated, audit, now)
            counts[outcome] += 1
            continue
        if link is not None:
            if link.xero_updated_at and link.xero_updated_at == values.updated_at:
                counts[Outcome.UNCHANGED] += 1
                continue
            contact = updated.get(link.contact_id, link.contact)
            changes = _changes(contact, values)
            _apply(contact, changes, values)
            audit += _audit(contact, changes)
            if changes:
                updated[contact.pk] = contact
            link.payload, link.xero_updated_at, link.synced_at = (
                values.payload,
                values.updated_at,
                now,
            )
            touched_links.append(link)
            counts[Outcome.UPDATED_LINKED if changes else Outcome.UNCHANGED] += 1
            continue
        if values.archived or not contact_filter.admits(values) or values.contact_id in kept_one:
            counts[Outcome.SKIPPED] += 1
            continue
        if values.contact_id in duplicate_ids:
            counts[Outcome.POSSIBLE_DUPLICATE] += 1
            continue
        match, outcome = matches.get(values.contact_id, (None, Outcome.CREATED))
        counts[outcome] += 1
        if match is None:
            new_contacts.append(values)
            continue
        changes = _changes(match, values)
        _apply(match, changes, values)
        audit += _audit(match, changes)
        updated[match.pk] = match
        new_links.append((match.pk, values))

    if dry_run:
        transaction.set_rollback(True)
        return counts, duplicates

    write = _write_postgresql if db_connection.vendor == "postgresql" else _write_orm
    write(connection, new_contacts, updated, audit, new_links, touched_links, now)
    return counts, duplicates


UPDATED_FIELDS = (*TEXT_FIELDS, "phone_e164", "is_archived", "is_customer", "is_supplier")
CONTACT_COLUMNS = (*UPDATED_FIELDS, "account_id", "created_at", "updated_at")
LINK_COLUMNS = (
    "connection_id",
    "contact_id",
    "xero_contact_id",
    "xero_updated_at",
    "payload",
    "synced_at",
)
CHANGE_COLUMNS = ("contact_id", "field", "old_value", "new_value", "source", "changed_at")


# The matched contacts' UPDATED_FIELDS in one statement (bulk_update's CASE WHEN per row and
# field costs more than the rest of the page), and updated_at as .update(updated_at=now) sets it.
_UPDATE_TYPES = ("bigint", *("boolean" if f.startswith("is_") else "text" for f in UPDATED_FIELDS))
_UPDATE_SQL = (
    f"UPDATE {Contact._meta.db_table} AS c "  # noqa: S608 (names of our own, no input)
    f"SET {', '.join(f'{name} = v.{name}' for name in UPDATED_FIELDS)}, updated_at = %s "
    f"FROM unnest({', '.join(f'%s::{t}[]' for t in _UPDATE_TYPES)}) "
    f"AS v(id, {', '.join(UPDATED_FIELDS)}) WHERE c.id = v.id"
)


def _new_contact_row(values: XeroValues) -> tuple:
    """The UPDATED_FIELDS of a contact created from Xero."""
    return (
        values.first_name,
        values.last_name,
        values.company_name,
        values.email,
        values.phone,
        values.phone_e164,
        False,
        values.is_customer,
        values.is_supplier,
    )


def _display_name(values: XeroValues, pk: int) -> str:
    """Contact.display_name of a contact created from these values."""
    full_name = " ".join(part for part in (values.first_name, values.last_name) if part)
    return full_name or values.company_name or values.email or f"Contact #{pk}"


def _write_orm(connection, new_contacts, updated, audit, new_links, touched_links, now) -> None:
    """The page's writes through the ORM (any database)."""
    created = [
        Contact(
            account=connection.account,
            **dict(zip(UPDATED_FIELDS, _new_contact_row(v), strict=True)),
        )
        for v in new_contacts
    ]
    if created:
        Contact.objects.bulk_create(created, batch_size=1000)
    audit = audit + [(contact.pk, "created", "", contact.display_name) for contact in created]
    new_links = new_links + [(c.pk, v) for c, v in zip(created, new_contacts, strict=True)]
    if updated:
        Contact.objects.bulk_update(list(updated.values()), UPDATED_FIELDS, batch_size=1000)
        Contact.objects.filter(pk__in=list(updated)).update(updated_at=now)
    if touched_links:
        XeroContact.objects.bulk_update(
            touched_links,
            ["xero_contact_id", "payload", "xero_updated_at", "synced_at"],
            batch_size=1000,
        )
    if new_links:
        XeroContact.objects.bulk_create(
            [
                XeroContact(
                    connection=connection,
                    contact_id=pk,
                    xero_contact_id=v.contact_id,
                    xero_updated_at=v.updated_at,
                    payload=v.payload,
                    synced_at=now,
                )
                for pk, v in new_links
            ],
            batch_size=1000,
        )
    if audit:
        ContactChange.objects.bulk_create(
            [
                ContactChange(
                    contact_id=pk,
                    field=name,
                    old_value=old,
                    new_value=new,
                    source=ChangeSource.XERO,
                )
                for pk, name, old, new in audit
            ],
            batch_size=2000,
        )


def _write_postgresql(
    connection, new_contacts, updated, audit, new_links, touched_links, now
) -> None:
    """The same writes as _write_orm, without building a model per row: ids for the new
    contacts taken from their sequence in one query, then COPY for every new row and one
    UPDATE ... FROM unnest(...) for the matched contacts. created_at, updated_at and changed_at
    are this process's clock at write time, as auto_now(_add) sets them (one reading per page
    instead of one per row)."""
    stamp = timezone.now()
    with db_connection.cursor() as cursor:
        created: list[tuple[int, XeroValues]] = []
        if new_contacts:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Contact._meta.db_table, len(new_contacts)],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
            created = list(zip(ids, new_contacts, strict=True))
            _copy(
                cursor,
                Contact,
                ("id", *CONTACT_COLUMNS),
                (
                    (pk, *_new_contact_row(v), connection.account_id, stamp, stamp)
                    for pk, v in created
                ),
            )
        if updated:
            rows = list(updated.values())
            cursor.execute(
                _UPDATE_SQL,
                [
                    now,
                    [c.pk for c in rows],
                    *([getattr(c, name) for c in rows] for name in UPDATED_FIELDS),
                ],
            )
        if touched_links:
            XeroContact.objects.bulk_update(
                touched_links,
                ["xero_contact_id", "payload", "xero_updated_at", "synced_at"],
                batch_size=1000,
            )
        links = new_links + created
        if links:
            _copy(
                cursor,
                XeroContact,
                LINK_COLUMNS,
                (
                    (
                        connection.pk,
                        pk,
                        v.contact_id,
                        v.updated_at,
                        json.dumps(v.payload),  # as JSONField writes it (no encoder)
                        now,
                    )
                    for pk, v in links
                ),
            )
        audit = audit + [(pk, "created", "", _display_name(v, pk)) for pk, v in created]
        if audit:
            _copy(
                cursor,
                ContactChange,
                CHANGE_COLUMNS,
                ((*row, ChangeSource.XERO.value, stamp) for row in audit),
            )


def _copy(cursor, model, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """COPY rows into the model's table, database errors raised as Django's."""
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with db_connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _follow_merge(values, link, links, touched_links, updated, audit, now) -> str:
    """Xero merged this contact into values.merged_to."""
    if link is None:
        return Outcome.SKIPPED  # never imported: nothing to follow
    if values.merged_to not in links:
        # Our contact now stands for the survivor; its details arrive with the survivor.
        link.xero_contact_id = values.merged_to
        link.xero_updated_at = None
        link.synced_at = now
        touched_links.append(link)
        links[values.merged_to] = link
        return Outcome.UPDATED_LINKED
    # The survivor is already someone else in the CRM: this one is the duplicate.
    contact = link.contact
    if not contact.is_archived:
        contact.is_archived = True
        updated[contact.pk] = contact
        audit.append((contact.pk, "is_archived", "False", "True"))
        return Outcome.UPDATED_LINKED
    return Outcome.UNCHANGED
