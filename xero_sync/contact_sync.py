"""Contacts from Xero into the CRM: mapping, matching and applying, a page at a time.

Rules (issue 6):
- Names: FirstName/LastName; when both are empty, Name is split (first word -> first name, the
  rest -> last name) and kept as the company name. A person's Name that says more than
  "First Last" (a business name) is kept as the company name too.
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
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import ChangeSource, Contact, ContactChange
from contacts.phones import phone_to_e164

from .models import XeroConnection, XeroContact

log = logging.getLogger(__name__)

TEXT_FIELDS = ("first_name", "last_name", "company_name", "email", "phone")
PHONE_TYPES = ("DEFAULT", "MOBILE", "DDI")  # in order of preference; FAX never


# --- reading Xero's shape ------------------------------------------------------------------
def parse_ms_date(value: str | None) -> datetime | None:
    """Xero's "/Date(1573755038314+0000)/" (or an ISO string) as an aware datetime."""
    if not value:
        return None
    if value.startswith("/Date("):
        millis = value[6:-2].split("+")[0].split("-")[0]
        return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _phone_text(phone: dict) -> str:
    parts = [
        (phone.get("PhoneCountryCode") or "").strip(),
        (phone.get("PhoneAreaCode") or "").strip(),
        (phone.get("PhoneNumber") or "").strip(),
    ]
    if not parts[2]:
        return ""
    country, area, number = parts
    if country:
        return f"+{country.lstrip('+')} {area} {number}".replace("  ", " ")
    return f"{area} {number}".strip()


def _best_phone(phones: list[dict], region: str) -> tuple[str, str]:
    """(as Xero shows it, E.164) for the first usable phone; empty ones are ignored."""
    by_type = {p.get("PhoneType"): p for p in phones or []}
    for phone_type in PHONE_TYPES:
        text = _phone_text(by_type.get(phone_type) or {})
        if not text:
            continue
        e164 = phone_to_e164(text, default_region=region)
        if e164 is None and (by_type[phone_type].get("PhoneAreaCode") or "")[:1] not in ("0", ""):
            # An area code written without its trunk 0 and no country code: "21" "555 0102".
            e164 = phone_to_e164("0" + text, default_region=region)
        if e164:
            return text, e164
    return "", ""


@dataclass(frozen=True)
class XeroValues:
    """What Xero says about a contact, in CRM terms."""

    contact_id: str
    archived: bool
    merged_to: str
    updated_at: datetime | None
    first_name: str
    last_name: str
    names_from_name: bool  # Xero had no FirstName/LastName: they were split from Name
    company_name: str
    email: str
    phone: str
    phone_e164: str
    is_customer: bool
    is_supplier: bool
    payload: dict = field(repr=False, compare=False)


