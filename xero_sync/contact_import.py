"""Bringing Xero's contacts in: the initial import (with its preview), the safety poll, and
single contacts named by webhooks. All of them page through Xero at the largest page size and
apply each page with xero_sync.contact_sync.page_apply.

An import or preview run is recoverable: each page commits with its checkpoint, a run holds
its own advisory lock while it works (so a second copy of its task applies nothing), and beat's
sweep re-queues a run under way that has neither moved nor had a live task for a while (its
message lost with a killed worker or an emptied broker); it resumes at its checkpoint."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contacts.models import Contact
from platform_crm.advisory_locks import advisory_lock, advisory_lock_free
from platform_crm.queueing import enqueue_on_commit

from .client import XeroClient
from .connection.activity import connection_record_activity
from .contact_sync import ContactFilter, Outcome, PageResult, page_apply
from .models import ConnectionStatus, ContactImport, ImportStatus, XeroConnection, XeroContact

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Xero's largest
UNDER_WAY = [ImportStatus.PREVIEWING, ImportStatus.QUEUED, ImportStatus.RUNNING]
# The poll re-reads a little before its high-water mark: clocks and commits are not instant.
POLL_OVERLAP = timedelta(minutes=2)
GROUP_MEMBERS_CACHE_SECONDS = 300


def contact_filter(client: XeroClient, source) -> ContactFilter:
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


def import_start(
    *,
    connection: XeroConnection,
    preview: bool,
    user,
    group_ids: list[str] = (),
    customers: bool = True,
    suppliers: bool = True,
    others: bool = True,
    group_names: list[str] = (),
    automatically: bool = False,
) -> ContactImport:
    """A run with this filter (all contacts unless narrowed), queued after commit."""
    from .tasks import contact_import_task

    run = ContactImport.objects.create(
        connection=connection,
        is_preview=preview,
        status=ImportStatus.PREVIEWING if preview else ImportStatus.QUEUED,
        contact_group_ids=list(group_ids),
        contact_group_names=list(group_names),
        import_customers=customers,
        import_suppliers=suppliers,
        import_others=others,
        started_by=user,
        started_automatically=automatically,
    )
    if not preview:
        # The filter chosen for the import also governs the ongoing sync.
        connection.contact_group_ids = list(group_ids)
        connection.import_customers, connection.import_suppliers = customers, suppliers
        connection.import_others = others
        connection.save(
            update_fields=[
                "contact_group_ids",
                "import_customers",
                "import_suppliers",
                "import_others",
            ]
        )
    enqueue_on_commit(contact_import_task, run.pk)  # lost with the broker: the sweep resends it
    return run


# Outcomes that changed the CRM: a contact brought from Xero is activity
# (xero_sync.connection.activity).
MOVED = (
    Outcome.CREATED,
    Outcome.UPDATED_LINKED,
    Outcome.UPDATED_BY_EMAIL,
    Outcome.UPDATED_BY_PHONE,
)


def _activity_if_moved(connection: XeroConnection, result: PageResult) -> None:
    if any(result.counts.get(outcome) for outcome in MOVED):
        connection_record_activity(connection)


def import_start_as_previewed(*, preview: ContactImport, user) -> ContactImport:
    """Import exactly the filter a preview counted, whatever the form shows by then."""
    return import_start(
        connection=preview.connection,
        preview=False,
        group_ids=preview.contact_group_ids,
        group_names=preview.contact_group_names,
        customers=preview.import_customers,
        suppliers=preview.import_suppliers,
        others=preview.import_others,
        user=user,
    )


# Set-up's last step lets the admin choose which contacts come in. Contacts come in at
# connection either way: this long after the connection is made with no import started (the
# admin left set-up before that step), all of them are imported.
SETUP_CONTACT_STEP_GRACE = timedelta(minutes=15)


def _never_imported():
    return ~Exists(ContactImport.objects.filter(connection=OuterRef("pk"), is_preview=False))


def contacts_import_due_at(connection: XeroConnection):
    """When all contacts will be imported unless someone chooses first; None once an import
    has started (or while the connection is not usable)."""
    if not connection.is_usable or connection.contact_imports.filter(is_preview=False).exists():
        return None
    since = connection.status_changed_at or connection.connected_at or timezone.now()
    return since + SETUP_CONTACT_STEP_GRACE


def imports_start_where_setup_stopped() -> int:
    """Beat: every connection made over SETUP_CONTACT_STEP_GRACE ago with no import started
    gets an import of all its contacts. Returns how many were started; running it twice (or
    alongside the admin's own start) starts nothing twice."""
    cutoff = timezone.now() - SETUP_CONTACT_STEP_GRACE
    due = (
        XeroConnection.objects.filter(status=ConnectionStatus.CONNECTED)
        .filter(Q(status_changed_at__lte=cutoff) | Q(status_changed_at=None))
        .filter(_never_imported())
    )
    started = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            connection = (
                XeroConnection.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=ConnectionStatus.CONNECTED)
                .filter(_never_imported())
                .first()
            )
            if connection is None:
                continue  # someone started one meanwhile, or holds the row right now
            import_start(connection=connection, preview=False, user=None, automatically=True)
            started += 1
    return started


