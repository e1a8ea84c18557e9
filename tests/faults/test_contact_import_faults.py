"""Contact imports finish, exactly once, whatever happens to the worker or the broker under them:
the whole worker SIGKILLed mid-import (its unacknowledged message sits in Redis for the hour-long
visibility timeout), and a preview started while no worker runs, then Redis restarted empty (the
message gone). Real processes throughout: the web app started the runs (gunicorn, driven over HTTP),
a Celery worker, `celery beat` running the product's sweeps, a Redis of the test's own, PostgreSQL
and the Xero sandbox over HTTP."""

import re
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from contacts.models import ChangeSource, Contact, ContactChange
from xero_sync.models import (
    ContactImport,
    ImportStatus,
    PossibleDuplicate,
    QuarantinedRecord,
    QuarantineKind,
    XeroConnection,
    XeroContact,
)

from ..support.processes import STALLED_AFTER, own_redis, start_run, wait_for_run, web_session
from ..xero_sync.conftest import connect
from .crash_processes import KillableWorker, SweepBeat, WebServer

pytestmark = pytest.mark.slow

# Thirty of Xero's full pages (1,000 contacts each).
PAGES = 30


def active_in_xero(xero, tenant_id: str) -> set[str]:
    """The Xero contacts an import brings in: active, not merged away."""
    return {
        c["ContactID"]
        for c in xero.contacts(tenant_id)
        if c["ContactStatus"] == "ACTIVE" and not c.get("MergedToContactID")
    }


def pages_fetched(xero) -> Counter:
    """Each /Contacts page Xero served, by page number."""
    return Counter(
        str(r["query"].get("page"))
        for r in xero.requests(method="GET", path="/api.xro/2.0/Contacts")
        if r["status"] == 200
    )


def sweeps_that_found(worker, task: str) -> int:
    """Runs of a sweep task that re-queued something (it returns how many)."""
    pattern = rf"{task}\[[^]]+\] succeeded in [0-9.]+s: [1-9]"
    return len(re.findall(pattern, worker.log.read_text()))


@dataclass
class ThirtyPages:
    """A 30-page import under way: started from the web, run by a worker, swept by beat."""

    connection: XeroConnection
    expected: set[str]
    worker: KillableWorker
    beat: SweepBeat
    run: ContactImport


@pytest.fixture
def thirty_pages(private_redis, processes, tmp_path, xero, account, admin_user):
    """Import 30,000 Xero contacts; yields once page 4 is applied."""
    tenant = xero.seed([{"name": "Thirty Pages Ltd", "n_contacts": PAGES * 1000, "seed": 12}])
    connection = connect(xero, account, admin_user, org="Thirty Pages Ltd")
    expected = active_in_xero(xero, tenant[0]["tenantId"])
    own = own_redis(private_redis)
    web = WebServer(processes, tmp_path, xero, **own)
    worker = KillableWorker(processes, tmp_path, xero, **own)
    beat = SweepBeat(processes, tmp_path, **own)
    # Xero takes its time over each page, so a fault lands mid-import whatever the machine.
    xero.fault("latency", method="GET", path="/api.xro/2.0/Contacts", seconds=0.3, count=None)
    xero.clear_requests()
    run = start_run(web_session(web, admin_user), account, preview=False)

    def past_page_four() -> bool:
        run.refresh_from_db()
        return run.next_page > 4

    worker.wait_for(past_page_four, 120, interval=0.1)
    return ThirtyPages(connection, expected, worker, beat, run)


def assert_imported_once(xero, account, job: ThirtyPages) -> int:
    """Every contact arrived once (linked to one CRM contact, or held for a person: quarantined
    with its reason, or a possible duplicate), the run is done, and no page was applied twice.
    Returns how many pages were fetched (the one a fault interrupted may be fetched again)."""
    run, expected = job.run, job.expected
    assert run.status == ImportStatus.DONE
    assert run.page_count == PAGES and run.next_page == PAGES + 1
    links = XeroContact.objects.filter(connection=job.connection)
    linked = set(links.values_list("xero_contact_id", flat=True))
    held = set(
        QuarantinedRecord.objects.filter(
            connection=job.connection, kind=QuarantineKind.CONTACT
        ).values_list("xero_id", flat=True)
    )
    doubtful = set(
        PossibleDuplicate.objects.filter(connection=job.connection).values_list(
            "xero_contact_id", flat=True
        )
    )
    assert linked | held | doubtful == expected
    assert not (linked & held or linked & doubtful or held & doubtful)
    assert links.count() == Contact.objects.filter(account=account).count() == len(linked)
    created = ContactChange.objects.filter(
        contact__account=account, field="created", source=ChangeSource.XERO
    )
    assert created.count() == run.created  # no contact was created twice
    fetched = pages_fetched(xero)
    assert set(fetched) == {str(page) for page in range(1, PAGES + 1)}
    assert sum(fetched.values()) <= PAGES + 1, fetched
    print(
        f"\n{len(linked)} linked, {len(held)} quarantined, {len(doubtful)} possible duplicates",
        end="",
    )
    return sum(fetched.values())


