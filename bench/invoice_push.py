"""Bench: invoice pushes to Xero (issue 7) through a real Celery worker and our own sandbox.

    .venv/bin/python bench/invoice_push.py [--quick] [--burst 6000] [--seconds 30] [--rate 10]

Setup (not measured): its own database (bench_invoice_push, dropped at the end), its own Redis
DB (1: broker, cache and our rate limits; flushed before and after), its own sandbox subprocess
with one NZ organisation, an account connected to it without a browser, GST 15% mapped to
OUTPUT2, and 200 CRM contacts already linked to Xero contacts (so no contact calls).

A. Latency: an invoice issued (its own transaction) every 1/rate s for `seconds` s, one worker
   process (`-c 1`), the sandbox answering at once. Latency = the moment the POST /Invoices
   carrying it reached the sandbox (the request log's wall_time, logged on arrival) minus the
   moment its transaction committed (an on_commit hook registered first, so it runs first).
   10 a second is more than Xero's 60 a minute, so A runs with the limits lifted on both
   sides: the sandbox's (per_minute 100,000, per_day 10,000,000) and ours
   (XERO_CALLS_PER_MINUTE 10^9 for the worker).
B. Burst: `burst` invoices issued in one transaction (as an import or a recurring run does),
   then drained by a new worker process (`-c 1`) under the sandbox's real limits (5 in flight,
   60 a minute, 5,000 a day) and our limiter's real settings (the product defaults:
   XERO_CALLS_PER_MINUTE, XERO_MAX_CONCURRENT_CALLS and XERO_MAX_INLINE_WAIT unset). No beat:
   waits are the task's own retry countdowns. Counts the Accounting API calls and 429s in the
   sandbox's log and the calls in every full 60 s window while the backlog lasted.

One drain per organisation runs at a time (an advisory lock), so more worker processes would
not push faster; `-c 1` is what a small deployment runs. Figures only: nothing here asserts on
time. --quick: a burst of 1,200 and 10 s of latency."""

import argparse
import json
import math
import os
import statistics
import sys
import time
from bisect import bisect_left
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._setup import bench_world, celery_worker, connection_make, gst_mapped  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "invoice_push"
DB = "bench_invoice_push"
REDIS_URL = "redis://127.0.0.1:6379/1"
LOTS = 10**9  # "never throttle"
BATCH = 50  # invoices per POST /Invoices (xero_sync.invoice_batch.BATCH_SIZE)
CONTACTS = 200
WINDOW = 60.0  # Xero counts calls per minute
# The worker's limiter settings that B must leave at the product's defaults.
LIMITER_SETTINGS = ("XERO_CALLS_PER_MINUTE", "XERO_MAX_CONCURRENT_CALLS", "XERO_MAX_INLINE_WAIT")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=6000, help="invoices in the burst (B)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the latency run")
    parser.add_argument("--rate", type=float, default=10.0, help="invoices a second in A")
    parser.add_argument("--quick", action="store_true", help="a burst of 1,200, 10 s of A")
    args = parser.parse_args()
    if args.quick:
        args.burst, args.seconds = 1200, 10.0
    with bench_world(
        DB,
        REDIS_URL,
        "bench-invoice-push-",
        {"XERO_CALLS_PER_MINUTE": str(LOTS), "XERO_APP_CALLS_PER_MINUTE": str(LOTS)},
    ) as (sandbox, scratch):
        run(sandbox, scratch, args)