def _add_counts(run: ContactImport, result: PageResult) -> None:
    for name, count in result.counts.items():
        setattr(run, name, getattr(run, name) + count)


def _advance_high_water(connection: XeroConnection, result: PageResult) -> None:
    newest = result.newest_update
    if newest and (
        connection.contacts_synced_until is None or newest > connection.contacts_synced_until
    ):
        connection.contacts_synced_until = newest
        XeroConnection.objects.filter(pk=connection.pk).update(contacts_synced_until=newest)


def _run_lock(run_id: int) -> str:
    return f"xero-contact-import:{run_id}"


def import_run(run_id: int) -> ContactImport:
    """Run (or resume) an import or preview. Each page's writes and the checkpoint commit
    together, so a worker killed mid-way resumes at the first page not yet applied. Only one
    copy runs at a time: another (a redelivered or re-queued message) returns at once."""
    with advisory_lock(_run_lock(run_id)) as mine:
        if not mine:
            log.info("contact import already running elsewhere", extra={"import_id": run_id})
            return ContactImport.objects.get(pk=run_id)
        return _import_run(run_id)


def _import_run(run_id: int) -> ContactImport:
    run = ContactImport.objects.select_related("connection__account").get(pk=run_id)
    if run.status in (ImportStatus.DONE, ImportStatus.PREVIEWED, ImportStatus.FAILED):
        return run
    connection = run.connection
    if connection.status != ConnectionStatus.CONNECTED:
        run.error = "Waiting for Xero to be reconnected."
        run.save(update_fields=["error"])
        return run
    client = XeroClient(connection)
    the_filter = contact_filter(client, run)
    if not run.is_preview and run.status == ImportStatus.QUEUED:
        run.status = ImportStatus.RUNNING
        run.error = ""
        run.save(update_fields=["status", "error"])
    while True:
        contacts, pagination = client.contacts_page(run.next_page, page_size=PAGE_SIZE)
        with transaction.atomic():
            result = page_apply(
                connection, contacts, the_filter, dry_run=run.is_preview, source="import"
            )
            _add_counts(run, result)
            run.next_page += 1
            run.page_count = pagination.get("pageCount", run.page_count)
            run.item_count = pagination.get("itemCount", run.item_count)
            # A short page is the last; so is a full one when Xero's pagination says so
            # (100,000 contacts are 100 calls, not 101 with an empty page at the end).
            last_page = len(contacts) < PAGE_SIZE or run.next_page > pagination.get(
                "pageCount", run.next_page
            )
            if last_page:
                run.status = ImportStatus.PREVIEWED if run.is_preview else ImportStatus.DONE
                run.finished_at = timezone.now()
                if not run.is_preview:  # the poll looks for who joins or leaves from here
                    group_members_remember(connection, the_filter.group_member_ids)
            run.progressed_at = timezone.now()
            run.save()
            if not run.is_preview:
                _advance_high_water(connection, result)
                _activity_if_moved(connection, result)
        if last_page:
            return run
        if run.next_page - 1 in _ANALYZE_AFTER_PAGES:
            _analyze_contact_tables()


# An import grows the contact tables faster than autovacuum refreshes their statistics, and
# plans made for a small table (hash joins over it) cost more with every page; so the import
# refreshes them itself as the tables double (PostgreSQL; a role that does not own the tables
# gets a warning and no change).
_ANALYZE_AFTER_PAGES = frozenset(2**k for k in range(1, 12))


def _analyze_contact_tables() -> None:
    from django.db import connection as db_connection

    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE {Contact._meta.db_table}, {XeroContact._meta.db_table}"  # noqa: S608
        )


