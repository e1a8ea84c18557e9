"""The initial import of Xero's contacts (and its preview): runs, started by an admin or at
connection, paged through Xero at the largest page size, each page applied with
apply.page_apply.

An import or preview run is recoverable: each page commits with its checkpoint, a run holds
its own advisory lock while it works (so a second copy of its task applies nothing), and beat's
sweep re-queues a run under way that has neither moved nor had a live task for a while (its
message lost with a killed worker or an emptied broker); it resumes at its checkpoint."""

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from contacts.models import Contact
from platform_crm.advisory_locks import advisory_lock
from platform_crm.queueing import enqueue_on_commit

from ..connection.calls import xero_client_for
from ..models import ConnectionStatus, XeroConnection
from ..runs import UNDER_WAY, ImportStatus, run_wait, runs_stalled
from .apply import PageResult, page_apply
from .models import ContactImport, XeroContact
from .pull import (
    PAGE_SIZE,
    activity_if_moved,
    contact_filter,
    group_members_remember,
    high_water_advance,
)

log = logging.getLogger(__name__)

IMPORT_TASK = "xero_sync.tasks.contact_import_task"


def import_start(
    *,
    connection: XeroConnection,
    preview: bool,
    user: User | None,
    group_ids: Sequence[str] = (),
    customers: bool = True,
    suppliers: bool = True,
    others: bool = True,
    group_names: Sequence[str] = (),
    automatically: bool = False,
) -> ContactImport:
    """A run with this filter (all contacts unless narrowed), queued after commit."""
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
    enqueue_on_commit(IMPORT_TASK, run.pk)  # lost with the broker: the sweep resends it
    return run


def import_start_as_previewed(*, preview: ContactImport, user: User) -> ContactImport:
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


def _imported() -> Exists:
    return Exists(ContactImport.objects.filter(connection=OuterRef("pk"), is_preview=False))


def contacts_import_due_at(connection: XeroConnection) -> datetime | None:
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
        .filter(~_imported())
    )
    started = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            connection = (
                XeroConnection.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=ConnectionStatus.CONNECTED)
                .filter(~_imported())
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


def _run_lock(run_id: int) -> str:
    return f"xero-contact-import:{run_id}"


def import_run(run_id: int, *, turn_seconds: float | None = None) -> ContactImport:
    """Run (or resume) an import or preview. Each page's writes and the checkpoint commit
    together, so a worker killed mid-way resumes at the first page not yet applied. Only one
    copy runs at a time: another (a redelivered or re-queued message) returns at once. With
    `turn_seconds`, a run not finished by then queues its next turn (once its lock is let go)
    and hands the worker back."""
    turn_ends = None if turn_seconds is None else time.monotonic() + turn_seconds
    with advisory_lock(_run_lock(run_id)) as mine:
        if not mine:
            log.info("contact import already running elsewhere", extra={"import_id": run_id})
            return ContactImport.objects.get(pk=run_id)
        run = _import_run(run_id, turn_ends)
    if run.status in UNDER_WAY and turn_ends is not None and time.monotonic() >= turn_ends:
        _import_queue(run_id, behind=True)  # taken once no other work waits
    return run


def _import_run(run_id: int, turn_ends: float | None = None) -> ContactImport:
    run = ContactImport.objects.select_related("connection__account").get(pk=run_id)
    connection = run.connection
    if not run.begin(connected=connection.status == ConnectionStatus.CONNECTED):
        return run
    client = xero_client_for(connection)
    the_filter = contact_filter(client, run)
    while True:
        contacts, pagination = client.contacts_page(run.next_page, page_size=PAGE_SIZE)
        with transaction.atomic():
            result = page_apply(
                connection, contacts, the_filter, dry_run=run.is_preview, source="import"
            )
            _add_counts(run, result)
            last_page = run.page_done(
                received=len(contacts), page_size=PAGE_SIZE, paging=pagination
            )
            if last_page and not run.is_preview:
                # The poll looks for who joins or leaves from here.
                group_members_remember(connection, the_filter.group_member_ids)
            run.save()
            if not run.is_preview:
                high_water_advance(connection, result)
                activity_if_moved(connection, result)
        if last_page:
            return run
        if run.next_page - 1 in _ANALYZE_AFTER_PAGES:
            _analyze_contact_tables()
        if turn_ends is not None and time.monotonic() >= turn_ends:
            return run  # its turn is over: the next is queued behind others' work


# An import grows the contact tables faster than autovacuum refreshes their statistics, and
# plans made for a small table (hash joins over it) cost more with every page; so the import
# refreshes them itself as the tables double (a role that does not own the tables gets a
# warning and no change).
_ANALYZE_AFTER_PAGES = frozenset(2**k for k in range(1, 12))


def _analyze_contact_tables() -> None:
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE {Contact._meta.db_table}, {XeroContact._meta.db_table}"  # noqa: S608
        )


def import_resume_waiting(connection: XeroConnection) -> None:
    """After a reconnect: queued or interrupted imports go on."""
    for run in connection.contact_imports.filter(status__in=UNDER_WAY):
        _import_queue(run.pk)


def _import_queue(run_id: int, *, in_seconds: float = 0, behind: bool = False) -> None:
    ContactImport.objects.filter(pk=run_id).update(
        next_attempt_at=timezone.now() + timedelta(seconds=in_seconds)
    )
    enqueue_on_commit(IMPORT_TASK, run_id, behind=behind)


def import_wait(run_id: int, seconds: float) -> None:
    run_wait(ContactImport.objects.all(), run_id, seconds)


def imports_stalled() -> list[int]:
    return runs_stalled(ContactImport.objects.all(), _run_lock)


def imports_sweep() -> int:
    """Beat: re-queue every stalled run; it resumes at its checkpoint. Returns how many."""
    stalled = imports_stalled()
    for run_id in stalled:
        log.warning("contact import stalled; queued again", extra={"import_id": run_id})
        _import_queue(run_id)
    return len(stalled)


def import_failed(run_id: int, reason: str) -> None:
    ContactImport.objects.filter(pk=run_id).update(
        status=ImportStatus.FAILED, error=reason, finished_at=timezone.now()
    )