# --- setup -----------------------------------------------------------------------------------
def run(sandbox, scratch: Path, args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    real_limits = {k: v for k, v in sandbox.limits().items() if k != "usage"}
    tenant = sandbox.seed([{"name": "Bench Invoices Ltd", "region": "NZ", "n_contacts": 500}])[0]
    account, connection, gst, contacts = organisation_make(sandbox, tenant)
    print(
        f"set up: account {account.slug} connected to {tenant['name']}, GST mapped, "
        f"{len(contacts)} contacts linked to Xero; sandbox limits {real_limits}"
    )

    worker_env = dict(os.environ)
    sandbox.set_limits(per_minute=100_000, per_day=10**7, reset_usage=True)
    with celery_worker(scratch / "worker-a.log", worker_env, concurrency=1):
        latency_run(sandbox, connection, gst, contacts, args)

    for name in LIMITER_SETTINGS:
        worker_env.pop(name, None)
    sandbox.set_limits(**real_limits, reset_usage=True)
    from xero_sync.client.limits import TenantLimiter

    TenantLimiter(connection.tenant_id).reset()  # A's calls are not B's
    with celery_worker(scratch / "worker-b.log", worker_env, concurrency=1):
        burst_run(sandbox, connection, gst, contacts, args, scratch / "worker-b.log")


def organisation_make(sandbox, tenant: dict):
    from django.utils import timezone

    from contacts.models import Contact
    from platform_crm.models import Account
    from xero_sync.models import XeroContact

    account = Account.objects.create(name="Bench Invoices Ltd", slug="bench", country="NZ")
    connection = connection_make(sandbox, account, tenant["tenantId"], tenant["name"])
    gst = gst_mapped(connection)
    xero = [
        c
        for c in sandbox.contacts(tenant["tenantId"])  # the control API: not in the log
        if c["ContactStatus"] == "ACTIVE" and not c.get("MergedToContactID") and c.get("Name")
    ][:CONTACTS]
    # Straight into the tables: no signal, so nothing is queued for Xero.
    contacts = Contact.objects.bulk_create(
        Contact(account=account, company_name=c["Name"], email=c.get("EmailAddress") or "")
        for c in xero
    )
    XeroContact.objects.bulk_create(
        XeroContact(
            connection=connection,
            contact=contact,
            xero_contact_id=c["ContactID"],
            synced_at=timezone.now(),
        )
        for contact, c in zip(contacts, xero, strict=True)
    )
    return account, connection, gst, contacts


def invoice_issue_one(account, gst, contact, n: int):
    """An invoice issued for a contact Xero already knows: one GST line."""
    import datetime
    from decimal import Decimal

    from invoices.services import LineInput, invoice_create, invoice_issue

    invoice = invoice_create(
        account=account,
        contact=contact,
        name=f"Bench service {n}",
        due_date=datetime.date.today() + datetime.timedelta(days=20),
        lines=[
            LineInput(
                description="Labour",
                quantity=Decimal(1),
                unit_price=Decimal("100.00") + n % 100,
                tax_rate=gst,
            )
        ],
    )
    return invoice_issue(invoice=invoice)


def wait_drained(expected: int, timeout: float, progress_every: float = 15.0) -> float | None:
    """Poll until no row is pending and `expected` rows are synced; the moment seen (epoch
    seconds), or None after `timeout`."""
    from xero_sync.models import InvoiceSync, InvoiceSyncState

    deadline = time.monotonic() + timeout
    shown = time.monotonic()
    while time.monotonic() < deadline:
        counts = Counter(InvoiceSync.objects.values_list("state", flat=True))
        if not counts[InvoiceSyncState.PENDING] and counts[InvoiceSyncState.SYNCED] >= expected:
            return time.time()
        if time.monotonic() - shown >= progress_every:
            shown = time.monotonic()
            print(f"  ... outbox now {dict(counts)}", flush=True)
        time.sleep(0.1)
    return None


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- A: latency ----------------------------------------------------------------------------------
def latency_run(sandbox, connection, gst, contacts, args) -> None:
    from django.db import transaction

    from xero_sync.models import InvoiceSync

    count = int(args.rate * args.seconds)
    account = connection.account
    committed: dict[str, float] = {}
    behind = 0.0
    sandbox.clear_requests()
    print(f"\nA. {count} invoices, {args.rate:g} a second, each in its own transaction")
    started = time.perf_counter()
    for n in range(count):
        due = started + n / args.rate
        behind = max(behind, time.perf_counter() - due)
        time.sleep(max(0.0, due - time.perf_counter()))
        with transaction.atomic():
            stamp: list[float] = []
            transaction.on_commit(lambda stamp=stamp: stamp.append(time.time()))
            invoice = invoice_issue_one(account, gst, contacts[n % len(contacts)], n)
        committed[invoice.number] = stamp[0]
    issued_in = time.perf_counter() - started
    done = wait_drained(count, timeout=120)
    if done is None:
        print("  NOT DRAINED within 120 s after the last invoice")

    arrived = {}  # invoice number -> when the POST carrying it first reached the sandbox
    posts = sandbox.requests(method="POST", path="/api.xro/2.0/Invoices")
    for post in posts:
        if post["status"] != 200:
            continue
        for element in json.loads(post["body"])["Invoices"]:
            arrived.setdefault(element["InvoiceNumber"], post["wall_time"])
    latencies = [(arrived[n] - t) * 1000 for n, t in committed.items() if n in arrived]
    synced = dict(InvoiceSync.objects.values_list("invoice__number", "synced_at"))
    to_synced = [(synced[n].timestamp() - t) * 1000 for n, t in committed.items() if synced.get(n)]
    calls = sandbox.requests(path="/api.xro/2.0/*")
    sizes = Counter(len(json.loads(p["body"])["Invoices"]) for p in posts)
    print(
        f"  issued in {issued_in:.1f} s ({count / issued_in:.1f} /s; at most {behind * 1000:.0f} "
        f"ms behind schedule); {len(arrived)}/{count} reached the sandbox in {len(calls)} "
        f"Accounting API calls ({len(posts)} POST /Invoices; invoices per POST: "
        f"{dict(sorted(sizes.items()))}); statuses {dict(Counter(c['status'] for c in calls))}"
    )
    if to_synced:
        print(
            "  commit -> row synced in the CRM (the worker has Xero's answer and saved it): "
            f"p50 {percentile(to_synced, 50):.0f} ms, p95 {percentile(to_synced, 95):.0f} ms, "
            f"p99 {percentile(to_synced, 99):.0f} ms, max {max(to_synced):.0f} ms"
        )
    label = f"save→in sandbox at {args.rate:g}/s, 1 worker -c 1, limits lifted"
    if latencies:
        print(f"  commit -> POST reached the sandbox: max {max(latencies):.0f} ms")
        figure(BENCH, f"{label}: p50", percentile(latencies, 50), "ms")
        figure(BENCH, f"{label}: p95", percentile(latencies, 95), "ms", "< 250 ms")
        figure(BENCH, f"{label}: p99", percentile(latencies, 99), "ms")
    figure(BENCH, "A: invoices in the sandbox", f"{len(arrived)}/{count}", "", f"{count}/{count}")


# --- B: a burst under the real limits --------------------------------------------------------
def burst_run(sandbox, connection, gst, contacts, args, worker_log: Path) -> None:
    from django.db import transaction

    n = args.burst
    account = connection.account
    sandbox.clear_requests()
    print(
        f"\nB. a burst of {n:,} invoices in one transaction, then drained under Xero's real "
        "limits and our limiter's defaults"
    )
    started = time.time()
    commit: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: commit.append(time.time()))
        for i in range(n):
            invoice_issue_one(account, gst, contacts[i % len(contacts)], 100_000 + i)
    t_commit = commit[0]
    print(f"  issued and committed in {t_commit - started:.1f} s (setup, not measured below)")
    # Xero's limit alone needs ceil(calls / 60) - 1 waits of a minute.
    floor = (math.ceil(n / BATCH / 60) - 1) * 61
    t_empty = wait_drained(n, timeout=max(600.0, 4 * floor))
    calls = sorted(sandbox.requests(path="/api.xro/2.0/*"), key=lambda c: c["wall_time"])
    burst_report(n, calls, t_commit, t_empty, floor, worker_log)