def xero_values(raw: dict, *, region: str) -> XeroValues:
    name = (raw.get("Name") or "").strip()
    first = (raw.get("FirstName") or "").strip()
    last = (raw.get("LastName") or "").strip()
    if first or last:
        person = f"{first} {last}".strip()
        company = name if name and name.lower() != person.lower() else ""
    else:
        first, _, last = name.partition(" ")
        company = name
    phone, e164 = _best_phone(raw.get("Phones") or [], region)
    return XeroValues(
        contact_id=raw["ContactID"],
        archived=(raw.get("ContactStatus") or "ACTIVE") != "ACTIVE",
        merged_to=raw.get("MergedToContactID") or "",
        updated_at=parse_ms_date(raw.get("UpdatedDateUTC")),
        first_name=first,
        last_name=last.strip(),
        names_from_name=not (raw.get("FirstName") or "").strip()
        and not (raw.get("LastName") or "").strip(),
        company_name=company,
        email=(raw.get("EmailAddress") or "").strip(),
        phone=phone,
        phone_e164=e164,
        is_customer=bool(raw.get("IsCustomer")),
        is_supplier=bool(raw.get("IsSupplier")),
        payload=raw,
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


@dataclass
class PageResult:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    newest_update: datetime | None = None


def _changes(contact: Contact, values: XeroValues) -> dict[str, tuple]:
    """field -> (old, new): Xero's non-empty values that differ; flags only ever added."""
    changes = {}
    keep_names = values.names_from_name and (contact.first_name or contact.last_name)
    for name in TEXT_FIELDS:
        new = getattr(values, name)
        old = getattr(contact, name)
        if keep_names and name in ("first_name", "last_name"):
            continue  # a name split from a business name never replaces a person's name
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
_UNLINKED_SQL = (
    f"SELECT c.* FROM unnest(%s::text[]) AS k(key) JOIN {Contact._meta.db_table} AS c "  # noqa: S608
    "ON c.account_id = %s AND {column} = k.key WHERE NOT EXISTS "
    f"(SELECT 1 FROM {XeroContact._meta.db_table} AS x WHERE x.contact_id = c.id)"
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


def _unlinked(account, key: str, values: set[str]) -> Iterable[Contact]:
    """The account's contacts without a Xero link whose email (lower-cased) or phone_e164
    is one of values."""
    if not values:
        return []
    if db_connection.vendor == "postgresql":
        column = "lower(c.email)" if key == "email" else "c.phone_e164"
        return Contact.objects.raw(_UNLINKED_SQL.format(column=column), [list(values), account.pk])
    unlinked = Contact.objects.filter(account=account, xero_link__isnull=True)
    if key == "email":
        return unlinked.annotate(email_key=Lower("email")).filter(email_key__in=values)
    return unlinked.filter(phone_e164__in=values)


def page_apply(
    connection: XeroConnection,
    raw_contacts: list[dict],
    contact_filter: ContactFilter,
    *,
    dry_run: bool = False,
) -> PageResult:
    """Match and apply one page of Xero contacts (all in one transaction, retried once if a
    concurrent sync linked the same contacts first). dry_run: count only, write nothing."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _page_apply(connection, raw_contacts, contact_filter, dry_run=dry_run)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("xero contact page raced another sync; re-reading")
    raise AssertionError("unreachable")


def _page_apply(connection, raw_contacts, contact_filter, *, dry_run) -> PageResult:
    account = connection.account
    region = account.country
    result = PageResult()
    all_values = [xero_values(raw, region=region) for raw in raw_contacts]
    # Merged-away records first, so a survivor later in the page finds the moved link.
    all_values.sort(key=lambda v: not v.merged_to)
    for v in all_values:
        if v.updated_at and (result.newest_update is None or v.updated_at > result.newest_update):
            result.newest_update = v.updated_at

    ids = {v.contact_id for v in all_values} | {v.merged_to for v in all_values if v.merged_to}
    links = _links_of(connection, ids)
    wanted = [v for v in all_values if v.contact_id not in links and not v.merged_to]
    emails = {v.email.lower() for v in wanted if v.email}
    phones = {v.phone_e164 for v in wanted if v.phone_e164}
    by_email = _first_by_key(_unlinked(account, "email", emails), key=lambda c: c.email.lower())
    by_phone = _first_by_key(_unlinked(account, "phone_e164", phones), key=lambda c: c.phone_e164)

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

    new_contacts: list[XeroValues] = []
    updated: dict[int, Contact] = {}
    audit: list[AuditRow] = []
    new_links: list[tuple[int, XeroValues]] = []  # (CRM contact id, Xero's contact)
    touched_links: list[XeroContact] = []

    for values in all_values:
        link = links.get(values.contact_id)
        if values.merged_to:
            outcome = _follow_merge(values, link, links, touched_links, updated, audit, now)
            result.counts[outcome] += 1
            continue
        if link is not None:
            if link.xero_updated_at and link.xero_updated_at == values.updated_at:
                result.counts[Outcome.UNCHANGED] += 1
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
            result.counts[Outcome.UPDATED_LINKED if changes else Outcome.UNCHANGED] += 1
            continue
        if values.archived or not contact_filter.admits(values):
            result.counts[Outcome.SKIPPED] += 1
            continue
        match, outcome = matches.get(values.contact_id, (None, Outcome.CREATED))
        result.counts[outcome] += 1
        if match is None:
            new_contacts.append(values)
            continue
        claimed.add(match.pk)
        changes = _changes(match, values)
        _apply(match, changes, values)
        audit += _audit(match, changes)
        updated[match.pk] = match
        new_links.append((match.pk, values))

    if dry_run:
        transaction.set_rollback(True)
        return result

    write = _write_postgresql if db_connection.vendor == "postgresql" else _write_orm
    write(connection, new_contacts, updated, audit, new_links, touched_links, now)
    return result


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