def import_resume_waiting(connection: XeroConnection) -> None:
    """After a reconnect: queued or interrupted imports go on."""
    for run in connection.contact_imports.filter(status__in=UNDER_WAY):
        _import_queue(run.pk)


def _import_queue(run_id: int, *, in_seconds: float = 0) -> None:
    from .tasks import contact_import_task

    ContactImport.objects.filter(pk=run_id).update(
        next_attempt_at=timezone.now() + timedelta(seconds=in_seconds)
    )
    enqueue_on_commit(contact_import_task, run_id)


def import_wait(run_id: int, seconds: float) -> None:
    """The run's task retries in `seconds` (Xero asked us to wait): the sweep leaves it be
    until then."""
    ContactImport.objects.filter(pk=run_id).update(
        next_attempt_at=timezone.now() + timedelta(seconds=seconds)
    )


def imports_stalled() -> list[int]:
    """Runs under way with no live task: neither moved nor due to start for a while
    (settings.XERO_STALLED_AFTER), and nobody holds the run's lock. Runs waiting for a
    reconnect are left to it."""
    cutoff = timezone.now() - timedelta(seconds=settings.XERO_STALLED_AFTER)
    candidates = ContactImport.objects.filter(
        Q(status__in=UNDER_WAY)
        & Q(next_attempt_at__lt=cutoff)
        & Q(progressed_at__lt=cutoff)
        & Q(connection__status=ConnectionStatus.CONNECTED)
    ).values_list("pk", flat=True)
    return [pk for pk in candidates if advisory_lock_free(_run_lock(pk))]


def imports_sweep() -> int:
    """Beat: re-queue every stalled run; it resumes at its checkpoint. Returns how many."""
    stalled = imports_stalled()
    for run_id in stalled:
        log.warning("contact import stalled; queued again", extra={"import_id": run_id})
        _import_queue(run_id)
    return len(stalled)


def contacts_poll(connection: XeroConnection) -> PageResult:
    """The safety net under webhooks: everything Xero changed since the high-water mark, and,
    with groups chosen, who joined or left them (Xero sends no webhook for that, and a
    contact's joining a group does not change it)."""
    total = PageResult()
    if connection.contacts_synced_until is None or not connection.is_usable:
        return total  # nothing imported yet: the initial import comes first
    client = XeroClient(connection)
    the_filter = contact_filter(client, connection)
    since = connection.contacts_synced_until - POLL_OVERLAP
    page = 1
    while True:
        contacts, _ = client.contacts_page(page, page_size=PAGE_SIZE, modified_since=since)
        result = page_apply(connection, contacts, the_filter, source="contacts poll")
        _advance_high_water(connection, result)
        _activity_if_moved(connection, result)
        total.add(result)
        if len(contacts) < PAGE_SIZE:
            break
        page += 1
    if the_filter.group_member_ids is not None:
        total.add(group_members_sync(client, connection, the_filter))
    return total


# Contacts fetched by id per call when members join a chosen group.
MEMBERS_PER_CALL = 100


def group_members_sync(client: XeroClient, connection: XeroConnection, the_filter) -> PageResult:
    """Members who joined the chosen groups since the last look are brought in (by id, a
    hundred a call); those who left stay in the CRM, marked as outside the filter."""
    total = PageResult()
    members = set(the_filter.group_member_ids)
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


def group_members_remember(connection: XeroConnection, members) -> None:
    connection.contact_group_members = sorted(members or ())
    XeroConnection.objects.filter(pk=connection.pk).update(
        contact_group_members=connection.contact_group_members
    )


def contact_sync_one(
    connection: XeroConnection, xero_contact_id: str, *, found=None, source: str = "webhook"
) -> PageResult:
    """A CONTACT webhook (or a Retry): fetch that contact, unless `found` already holds it,
    and apply it like any page."""
    client = XeroClient(connection)
    raw = found if found is not None else client.contact(xero_contact_id)
    if raw is None:
        return PageResult()
    key = f"xero:contact-filter:{connection.pk}:{connection.contact_group_ids}"
    the_filter = cache.get(key)
    if the_filter is None:
        the_filter = contact_filter(client, connection)
        cache.set(key, the_filter, GROUP_MEMBERS_CACHE_SECONDS)
    result = page_apply(connection, [raw], the_filter, source=source)
    _activity_if_moved(connection, result)
    return result


def import_failed(run_id: int, reason: str) -> None:
    ContactImport.objects.filter(pk=run_id).update(
        status=ImportStatus.FAILED, error=reason, finished_at=timezone.now()
    )
