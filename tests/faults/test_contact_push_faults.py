"""A thousand staff edits to linked contacts reach Xero exactly once each whatever breaks
underneath: the whole worker SIGKILLed while a batch is posted (its unacknowledged message
left in Redis, the queue purged at the end so only beat's sweep can bring the rest back), and
a fifth of Xero's contact writes failing (a 5xx, an answer too late after the write, a dropped
connection after the write). Real worker processes, a real `celery beat` running the outbox
sweep, PostgreSQL and the Xero sandbox over HTTP; the edits come from their own process."""

import subprocess
from collections import Counter

import pytest

from contacts.models import ChangeSource, Contact, ContactChange
from xero_sync.contacts import imports, pull
from xero_sync.models import ContactSync, ContactSyncState, PossibleDuplicate, XeroContact

from ..support.processes import task_runs
from ..xero_sync.conftest import connect, start_import
from .conftest import process_env
from .contact_burst import edited_email
from .crash_processes import KillableWorker, SweepBeat

pytestmark = pytest.mark.slow

EDITS = 1000
PER_TRANSACTION = 100
ORG = "Contact Edits Ltd"
SAVES = {"method": "POST", "path": "/api.xro/2.0/Contacts"}
# A fifth of the contact writes fail, seeded so a failing run can be replayed.
WRITE_FAULTS = [
    ("status", {"status": 503, "probability": 0.10}),
    ("timeout", {"seconds": 3.0, "probability": 0.07}),
    ("lost_response", {"probability": 0.07}),
]


