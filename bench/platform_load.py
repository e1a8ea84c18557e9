"""Bench: the platform under load (issue 19): many sandbox organisations on a few shared Celery
workers, under Xero's real limits, quiet organisations beside a few bursting and importing ones.
(Not bench/platform.py as the issue names it: run as a script, a file of that name in bench/
would shadow the standard library's `platform` for every script here; uuid imports it.)

    .venv/bin/python bench/platform_load.py [--orgs 1000] [--minutes 5] [--burst 2000]
        [--import-contacts 20000] [--workers 4] [--quiet-rate 3] [--quick]

Setup (not measured): its own database (--database or $BENCH_PLATFORM_LOAD_DATABASE, dropped at
the end), its own Redis DB (--redis-url or $BENCH_PLATFORM_LOAD_REDIS_URL, default 6379/10:
broker, cache and our rate limits; flushed before and after), its own sandbox
subprocess under Xero's real limits (5 in flight, 60 a minute, 5,000 a day per organisation;
10,000 a minute app-wide) and `--orgs` organisations, each an account connected to one sandbox
organisation without a browser: `--bursting` (5) that burst, `--importing` (5) that import their
contacts, the rest quiet. Quiet and bursting accounts have GST 15% mapped to OUTPUT2 and CRM
contacts not yet in Xero (each invoice's push creates its contact first); each bursting account
has `--burst` draft invoices made in advance; each importing organisation holds
`--import-contacts` contacts in Xero. Then `--workers` real `celery worker` processes (-c 1
each, every queue, the project's settings and our limiter's defaults); no beat.

Two runs of `--minutes` each over the same workers:
  baseline: the quiet organisations issue invoices at random (Poisson, `--quiet-rate` a second
            across all of them, each invoice its own transaction, the organisation drawn at
            random), nothing else;
  mixed:    the same quiet load (same times and organisations), and at `--heavy-at` of the
            window every bursting organisation issues its `--burst` drafts in one transaction
            (one child process each, all at once) and every importing organisation starts its
            contact import.
Each run then waits until every invoice is synced and every import is done.

Latency of a quiet invoice = the moment the POST /Invoices carrying it reached the sandbox (the
sandbox's request log, wall_time logged on arrival, first 200 answer) minus the moment its
transaction committed (an on_commit hook). The same to our sync row's synced_at is printed too.
Calls are counted from the sandbox's request log (Accounting API only): each organisation's
busiest 60 s (sliding) and its calls in the run against the day's budget; calls in flight are the
sandbox's own count sampled twice a second (a sample, not every instant); the app's busiest 60 s
across all organisations; 429s by X-Rate-Limit-Problem. Outcome, at the end, from the sandbox's
stored data: every CRM invoice exactly once in its organisation (by number), every invoice
contact exactly once (by name), every imported Xero contact linked to exactly one CRM contact.

Figures only: nothing here asserts on time. On a shared 2-core machine the figures carry its
load: the bench process, the children, the workers, the sandbox and PostgreSQL share the cores.
--quick: 20 organisations, 15 s runs, bursts of 150, imports of 1,000."""

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import threading
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._setup import bench_world, celery_worker, connection_make  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "platform_load"
WINDOW = 60.0  # Xero counts calls per minute
API = "/api.xro/2.0"
# Xero's limits (XERO-FACTS): what the figures are held against.
PER_MINUTE, IN_FLIGHT, PER_DAY, PER_DAY_STARTER, APP_PER_MINUTE = 60, 5, 5000, 1000, 10_000
DATABASE_ENV, REDIS_ENV = "BENCH_PLATFORM_LOAD_DATABASE", "BENCH_PLATFORM_LOAD_REDIS_URL"
# The product's limiter settings this bench leaves at their defaults.
LIMITER_SETTINGS = ("XERO_CALLS_PER_MINUTE", "XERO_MAX_CONCURRENT_CALLS", "XERO_MAX_INLINE_WAIT")