@pytest.mark.django_db(transaction=True)
def test_a_30_page_import_finishes_exactly_once_after_the_whole_worker_is_killed(
    thirty_pages, xero, account
):
    run, worker = thirty_pages.run, thirty_pages.worker
    killed_at_page = run.next_page
    worker.kill_whole()  # the new worker never sees the dead one's message (unacked for 1 h)
    killed = time.monotonic()
    worker.wait_for(lambda: run.refresh_from_db() or run.next_page > killed_at_page, 120)
    resumed = time.monotonic()
    wait_for_run(worker, run, ImportStatus.DONE, 240)
    done = time.monotonic()

    fetched = assert_imported_once(xero, account, thirty_pages)
    assert worker.kills["whole"] == 1
    assert sweeps_that_found(worker, "xero_sync.tasks.contact_imports_sweep_task") >= 1
    print(
        f"\n{len(thirty_pages.expected)} contacts in {PAGES} pages; whole worker killed at page "
        f"{killed_at_page}; moving again {resumed - killed:.1f} s after the kill (a new "
        f"worker, then the sweep: stalled after {STALLED_AFTER} s, every 2 s), done "
        f"{done - killed:.1f} s after it; pages fetched {fetched}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_preview_started_with_no_worker_survives_redis_restarting_empty(
    private_redis,
    processes,
    tmp_path,
    xero,
    account,
    admin_user,
):
    tenant = xero.seed([{"name": "Preview Ltd", "n_contacts": 2500, "seed": 5}])
    connect(xero, account, admin_user, org="Preview Ltd")
    expected = active_in_xero(xero, tenant[0]["tenantId"])
    own = own_redis(private_redis)
    web = WebServer(processes, tmp_path, xero, **own)

    # No worker runs: the preview's message waits in Redis, and goes with it.
    run = start_run(web_session(web, admin_user), account, preview=True)
    assert run.status == ImportStatus.PREVIEWING
    private_redis.kill()
    private_redis.start()
    worker = KillableWorker(processes, tmp_path, xero, **own)
    SweepBeat(processes, tmp_path, **own)
    wait_for_run(worker, run, ImportStatus.PREVIEWED, 120)

    assert run.created == len(expected)
    assert run.processed == run.item_count
    assert not XeroContact.objects.exists()  # a preview writes nothing
    assert Contact.objects.filter(account=account).count() == 0
    assert sum(pages_fetched(xero).values()) == 3
    assert sweeps_that_found(worker, "xero_sync.tasks.contact_imports_sweep_task") >= 1


@pytest.mark.django_db(transaction=True)
def test_a_30_page_import_finishes_exactly_once_across_a_redis_restart(
    thirty_pages,
    private_redis,
    xero,
    account,
):
    run, worker, beat = thirty_pages.run, thirty_pages.worker, thirty_pages.beat
    # Redis dies mid-import (the import's next call to Xero finds no rate limiter and stops,
    # its retry cannot be sent) and comes back a few seconds later with nothing on it.
    stopped_at_page = run.next_page
    private_redis.kill()
    stopped = time.monotonic()
    time.sleep(3)
    private_redis.start()
    restarted = time.monotonic()
    # A supervisor's job: a worker that exited with its Redis is started again.
    wait_for_run(worker, run, ImportStatus.DONE, 240, meanwhile=worker.keep_running)
    done = time.monotonic()

    fetched = assert_imported_once(xero, account, thirty_pages)
    assert beat.starts == 1 and beat.process.poll() is None  # beat rode it out
    print(
        f"\n{len(thirty_pages.expected)} contacts in {PAGES} pages; Redis killed at page "
        f"{stopped_at_page}, back empty {restarted - stopped:.1f} s later; done "
        f"{done - restarted:.1f} s after that (worker exits restarted: {worker.exits}); "
        f"pages fetched {fetched}"
    )
