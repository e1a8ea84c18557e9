"""Which CRM contact a Xero contact is, for a page of them at once.

Matching, in order: the Xero link; an unlinked CRM contact with the same email (compared
case-insensitively); one with the same phone (compared in E.164, the account's country as the
default region). Ties go to the oldest contact, and are logged. A Xero contact whose email or
phone is a CRM contact's that already has its twin is a possible duplicate, for an admin to
decide: never created silently.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from contacts.models import Contact

from ..models import XeroConnection
from .mapping import XeroValues
from .models import XeroContact

log = logging.getLogger(__name__)


class Outcome:
    """What became of one Xero contact; each is a count on an import run."""

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


# The page's keys drive the lookups (unnest joined to the index): an IN list of a thousand
# keys is planned as a scan of the whole table once it has grown, and an import grows it
# faster than statistics follow, so each page would cost more than the one before.
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
    found = list(XeroContact.objects.raw(_LINKS_SQL, [list(ids), connection.pk]))
    if found:
        contacts = Contact.objects.in_bulk([link.contact_id for link in found])
        for link in found:
            link.contact = contacts[link.contact_id]
    return {link.xero_contact_id: link for link in found}


def _candidates(connection: XeroConnection, column: str, keys: set[str]) -> list[Contact]:
    """The account's contacts whose `column` is one of keys, each with `linked`: whether it
    already has a Xero link."""
    if not keys:
        return []
    sql = _CANDIDATES_SQL.format(column=column)
    return list(Contact.objects.raw(sql, [list(keys), connection.account_id]))


def _linked(candidate: Contact) -> bool:
    """Whether a candidate already has its Xero link (_CANDIDATES_SQL's `linked` column)."""
    return bool(vars(candidate).get("linked"))


def _email_key(contact: Contact) -> str:
    return contact.email.lower()


def _phone_key(contact: Contact) -> str:
    return contact.phone_e164


def _first_by_key(contacts: Iterable[Contact], key: Callable[[Contact], str]) -> dict[str, Contact]:
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


@dataclass
class CrmSide:
    """What the CRM holds for a page: the links to its Xero ids, the account's contacts sharing
    an email with the Xero contacts not linked yet, and those sharing a phone with any."""

    links: dict[str, XeroContact]
    with_email: list[Contact]
    with_phone: list[Contact]
    phone_index: dict[str, list[Contact]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for contact in self.with_phone:
            self.phone_index.setdefault(contact.phone_e164, []).append(contact)


def crm_side_read(connection: XeroConnection, page: list[XeroValues]) -> CrmSide:
    ids = {v.contact_id for v in page} | {v.merged_to for v in page if v.merged_to}
    links = _links_of(connection, ids)
    wanted = [v for v in page if v.contact_id not in links and not v.merged_to]
    emails = {v.email.lower() for v in wanted if v.email}
    # Linked ones' phones too: a phone Xero gives a linked contact may be another's (a clash).
    phones = {v.phone_e164 for v in page if v.phone_e164 and not v.merged_to}
    return CrmSide(
        links=links,
        with_email=_candidates(connection, "lower(c.email)", emails),
        with_phone=_candidates(connection, "c.phone_e164", phones),
    )


def matches_decide(admitted: list[XeroValues], crm: CrmSide) -> dict[str, tuple[Contact, str]]:
    """Xero id -> (the unlinked CRM contact it is, the outcome saying how it was found). An
    email match beats a phone match even when the phone match comes earlier in the page; each
    CRM contact is matched at most once."""
    by_email = _first_by_key([c for c in crm.with_email if not _linked(c)], key=_email_key)
    by_phone = _first_by_key([c for c in crm.with_phone if not _linked(c)], key=_phone_key)
    matches: dict[str, tuple[Contact, str]] = {}
    claimed: set[int] = set()
    for index, outcome in (
        (by_email, Outcome.UPDATED_BY_EMAIL),
        (by_phone, Outcome.UPDATED_BY_PHONE),
    ):
        for values in admitted:
            key = values.email.lower() if index is by_email else values.phone_e164
            candidate = index.get(key) if key else None
            if values.contact_id in matches or candidate is None or candidate.pk in claimed:
                continue
            matches[values.contact_id] = (candidate, outcome)
            claimed.add(candidate.pk)
    return matches


@dataclass(frozen=True)
class Clash:
    """A Xero contact that is `contact` while its phone is `holder`'s, another CRM contact."""

    values: XeroValues
    contact: Contact
    holder: Contact


def phone_holder(crm: CrmSide, contact: Contact, e164: str) -> Contact | None:
    """Another active CRM contact holding this phone (the oldest), if any."""
    others = [c for c in crm.phone_index.get(e164, []) if c.pk != contact.pk and not c.is_archived]
    return min(others, key=lambda c: c.pk) if others else None


def possible_duplicates_find(unmatched: list[XeroValues], crm: CrmSide) -> list[Duplicate]:
    """Xero contacts matching no free CRM contact whose email or phone belongs to one already
    linked to (or matched in this page by) another Xero contact: maybe the same person twice."""
    by_email = _first_by_key(crm.with_email, key=_email_key)
    by_phone = _first_by_key(crm.with_phone, key=_phone_key)
    found = []
    for values in unmatched:
        holder = by_email.get(values.email.lower()) if values.email else None
        matched_by = "email"
        if holder is None and values.phone_e164:
            holder, matched_by = by_phone.get(values.phone_e164), "phone"
        if holder is not None:
            found.append(Duplicate(values, holder, matched_by))
    return found