@dataclass
class Org:
    kind: str  # quiet, burst, import
    tenant_id: str
    name: str
    account_id: int = 0
    connection_id: int = 0
    gst_id: int = 0
    contact_ids: list[int] = field(default_factory=list)  # quiet: one per run


@dataclass
class Run:
    name: str
    started: float = 0.0  # epoch seconds
    heavy_at: float | None = None
    committed: dict[tuple[str, str], float] = field(default_factory=dict)  # (tenant, number)
    late: list[float] = field(default_factory=list)  # how far behind schedule each save began
    bursts: dict[int, tuple[float, float, int]] = field(default_factory=dict)  # account ->
    # (issue began, committed, invoices), epoch s
    in_flight: dict[str, int] = field(default_factory=dict)  # tenant -> most sampled
    drained: float | None = None
    calls: list[dict] = field(default_factory=list)  # the sandbox's log of this run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1000, help="organisations in all")
    parser.add_argument("--minutes", type=float, default=5.0, help="each run's window")
    parser.add_argument("--burst", type=int, default=2000, help="invoices per bursting org")
    parser.add_argument("--import-contacts", type=int, default=20_000, help="per importing org")
    parser.add_argument("--bursting", type=int, default=5, help="organisations that burst")
    parser.add_argument("--importing", type=int, default=5, help="organisations that import")
    parser.add_argument("--workers", type=int, default=4, help="celery worker processes (-c 1)")
    parser.add_argument(
        "--quiet-rate", type=float, default=3.0, help="quiet invoices a second, all orgs together"
    )
    parser.add_argument(
        "--heavy-at", type=float, default=0.1, help="when bursts and imports start (of the window)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="only the mixed run")
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="s after the window")
    parser.add_argument("--seed", type=int, default=19)
    # Defaults from the environment too, for runs through run_all.py on a shared machine.
    parser.add_argument("--database", default=os.environ.get(DATABASE_ENV, "bench_platform_load"))
    parser.add_argument(
        "--redis-url", default=os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/10")
    )
    parser.add_argument("--logs", type=Path, help="copy the workers' logs into this directory")
    parser.add_argument("--quick", action="store_true", help="20 orgs, 0.5 min, small heavies")
    args = parser.parse_args()
    if args.quick:
        args.orgs, args.minutes, args.burst, args.import_contacts = 20, 0.25, 150, 1000
    if args.orgs < args.bursting + args.importing + 1:
        parser.error("--orgs must leave at least one quiet organisation")
    with bench_world(args.database, args.redis_url, "bench-platform-load-") as (sandbox, scratch):
        for name in LIMITER_SETTINGS:
            os.environ.pop(name, None)
        run_all(sandbox, scratch, args)