def window_counts(times: list[float], start: float, end: float, step: float = 0.05):
    """Calls in every full WINDOW-second window [s, s + WINDOW) with start <= s and
    s + WINDOW <= end, s on a grid of `step` seconds."""
    counts = []
    s = start
    while s + WINDOW <= end:
        counts.append(bisect_left(times, s + WINDOW) - bisect_left(times, s))
        s += step
    return counts


def burst_report(n, calls, t_commit, t_empty, floor, worker_log: Path) -> None:
    minimum = math.ceil(n / BATCH)
    kinds = Counter(
        f"{c['method']} {c['path'].removeprefix('/api.xro/2.0')}?{'&'.join(sorted(c['query']))}"
        for c in calls
    )
    limited = [c for c in calls if c["status"] == 429]
    posts = [c for c in calls if c["method"] == "POST" and c["path"].endswith("/Invoices")]
    sizes = Counter(len(json.loads(p["body"])["Invoices"]) for p in posts)
    print(f"  Accounting API calls: {len(calls)} {dict(kinds)}")
    print(f"  invoices per POST /Invoices: {dict(sorted(sizes.items()))}")
    if limited:
        print(
            "  429s: "
            + ", ".join(
                f"{c['response_headers'].get('X-Rate-Limit-Problem')} "
                f"Retry-After {c['response_headers'].get('Retry-After')}"
                for c in limited
            )
        )
    log = worker_log.read_text().splitlines()
    retries = [line.split("Retry in", 1)[1].split('"')[0] for line in log if "Retry in" in line]
    print(
        f"  task retries (waits for the limit, from the worker log): {len(retries)} "
        f"(each in {', '.join(r.strip() for r in retries) or '-'})"
    )
    figure(BENCH, f"burst {n:,}: Accounting API calls", len(calls), "", f"= {minimum}")
    share = len(limited) / len(calls) if calls else 0.0
    figure(BENCH, f"burst {n:,}: 429s received", len(limited), f"({share:.1%})", "< 1% of calls")
    if t_empty is None or not calls:
        print("  NOT DRAINED: the backlog never emptied")
        figure(BENCH, f"burst {n:,}: time to drain", "did not drain", "", "")
        return
    times = [c["wall_time"] for c in calls]
    first = times[0]
    print(
        f"  first call {first - t_commit:.2f} s after commit, last {times[-1] - t_commit:.1f} s, "
        f"backlog empty {t_empty - t_commit:.1f} s after commit (Xero's limit alone: >= "
        f"{floor} s)"
    )
    # (gap, 1-based number of the call after it)
    pauses = sorted(((times[k] - times[k - 1], k + 1) for k in range(1, len(times))), reverse=True)
    print(
        "  longest pauses between calls: "
        + ", ".join(f"{gap:.1f} s before call {k}" for gap, k in pauses[:3])
    )
    fixed = []
    edge = first
    while edge + WINDOW <= t_empty:
        fixed.append(bisect_left(times, edge + WINDOW) - bisect_left(times, edge))
        edge += WINDOW
    counts = window_counts(times, first, t_empty)
    overall = len(calls) / (t_empty - first) * 60
    print(
        f"  calls per minute while the backlog lasted ({t_empty - first:.1f} s from the first "
        f"call): consecutive minutes from the first call {fixed or 'none full'}; "
        f"{len(counts)} sliding full 60 s windows; overall {overall:.1f}"
        " a minute (the opening minute's burst included)"
    )
    if counts:
        figure(BENCH, f"burst {n:,}: calls in the slowest full minute", min(counts), "", ">= 54")
        figure(
            BENCH,
            f"burst {n:,}: calls per minute, mean of full minutes",
            statistics.fmean(counts),
            "",
            ">= 54",
        )
    else:
        print("  (the backlog lasted less than a minute: no full 60 s window to count)")
        figure(BENCH, f"burst {n:,}: calls in the slowest full minute", "n/a (< 60 s)", "")
    figure(BENCH, f"burst {n:,}: time to drain", t_empty - t_commit, "s")


if __name__ == "__main__":
    main()
