"""Keeping contacts in step after the import: the safety poll under webhooks (with who joined or
left the chosen groups), and single contacts named by a webhook or a Retry. Every page is
applied with apply.page_apply."""

from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from ..client import XeroClient
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..models import XeroConnection
from .apply import PageResult, page_apply
from .mapping import ContactFilter
from .matching import Outcome
from .models import ContactImport, XeroContact

PAGE_SIZE = 1000  # Xero's largest
# The poll re-reads a little before its high-water mark: clocks and commits are not instant.
POLL_OVERLAP = timedelta(minutes=2)
GROUP_MEMBERS_CACHE_SECONDS = 300


def contact_filter(client: XeroClient, source: ContactImport | XeroConnection) -> ContactFilter:
    """The filter of an import or a connection; group members are read from Xero."""
    members = None
    if source.contact_group_ids:
        members = set()
        for group_id in source.contact_group_ids:
            members |= client.contact_group_member_ids(group_id)
    return ContactFilter(
        group_member_ids=frozenset(members) if members is not None else None,
        customers=source.import_customers,
        suppliers=source.import_suppliers,
        others=source.import_others,
    )


# Outcomes that changed the CRM: a contact brought from Xero is activity
# (xero_sync.connection.activity).
MOVED = (
    Outcome.CREATED,
    Outcome.UPDATED_LINKED,
    Outcome.UPDATED_BY_EMAIL,
    Outcome.UPDATED_BY_PHONE,
)


def activity_if_moved(connection: XeroConnection, result: PageResult) -> None:
    if any(result.counts.get(outcome) for outcome in MOVED):
        connection_record_activity(connection)


def high_water_advance(connection: XeroConnection, result: PageResult) -> None:
    newest = result.newest_update
    if newest and (
        connection.contacts_synced_until is None or newest > connection.contacts_synced_until
    ):
        connection.contacts_synced_until = newest
        XeroConnection.objects.filter(pk=connection.pk).update(contacts_synced_until=newest)


def contacts_poll(connection: XeroConnection) -> PageResult:
    """The safety net under webhooks: everything Xero changed since the high-water mark, and,
    with groups chosen, who joined or left them (Xero sends no webhook for that, and a
    contact's joining a group does not change it)."""
    total = PageResult()
    if connection.contacts_synced_until is None or not connection.is_usable:
        return total  # nothing imported yet: the initial import comes first
    client = xero_client_for(connection)
    the_filter = contact_filter(client, connection)
    since = connection.contacts_synced_until - POLL_OVERLAP
    page = 1
    while True:
        contacts, _ = client.contacts_page(page, page_size=PAGE_SIZE, modified_since=since)
        result = page_apply(connection, contacts, the_filter, source="contacts poll")
        high_water_advance(connection, result)
        activity_if_moved(connection, result)
        total.add(result)
        if len(contacts) < PAGE_SIZE:
            break
        page += 1
    if the_filter.group_member_ids is not None:
        total.add(group_members_sync(client, connection, the_filter))
    return total


# Contacts fetched by id per call when members join a chosen group.
MEMBERS_PER_CALL = 100


def group_members_sync(
    client: XeroClient, connection: XeroConnection, the_filter: ContactFilter
) -> PageResult:
    """Members who joined the chosen groups since the last look are brought in (by id, a
    hundred a call); those who left stay in the CRM, marked as outside the filter."""
    total = PageResult()
    members = set(the_filter.group_member_ids or ())
    before = set(connection.contact_group_members)
    links = XeroContact.objects.filter(connection=connection)
    linked = links.filter(xero_contact_id__in=members).values_list("xero_contact_id", flat=True)
    joined = sorted(members - before - set(linked))
    for start in range(0, len(joined), MEMBERS_PER_CALL):
        contacts = client.contacts_by_ids(joined[start : start + MEMBERS_PER_CALL])
        total.add(page_apply(connection, contacts, the_filter, source="contacts poll"))
    now = timezone.now()
    links.filter(xero_contact_id__in=before - members, outside_filter_since=None).update(
        outside_filter_since=now
    )
    links.filter(xero_contact_id__in=members).exclude(outside_filter_since=None).update(
        outside_filter_since=None
    )
    group_members_remember(connection, members)
    return total


def group_members_remember(connection: XeroConnection, members: Iterable[str] | None) -> None:
    connection.contact_group_members = sorted(members or ())
    XeroConnection.objects.filter(pk=connection.pk).update(
        contact_group_members=connection.contact_group_members
    )


def contact_sync_one(
    connection: XeroConnection,
    xero_contact_id: str,
    *,
    found: object = None,
    source: str = "webhook",
) -> PageResult:
    """A CONTACT webhook (or a Retry): fetch that contact, unless `found` already holds it,
    and apply it like any page."""
    client = xero_client_for(connection)
    raw = found if found is not None else client.contact(xero_contact_id)
    if raw is None:
        return PageResult()
    key = f"xero:contact-filter:{connection.pk}:{connection.contact_group_ids}"
    the_filter = cache.get(key)
    if the_filter is None:
        the_filter = contact_filter(client, connection)
        cache.set(key, the_filter, GROUP_MEMBERS_CACHE_SECONDS)
    result = page_apply(connection, [raw], the_filter, source=source)
    activity_if_moved(connection, result)
    return result