# --- setup -----------------------------------------------------------------------------------
def run_all(sandbox, scratch: Path, args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    limits = {k: v for k, v in sandbox.limits().items() if k not in ("usage", "app")}
    print(f"sandbox limits (Xero's real ones): {limits}")
    started = time.perf_counter()
    orgs = orgs_make(sandbox, args)
    print(f"set up {len(orgs):,} organisations in {time.perf_counter() - started:.0f} s")
    heavies = f"{args.bursting} × {args.burst:,} burst, {args.importing} × {args.import_contacts:,}"
    figure(
        BENCH,
        f"size ({heavies} import, quiet {args.quiet_rate:g}/s)",
        f"{len(orgs):,} orgs, {args.workers} workers, {args.minutes:g} min",
    )

    runs = []
    with ExitStack() as stack:
        env = dict(os.environ)
        logs = [scratch / f"worker-{n}.log" for n in range(args.workers)]
        for n, log in enumerate(logs):
            stack.enter_context(celery_worker(log, env, concurrency=1, name=f"bench{n}"))
        print(f"{args.workers} celery workers ready")
        if not args.no_baseline:
            runs.append(run_one(sandbox, orgs, args, "baseline", heavy=False))
        runs.append(run_one(sandbox, orgs, args, "mixed", heavy=True))
    tasks_report(logs, orgs)
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
        for log in logs:
            shutil.copy(log, args.logs / log.name)
    baseline = next((r for r in runs if r.name == "baseline"), None)
    for run in runs:
        run_report(sandbox, orgs, run, baseline)
    outcome_report(sandbox, orgs)


def orgs_make(sandbox, args) -> list[Org]:
    from decimal import Decimal

    from contacts.models import Contact
    from platform_crm.models import Account
    from taxes.services import tax_rate_create
    from xero_sync.context import applying_from_xero
    from xero_sync.taxes import services as tax_services

    quiet = args.orgs - args.bursting - args.importing
    tenants = [
        ("quiet", t) for t in sandbox.seed_many(quiet, name="Quiet Org {n}", n_contacts=2)
    ] + [("burst", t) for t in sandbox.seed_many(args.bursting, name="Burst Org {n}", n_contacts=2)]
    if args.importing:
        importing = sandbox.seed_many(
            args.importing, name="Import Org {n}", n_contacts=args.import_contacts
        )
        tenants += [("import", t) for t in importing]
    orgs = []
    for n, (kind, tenant) in enumerate(tenants):
        org = Org(kind, tenant["tenantId"], tenant["name"])
        account = Account.objects.create(name=tenant["name"], slug=f"org-{n}", country="NZ")
        connection = connection_make(sandbox, account, tenant["tenantId"], tenant["name"])
        org.account_id, org.connection_id = account.pk, connection.pk
        if kind != "import":
            gst = tax_rate_create(
                account=account, name="GST 15%", components=[("GST", Decimal(15), False)]
            )
            tax_services.xero_tax_rates_refresh(connection)
            tax_services.tax_mapping_set(
                connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=None
            )
            org.gst_id = gst.pk
            # Straight into the table: no signal, so nothing is queued for Xero; each one's
            # first invoice creates it there.
            runs = ("baseline", "mixed") if kind == "quiet" else ("burst",)
            contacts = Contact.objects.bulk_create(
                Contact(account=account, company_name=f"{tenant['name']} customer ({run})")
                for run in runs
            )
            org.contact_ids = [c.pk for c in contacts]
        orgs.append(org)
        if (n + 1) % 200 == 0:
            print(f"  ... {n + 1:,} organisations connected", flush=True)
    started = time.perf_counter()
    # A CRM draft is pushed to Xero as a DRAFT: these are kept out of the outbox (as a change
    # applied from Xero is), so nothing of the burst reaches Xero before its moment, when
    # issuing them makes `--burst` new invoices in one transaction.
    token = applying_from_xero.set(True)
    try:
        for org in orgs:
            if org.kind == "burst":
                for i in range(args.burst):
                    invoice_draft(org, org.contact_ids[0], i)
    finally:
        applying_from_xero.reset(token)
    drafts = args.burst * args.bursting
    print(f"  {drafts:,} burst drafts made in {time.perf_counter() - started:.0f} s")
    return orgs


_CACHE: dict[tuple[str, int], object] = {}


def _get(model, pk: int):
    """The row, read once per process (accounts, contacts and tax rates do not change here)."""
    key = (model.__name__, pk)
    if key not in _CACHE:
        _CACHE[key] = model.objects.get(pk=pk)
    return _CACHE[key]


def invoice_draft(org: Org, contact_id: int, n: int):
    """A draft invoice for the org's contact: one GST line."""
    import datetime
    from decimal import Decimal

    from contacts.models import Contact
    from invoices.services import LineInput, invoice_create
    from platform_crm.models import Account
    from taxes.models import TaxRate

    return invoice_create(
        account=_get(Account, org.account_id),
        contact=_get(Contact, contact_id),
        name=f"Bench service {n}",
        due_date=datetime.date.today() + datetime.timedelta(days=20),
        lines=[
            LineInput(
                description="Labour",
                quantity=Decimal(1),
                unit_price=Decimal("100.00") + n % 100,
                tax_rate=_get(TaxRate, org.gst_id),
            )
        ],
    )


# --- a run -----------------------------------------------------------------------------------
def schedule_make(orgs: list[Org], args) -> list[tuple[float, Org]]:
    """(seconds into the window, quiet org) for every quiet invoice: Poisson arrivals, the org
    drawn at random; the same for every run (one seed)."""
    rng = random.Random(args.seed)
    quiet = [o for o in orgs if o.kind == "quiet"]
    out, at = [], 0.0
    seconds = args.minutes * 60
    while True:
        at += rng.expovariate(args.quiet_rate)
        if at >= seconds:
            return out
        out.append((at, rng.choice(quiet)))


def run_one(sandbox, orgs: list[Org], args, name: str, *, heavy: bool) -> Run:
    from django.db import transaction

    from invoices.services import invoice_issue
    from xero_sync.client.limits import TenantLimiter

    run = Run(name)
    sandbox.set_limits(reset_usage=True)
    sandbox.clear_requests()
    for org in orgs:
        TenantLimiter(org.tenant_id).reset()
    schedule = schedule_make(orgs, args)
    seconds = args.minutes * 60
    contact_index = 0 if name == "baseline" else 1
    print(
        f"\n{name}: {len(schedule):,} quiet invoices over {seconds:.0f} s"
        + (
            f"; at {args.heavy_at * seconds:.0f} s {args.bursting} bursts of {args.burst:,} and "
            f"{args.importing} imports of {args.import_contacts:,} contacts"
            if heavy
            else ""
        ),
        flush=True,
    )
    stop = threading.Event()
    sampler = threading.Thread(target=in_flight_sample, args=(sandbox, run, stop), daemon=True)
    sampler.start()
    heavy_handles = None
    run.started = time.time()
    if heavy:
        run.heavy_at = run.started + args.heavy_at * seconds
        heavy_handles = bursts_start([o for o in orgs if o.kind == "burst"], run.heavy_at)
    imports_pending = heavy and args.importing > 0
    t0 = time.perf_counter()
    for n, (at, org) in enumerate(schedule):
        if imports_pending and time.time() >= (run.heavy_at or 0):
            imports_start([o for o in orgs if o.kind == "import"])
            imports_pending = False
        wait = t0 + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        run.late.append(max(0.0, time.perf_counter() - t0 - at))
        with transaction.atomic():
            stamp: list[float] = []
            transaction.on_commit(lambda stamp=stamp: stamp.append(time.time()))
            invoice = invoice_draft(org, org.contact_ids[contact_index], n)
            invoice_issue(invoice=invoice)
        run.committed[(org.tenant_id, invoice.number)] = stamp[0]
    if imports_pending:
        imports_start([o for o in orgs if o.kind == "import"])
    time.sleep(max(0.0, t0 + seconds - time.perf_counter()))
    if heavy_handles:
        run.bursts = bursts_join(heavy_handles)
    expected = len(run.committed) + (args.burst * args.bursting if heavy else 0)
    run.drained = wait_done(expected, args.drain_timeout, run.started)
    stop.set()
    sampler.join()
    # Kept now: the next run clears the sandbox's log.
    run.calls = sorted(sandbox.requests(path=f"{API}/*"), key=lambda c: c["wall_time"])
    return run


def in_flight_sample(sandbox, run: Run, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        try:
            usage = sandbox.limits()["usage"]
        except Exception as error:  # noqa: BLE001 (a missed sample is not the bench's end)
            print(f"  (in-flight sample failed: {error})")
            continue
        for tenant, counts in usage.items():
            run.in_flight[tenant] = max(run.in_flight.get(tenant, 0), counts["in_flight"])


def burst_child(account_id: int, at: float, results) -> None:
    """In a child process: at `at` (epoch s), issue every draft of the account in one
    transaction (as an import of invoices or a recurring run does); sends the commit time."""
    import django

    django.setup()
    from django.db import transaction

    from invoices.models import Invoice, InvoiceStatus
    from invoices.services import invoice_issue

    drafts = list(Invoice.objects.filter(account_id=account_id, status=InvoiceStatus.DRAFT))
    time.sleep(max(0.0, at - time.time()))
    began = time.time()
    commit: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: commit.append(time.time()))
        for invoice in drafts:
            invoice_issue(invoice=invoice)
    results.put((account_id, began, commit[0], len(drafts)))


def bursts_start(orgs: list[Org], at: float):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    children = [
        context.Process(target=burst_child, args=(org.account_id, at, results)) for org in orgs
    ]
    for child in children:
        child.start()
    return children, results


def bursts_join(handles) -> dict[int, tuple[float, float, int]]:
    children, results = handles
    bursts = {}
    for _ in children:
        account_id, began, committed, count = results.get(timeout=1800)
        print(
            f"  burst of {count:,} (account {account_id}) issued in {committed - began:.1f} s, "
            "one transaction",
            flush=True,
        )
        bursts[account_id] = (began, committed, count)
    for child in children:
        child.join()
    return bursts


def imports_start(orgs: list[Org]) -> None:
    from django.db import transaction

    from xero_sync.contacts.imports import import_start
    from xero_sync.models import XeroConnection

    with transaction.atomic():
        for org in orgs:
            connection = XeroConnection.objects.get(pk=org.connection_id)
            import_start(connection=connection, preview=False, user=None)
    print(f"  {len(orgs)} contact imports started", flush=True)


def wait_done(expected: int, timeout: float, started: float) -> float | None:
    """Until no invoice row is pending, `expected` more are synced than before and every import
    has finished; the moment (epoch s), or None after `timeout`."""
    from xero_sync.contacts.models import ContactImport
    from xero_sync.models import InvoiceSync, InvoiceSyncState
    from xero_sync.runs import UNDER_WAY

    deadline = time.monotonic() + timeout
    shown = time.monotonic()
    while time.monotonic() < deadline:
        counts = Counter(InvoiceSync.objects.values_list("state", flat=True))
        synced_now = InvoiceSync.objects.filter(
            state=InvoiceSyncState.SYNCED, synced_at__gte=_aware(started)
        ).count()
        imports = ContactImport.objects.filter(status__in=UNDER_WAY).count()
        if not counts[InvoiceSyncState.PENDING] and synced_now >= expected and not imports:
            return time.time()
        if time.monotonic() - shown >= 20:
            shown = time.monotonic()
            print(
                f"  ... {time.time() - started:.0f} s: sync rows {dict(counts)}, "
                f"{synced_now:,}/{expected:,} of this run synced, {imports} imports under way",
                flush=True,
            )
        time.sleep(0.5)
    print(f"  NOT DONE within {timeout:.0f} s after the window")
    return None


def _aware(epoch: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


# --- figures ---------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def busiest_window(times: list[float]) -> int:
    """Most calls in any WINDOW seconds (each window starting at a call)."""
    times = sorted(times)
    return max((bisect_left(times, t + WINDOW) - k for k, t in enumerate(times)), default=0)


def run_report(sandbox, orgs: list[Org], run: Run, baseline: Run | None) -> None:
    from xero_sync.models import InvoiceSync

    calls = run.calls
    kind_of = {o.tenant_id: o.kind for o in orgs}
    arrived: dict[tuple[str, str], float] = {}
    for call in calls:
        if call["method"] == "POST" and call["path"] == f"{API}/Invoices" and call["status"] == 200:
            for element in json.loads(call["body"])["Invoices"]:
                key = (call["tenant_id"], element.get("InvoiceNumber", ""))
                arrived.setdefault(key, call["wall_time"])
    latencies = {k: (arrived[k] - t) * 1000 for k, t in run.committed.items() if k in arrived}
    kinds = Counter(f"{c['method']} {c['path'].removeprefix(API).split('/')[1]}" for c in calls)
    print(
        f"\n{run.name}: {len(run.committed):,} quiet invoices, {len(latencies):,} reached the "
        f"sandbox; {len(calls):,} Accounting API calls {dict(kinds)}"
    )
    if run.late:
        print(f"  quiet saves began behind schedule by at most {max(run.late):.1f} s")
    tenant_numbers = {(o.account_id): o.tenant_id for o in orgs}
    synced = {
        (tenant_numbers[a], n): s.timestamp()
        for a, n, s in InvoiceSync.objects.filter(synced_at__isnull=False).values_list(
            "connection__account_id", "invoice__number", "synced_at"
        )
    }
    to_synced = [(synced[k] - t) * 1000 for k, t in run.committed.items() if k in synced]
    label = f"{run.name}: quiet save→in sandbox"
    values = list(latencies.values())
    if values:
        for p in (50, 95, 99):
            target = ""
            if baseline is not None and run is not baseline and p == 95:
                target = "≤ baseline + one call"
            figure(BENCH, f"{label} p{p}", percentile(values, p), "ms", target)
        figure(BENCH, f"{label} max", max(values), "ms")
    if to_synced:
        print(
            f"  commit -> our sync row synced: p50 {percentile(to_synced, 50):.0f} ms, "
            f"p95 {percentile(to_synced, 95):.0f} ms, p99 {percentile(to_synced, 99):.0f} ms"
        )
    if run.heavy_at is not None:
        heavy_calls = [c["wall_time"] for c in calls if kind_of.get(c["tenant_id"]) != "quiet"]
        heavy_end = max(heavy_calls, default=run.heavy_at)
        during = [
            ms for k, ms in latencies.items() if run.heavy_at <= run.committed[k] <= heavy_end
        ]
        print(
            f"  heavy work from {run.heavy_at - run.started:.0f} s to "
            f"{heavy_end - run.started:.0f} s into the run (its last call)"
        )
        if during:
            for p in (50, 95, 99):
                figure(
                    BENCH,
                    f"{run.name}: quiet save→in sandbox while heavy work ran p{p}",
                    percentile(during, p),
                    "ms",
                )
        for org in orgs:
            if org.kind == "burst" and org.account_id in run.bursts:
                _, committed, count = run.bursts[org.account_id]
                posts = [
                    c["wall_time"]
                    for c in calls
                    if c["tenant_id"] == org.tenant_id and c["method"] == "POST"
                ]
                if posts:
                    print(
                        f"  {org.name}: {count:,} committed {committed - run.started:.0f} s "
                        f"into the run; first call {posts[0] - committed:.1f} s later, last "
                        f"{posts[-1] - committed:.1f} s later ({len(posts)} POSTs; Xero's "
                        f"minute alone needs >= {(math.ceil(len(posts) / PER_MINUTE) - 1) * 60} s)"
                    )
        imports_report(orgs, calls)
    missing = len(run.committed) - len(latencies)
    if missing:
        print(f"  {missing} quiet invoices never reached the sandbox in this run")
    if run.drained is not None:
        print(f"  all done {run.drained - run.started:.0f} s after the run began")

    admitted = [c for c in calls if c["status"] != 429]
    by_tenant: dict[str, list[float]] = defaultdict(list)
    for call in admitted:
        by_tenant[call["tenant_id"]].append(call["wall_time"])
    per_minute = {t: busiest_window(times) for t, times in by_tenant.items()}
    if per_minute:
        busiest = max(per_minute, key=lambda t: per_minute[t])
        figure(
            BENCH,
            f"{run.name}: busiest org's calls in 60 s ({kind_of.get(busiest, '?')})",
            per_minute[busiest],
            "",
            f"≤ {PER_MINUTE}",
        )
        most = max(by_tenant, key=lambda t: len(by_tenant[t]))
        figure(
            BENCH,
            f"{run.name}: busiest org's calls in the run ({kind_of.get(most, '?')})",
            len(by_tenant[most]),
            "",
            f"≤ {PER_DAY:,}/day ({PER_DAY_STARTER:,} Starter)",
        )
        quiet_counts = [len(v) for t, v in by_tenant.items() if kind_of.get(t) == "quiet"]
        if quiet_counts:
            print(
                f"  calls per quiet org: mean {sum(quiet_counts) / len(quiet_counts):.1f}, "
                f"most {max(quiet_counts)}"
            )
        for kind in ("burst", "import"):
            counts = [len(v) for t, v in by_tenant.items() if kind_of.get(t) == kind]
            windows = [per_minute[t] for t in by_tenant if kind_of.get(t) == kind]
            if counts:
                print(f"  {kind} orgs: calls {counts}, busiest 60 s {windows} (limit {PER_MINUTE})")
    sampled = max(run.in_flight.values(), default=0)
    figure(BENCH, f"{run.name}: most calls in flight for one org (sampled)", sampled, "", "≤ 5")
    figure(
        BENCH,
        f"{run.name}: app-wide calls in the busiest 60 s",
        busiest_window([c["wall_time"] for c in admitted]),
        "",
        f"≤ {APP_PER_MINUTE:,}",
    )
    limited = [c for c in calls if c["status"] == 429]
    problems = Counter(c["response_headers"].get("X-Rate-Limit-Problem", "?") for c in limited)
    figure(BENCH, f"{run.name}: 429s", len(limited), dict(problems) if problems else "", "= 0")


def imports_report(orgs: list[Org], calls: list[dict]) -> None:
    from xero_sync.contacts.models import ContactImport

    for org in orgs:
        if org.kind != "import":
            continue
        run = ContactImport.objects.filter(connection_id=org.connection_id).last()
        pages = [c["wall_time"] for c in calls if c["tenant_id"] == org.tenant_id]
        if run is None or not pages:
            continue
        counts = {
            name: getattr(run, name)
            for name in ("created", "updated_by_email", "updated_by_phone", "skipped")
            + ("quarantined", "possible_duplicates")
            if getattr(run, name)
        }
        print(
            f"  {org.name}: import {run.status} {counts}, {len(pages)} calls over "
            f"{pages[-1] - pages[0]:.1f} s from its first to its last"
        )


def tasks_report(logs: list[Path], orgs: list[Org]) -> None:
    """How long single tasks held a worker (from the workers' JSON logs), by the kind of
    organisation: a task that holds a worker for long is a slot no other organisation can use
    meanwhile (with 4 workers, 4 such tasks stop every other organisation's sync)."""
    kind_of = {o.connection_id: o.kind for o in orgs}
    held: dict[str, list[float]] = defaultdict(list)
    retries: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{") or "xero_sync.tasks." not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            name = str(record.get("task_name", "")).removeprefix("xero_sync.tasks.")
            args = record.get("task_args") or {}
            if "connection_id" in args:
                name += f" ({kind_of.get(args['connection_id'], '?')} org)"
            runtime = (record.get("data") or {}).get("runtime")
            if runtime is not None and "succeeded" in record.get("message", ""):
                held[name].append(float(runtime))
            elif "retry" in record.get("message", "").lower():
                retries[name] += 1
    print("\ntasks, both runs (from the workers' logs):")
    for name, seconds in sorted(held.items()):
        print(
            f"  {name}: {len(seconds):,} ran, {retries[name]} retries; held a worker "
            f"p50 {percentile(seconds, 50):.2f} s, max {max(seconds):.1f} s, "
            f"{sum(seconds):.0f} s in all"
        )
    for name, seconds in sorted(held.items()):
        if "quiet" not in name:
            figure(BENCH, f"longest single task: {name}", max(seconds), "s")


def outcome_report(sandbox, orgs: list[Org]) -> None:
    """Every CRM invoice once in its Xero organisation, every invoice contact once, every
    imported Xero contact linked once (both runs)."""
    from contacts.models import Contact
    from invoices.models import Invoice, InvoiceStatus
    from xero_sync.contacts.models import PossibleDuplicate
    from xero_sync.inbound.models import QuarantinedRecord
    from xero_sync.models import XeroContact

    issued: dict[int, set[str]] = defaultdict(set)
    for account_id, number in Invoice.objects.exclude(status=InvoiceStatus.DRAFT).values_list(
        "account_id", "number"
    ):
        issued[account_id].add(number)
    invoices = duplicates = missing = 0
    contacts = contact_duplicates = contacts_missing = 0
    for org in orgs:
        if org.kind == "import" or not issued[org.account_id]:
            continue
        numbers = Counter(i.get("InvoiceNumber") for i in sandbox.invoices(org.tenant_id))
        invoices += len(issued[org.account_id])
        duplicates += sum(numbers[n] - 1 for n in issued[org.account_id] if numbers[n] > 1)
        missing += sum(1 for n in issued[org.account_id] if not numbers[n])
        names = Counter(c.get("Name") for c in sandbox.contacts(org.tenant_id))
        used = Contact.objects.filter(
            pk__in=Invoice.objects.filter(account_id=org.account_id)
            .exclude(status=InvoiceStatus.DRAFT)
            .values("contact_id")
        ).values_list("company_name", flat=True)
        for name in used:
            contacts += 1
            contact_duplicates += max(0, names[name] - 1)
            contacts_missing += 0 if names[name] else 1
    print(
        f"\noutcome: {invoices:,} invoices issued, {missing} missing in the sandbox, "
        f"{duplicates} duplicated; {contacts:,} invoice contacts, {contacts_missing} missing, "
        f"{contact_duplicates} duplicated"
    )
    figure(
        BENCH,
        "outcome: invoices once in Xero (missing, duplicated)",
        f"{invoices - missing - duplicates:,}/{invoices:,} ({missing}, {duplicates})",
        "",
        "all, (0, 0)",
    )
    figure(
        BENCH,
        "outcome: invoice contacts once in Xero (missing, duplicated)",
        f"{contacts - contacts_missing:,}/{contacts:,} ({contacts_missing}, {contact_duplicates})",
        "",
        "all, (0, 0)",
    )
    imported = linked = link_duplicates = quarantined = duplicates_asked = 0
    for org in orgs:
        if org.kind != "import":
            continue
        in_xero = {
            c["ContactID"]
            for c in sandbox.contacts(org.tenant_id)
            if c.get("ContactStatus") == "ACTIVE" and not c.get("MergedToContactID")
        }
        links = Counter(
            XeroContact.objects.filter(connection_id=org.connection_id).values_list(
                "xero_contact_id", flat=True
            )
        )
        imported += len(in_xero)
        linked += len(in_xero & set(links))
        unlinked = sorted(in_xero - set(links))
        held = dict(
            QuarantinedRecord.objects.filter(
                connection_id=org.connection_id, xero_id__in=unlinked, resolved_at=None
            ).values_list("xero_id", "reason")
        )
        asked = set(
            PossibleDuplicate.objects.filter(
                connection_id=org.connection_id, xero_contact_id__in=unlinked, resolved_at=None
            ).values_list("xero_contact_id", flat=True)
        )
        quarantined += len(held)
        duplicates_asked += len(asked)
        for xero_id in unlinked:
            if xero_id not in held and xero_id not in asked:
                print(f"  {org.name}: Xero contact {xero_id} neither linked nor held")
        link_duplicates += sum(n - 1 for n in links.values() if n > 1)
    if imported:
        figure(
            BENCH,
            "outcome: Xero contacts linked once (duplicated; held: possible duplicate, odd)",
            f"{linked:,}/{imported:,} ({link_duplicates}; {duplicates_asked}, {quarantined})",
            "",
            "linked + held = all, (0; ...)",
        )


if __name__ == "__main__":
    main()