class Edits:
    """The contact_burst process: one transaction of edits each time `commit_next` is called."""

    def __init__(self, processes, tmp_path, ids: list[int], *, env):
        ids_file = tmp_path / "contact-ids"
        ids_file.write_text("\n".join(map(str, ids)))
        self.stderr = tmp_path / "edits.err"
        with self.stderr.open("w") as err:
            self.process = processes.start(
                ["-m", "tests.faults.contact_burst", str(ids_file), str(PER_TRANSACTION)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self.transactions = -(-len(ids) // PER_TRANSACTION)
        self._expect("ready")

    def _expect(self, word: str) -> None:
        line = self.process.stdout.readline().strip()
        if not line.startswith(word):
            raise AssertionError(f"edits said {line!r}; stderr:\n{self.stderr.read_text()[-3000:]}")

    def commit_next(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self._expect("committed")

    def finish(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0, self.stderr.read_text()[-3000:]


def outbox(account):
    return ContactSync.objects.filter(contact__account=account)


def all_synced(account) -> bool:
    failed = list(outbox(account).filter(state=ContactSyncState.FAILED)[:5])
    assert not failed, [(f.contact_id, f.error_cause, f.error) for f in failed]
    return outbox(account).filter(state=ContactSyncState.SYNCED).count() == EDITS


def last_request_id(xero) -> int:
    return max((r["id"] for r in xero.requests()), default=0)


def contact_updates(xero, tenant_id: str) -> Counter:
    """CONTACT UPDATE events Xero emitted, by ContactID: one per change it took."""
    return Counter(
        e["resourceId"]
        for e in xero.webhook_events()
        if e["eventCategory"] == "CONTACT"
        and e["eventType"] == "UPDATE"
        and e["tenantId"] == tenant_id
    )


@pytest.mark.django_db(transaction=True)
def test_a_thousand_contact_edits_reach_xero_once_each_while_workers_die_and_writes_fail(
    private_redis, processes, tmp_path, xero, account, admin_user
):
    [org] = xero.seed([{"name": ORG, "n_contacts": EDITS + 200, "seed": 18}])
    tenant_id = org["tenantId"]
    connection = connect(xero, account, admin_user, org=ORG)
    imports.import_run(start_import(connection).pk)
    links = list(
        XeroContact.objects.filter(connection=connection, contact__is_archived=False)
        .order_by("contact_id")
        .values_list("contact_id", "xero_contact_id")[:EDITS]
    )
    assert len(links) == EDITS
    xero_count = len(xero.contacts(tenant_id))
    before = contact_updates(xero, tenant_id)
    held = PossibleDuplicate.objects.filter(connection=connection).count()  # the seed plants some

    url = private_redis.url
    own = {"REDIS_URL": url, "CACHE_URL": url, "CELERY_BROKER_URL": url}
    xero.set_limits(per_minute=600)  # retries cost calls; the run is not paced by the limit
    worker = KillableWorker(
        processes, tmp_path, xero, XERO_READ_TIMEOUT="1.5", XERO_CALLS_PER_MINUTE="600", **own
    )
    SweepBeat(processes, tmp_path, **own)
    seed = 100
    for kind, spec in WRITE_FAULTS:
        seed += 1
        xero.fault(
            kind, method="POST", path="/api.xro/2.0/Contacts*", count=None, seed=seed, **spec
        )
    # A batch's answer comes 0.6 s after its write: a kill while a batch is posted loses the
    # answer to a committed write.
    xero.fault("latency", method="POST", path="/api.xro/2.0/Contacts*", seconds=0.6, count=None)
    edits = Edits(processes, tmp_path, [c for c, _ in links], env=process_env(xero, **own))
    for n in range(edits.transactions):
        since = last_request_id(xero)
        edits.commit_next()
        if n % 3 == 1:  # three kills of the whole worker, each while a batch is posted
            worker.wait_for(lambda since=since: bool(xero.requests(**SAVES, since_id=since)), 60)
            worker.kill_whole()
    edits.finish()
    # The last kill also loses every queued message: only the sweep brings the rest back.
    worker.kill_whole(purge_queues=True)

    worker.wait_for(lambda: all_synced(account), 240, interval=0.5)

    faults = xero.faults()
    fired: Counter[str] = Counter()
    for fault in faults:
        fired[fault["kind"]] += fault["fired"]
    saves = xero.requests(**SAVES)
    replays = sum(e["replays"] for e in xero.idempotency_log())
    drains = task_runs(worker, 0, "xero_sync.tasks.contacts_push_task")
    print(
        f"\nfaults fired: {dict(fired)}; POST /Contacts: {len(saves)}; idempotent replays: "
        f"{replays}; read backs (GET /Contacts by id): "
        f"{len(xero.requests(method='GET', path='/api.xro/2.0/Contacts'))}; kills: "
        f"{worker.kills}; pushes run: {len(drains)} ({Counter(d['state'] for d in drains)})"
    )
    assert all(fired[kind] for kind, _ in WRITE_FAULTS), fired
    assert worker.kills["whole"] == 4

    # Every change is in Xero, and Xero took each exactly once.
    in_xero = {c["ContactID"]: c for c in xero.contacts(tenant_id)}
    updates = contact_updates(xero, tenant_id) - before
    for n, (contact_id, xero_id) in enumerate(links):
        assert in_xero[xero_id]["EmailAddress"] == edited_email(n), contact_id
    assert set(updates) == {x for _, x in links}
    assert [x for x, seen in updates.items() if seen != 1] == []
    # No duplicates: nothing was created in Xero, nothing more is held as a possible duplicate.
    assert len(in_xero) == xero_count
    assert PossibleDuplicate.objects.filter(connection=connection).count() == held
    # No echo: Xero's side of the story, read back, changes nothing here and queues nothing.
    versions = dict(outbox(account).values_list("contact_id", "version"))
    changes = ContactChange.objects.filter(contact__account=account).count()
    connection.refresh_from_db()
    pull.contacts_poll(connection)
    assert ContactChange.objects.filter(contact__account=account).count() == changes
    assert dict(outbox(account).values_list("contact_id", "version")) == versions
    assert not ContactChange.objects.filter(
        contact__account=account, source=ChangeSource.XERO, field="email"
    ).exists()
    assert (
        Contact.objects.filter(account=account, email__endswith="@edited.example").count() == EDITS
    )
    assert worker.sent_mail() == []
