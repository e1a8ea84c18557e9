"""Bench: one sandbox serving 1,000 organisations at once, as issue 19's platform bench needs it.
It must never set the pace: Xero answers in hundreds of milliseconds and paces an organisation to
a call a second, so the sandbox's own time per call has to stay far below both, for the quiet
organisations too while a few others burst and import.

    .venv/bin/python bench/sandbox_many_orgs.py [--seconds 60] [--quick]

Seeds 990 small organisations, 5 that burst and 5 that import (20,000 contacts each), one token
each, under Xero's real limits. Then the same open-loop load twice, without and with the heavy
organisations: the quiet ones save single invoices (PUT /Invoices) and poll (GET /Contacts/{id},
GET /Invoices If-Modified-Since) at random; each burst organisation PUTs 50 invoices a call at 58
calls a minute; each import organisation reads GET /Contacts 1,000 a page at 58 a minute. It
reports the quiet organisations' call latency in both runs, every kind's p95, the 429s (0: the
load keeps to Xero's limits), the egress the sandbox counted, and finally its capacity: single-
invoice saves per second from 16 clients, limits lifted, against the 167 a second Xero's app-wide
limit (10,000 a minute) allows. --quick: 2,000 contacts per import org, 20 s runs."""

import argparse
import heapq
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench._process import rss_mb  # noqa: E402
from bench.figures import figure  # noqa: E402
from xero_sandbox.process import start_sandbox, stop_sandbox  # noqa: E402

BENCH = "sandbox_many_orgs"
QUIET, BURSTING, IMPORTING = 990, 5, 5
PACE = 60 / 58  # seconds between an organisation's calls at 58 a minute (under Xero's 60)
BATCH = 50  # invoices per burst call (XERO-FACTS section 4)
PAGE = 1000  # contacts per import page (Xero's largest)
APP_LIMIT_PER_SECOND = 10_000 / 60


class Org:
    def __init__(self, tenant: dict, token: dict, contact_id: str) -> None:
        self.id = tenant["tenantId"]
        self.contacts = tenant["contacts"]
        self.contact_id = contact_id
        self.headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": self.id,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }


def invoice(contact_id: str, n: int) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-03-01",
        "DueDate": "2026-03-31",
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": f"Bench work {n}",
                "Quantity": "1",
                "UnitAmount": f"{100 + n % 50}.00",
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],
    }


class Load:
    """Calls made at their scheduled times by a pool of client threads; each call's latency
    (send to answer) and how late it started (how far the client itself fell behind)."""

    def __init__(self, sandbox, clients: int) -> None:
        self.api = sandbox.api_url
        self.http = urllib3.PoolManager(
            maxsize=clients, retries=False, timeout=urllib3.Timeout(connect=5, read=60)
        )
        self.pool = ThreadPoolExecutor(clients)
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.late: list[float] = []
        self.statuses: dict[int, int] = defaultdict(int)
        self.received: dict[str, int] = defaultdict(int)

    def call(self, kind: str, org: Org, method: str, path: str, body=None, headers=None):
        started = time.perf_counter()
        answer = self.http.request(
            method,
            f"{self.api}{path}",
            body=json.dumps(body) if body is not None else None,
            headers={**org.headers, **(headers or {})},
        )
        ms = (time.perf_counter() - started) * 1000
        with self.lock:
            self.ms[kind].append(ms)
            self.statuses[answer.status] += 1
            self.received[org.id] += len(answer.data)
        return answer

    def run(self, schedule: list[tuple[float, int, str, Org, tuple]], seconds: float) -> float:
        """Start each (at, seq, kind, org, call args) at `at` seconds; returns the wall time."""
        heapq.heapify(schedule)
        t0 = time.perf_counter()
        futures = []
        while schedule:
            at, _, kind, org, args = heapq.heappop(schedule)
            if at > seconds:
                break
            wait = t0 + at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)

            def job(at=at, kind=kind, org=org, args=args):
                self.late.append((time.perf_counter() - t0 - at) * 1000)
                self.call(kind, org, *args)

            futures.append(self.pool.submit(job))
        for future in futures:
            future.result()
        return time.perf_counter() - t0


def quiet_calls(orgs: list[Org], rate: float, seconds: float, rng: random.Random) -> list:
    """Saves and polls by the quiet organisations at random, `rate` calls a second in all:
    a half single-invoice saves, a quarter contact reads, a quarter If-Modified-Since polls."""
    out, at, n = [], 0.0, 0
    while at < seconds:
        at += rng.expovariate(rate)
        org, n = rng.choice(orgs), n + 1
        roll = rng.random()
        if roll < 0.5:
            body = {"Invoices": [invoice(org.contact_id, n)]}
            key = {"Idempotency-Key": str(uuid.uuid4())}
            args = ("PUT", "/Invoices?summarizeErrors=false", body, key)
            out.append((at, n, "quiet save", org, args))
        elif roll < 0.75:
            out.append((at, n, "quiet read", org, ("GET", f"/Contacts/{org.contact_id}")))
        else:
            since = {"If-Modified-Since": "2026-01-01T00:00:00+00:00"}
            path = "/Invoices?page=1&pageSize=100"
            out.append((at, n, "quiet poll", org, ("GET", path, None, since)))
    return out


def heavy_calls(bursting: list[Org], importing: list[Org], invoices: int, seconds: float) -> list:
    """Each bursting org PUTs `invoices` in batches of 50, each importing org reads every page
    then polls, both at 58 calls a minute; staggered so they do not start together."""
    out, seq = [], 10**9
    for i, org in enumerate(bursting):
        for call in range(-(-invoices // BATCH)):
            batch = [invoice(org.contact_id, call * BATCH + k) for k in range(BATCH)]
            key = {"Idempotency-Key": str(uuid.uuid4())}
            args = ("PUT", "/Invoices?summarizeErrors=false", {"Invoices": batch}, key)
            out.append((0.1 * i + call * PACE, seq := seq + 1, "burst of 50", org, args))
    for i, org in enumerate(importing):
        pages = -(-org.contacts // PAGE)
        at = 0.05 + 0.1 * i
        for page in range(1, pages + 1):
            path = f"/Contacts?page={page}&pageSize={PAGE}"
            out.append((at, seq := seq + 1, "import page", org, ("GET", path)))
            at += PACE
        while at < seconds:  # then polls, as an import that is done keeps up
            since = {"If-Modified-Since": "2026-01-01T00:00:00+00:00"}
            path = f"/Contacts?page=1&pageSize={PAGE}"
            out.append((at, seq := seq + 1, "import poll", org, ("GET", path, None, since)))
            at += PACE
    return out


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1)]


def capacity(sandbox, orgs: list[Org], seconds: float, clients: int) -> float:
    """Single-invoice saves a second from `clients` threads as fast as they go, limits lifted."""
    sandbox.set_limits(per_minute=10**9, per_day=10**9, app_per_minute=10**9, concurrent=10**9)
    load = Load(sandbox, clients)
    stop = time.perf_counter() + seconds
    counts = [0] * clients

    def client(i: int) -> None:
        rng = random.Random(i)
        while time.perf_counter() < stop:
            org = rng.choice(orgs)
            body = {"Invoices": [invoice(org.contact_id, counts[i])]}
            load.call("capacity", org, "PUT", "/Invoices?summarizeErrors=false", body)
            counts[i] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    assert set(load.statuses) == {200}, dict(load.statuses)
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--import-contacts", type=int, default=20_000)
    parser.add_argument("--burst-invoices", type=int, default=2_000)
    parser.add_argument("--quiet-rate", type=float, default=20.0, help="quiet calls a second")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="2,000 contacts, 20 s runs")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.import_contacts, args.burst_invoices = 20.0, 2_000, 1_000
    log = Path(tempfile.mkdtemp()) / "sandbox.log"
    process, sandbox = start_sandbox(log, "--orgs", "none")
    try:
        started = time.perf_counter()
        quiet = sandbox.seed_many(QUIET, name="Quiet Org", n_contacts=5)
        small_seconds = time.perf_counter() - started
        bursting = sandbox.seed_many(BURSTING, name="Burst Org", n_contacts=20)
        importing = sandbox.seed_many(IMPORTING, name="Import Org", n_contacts=args.import_contacts)
        seed_seconds = time.perf_counter() - started
        tenants = quiet + bursting + importing
        figure(BENCH, f"seed {QUIET} small orgs (one call)", small_seconds, "s", "< 5 s")
        figure(BENCH, f"seed all {len(tenants):,} orgs", seed_seconds, "s")
        started = time.perf_counter()
        orgs = []
        for tenant in tenants:
            token = sandbox.token_for(tenant["tenantId"])
            first = sandbox.state(tenant["tenantId"], "contacts")["Contacts"][0]["ContactID"]
            orgs.append(Org(tenant, token, first))
        figure(BENCH, "a token and a contact for every org", time.perf_counter() - started, "s")
        figure(BENCH, "sandbox RSS, 1,000 orgs seeded", rss_mb(process.pid), "MB")
        quiet_orgs, heavy = orgs[:QUIET], orgs[QUIET:]
        burst_orgs, import_orgs = heavy[:BURSTING], heavy[BURSTING:]

        runs = {}
        for name, with_heavy in (("quiet only", False), ("with bursts and imports", True)):
            sandbox.set_limits(reset_usage=True)
            sandbox.clear_requests()
            load = Load(sandbox, args.clients)
            schedule = quiet_calls(quiet_orgs, args.quiet_rate, args.seconds, random.Random(7))
            if with_heavy:
                schedule += heavy_calls(burst_orgs, import_orgs, args.burst_invoices, args.seconds)
            wall = load.run(schedule, args.seconds)
            runs[name] = load
            calls = sum(len(v) for v in load.ms.values())
            quiet_ms = [ms for kind, v in load.ms.items() if kind.startswith("quiet") for ms in v]
            print(
                f"{name}: {calls:,} calls in {wall:.0f} s ({calls / wall:.1f}/s), statuses "
                f"{dict(load.statuses)}, client lateness p99 {pct(load.late, 99):.0f} ms, "
                f"sandbox RSS {rss_mb(process.pid):.0f} MB"
            )
            slow = sorted(
                (ms, kind) for kind, v in load.ms.items() for ms in v if kind.startswith("quiet")
            )[-5:]
            print(f"slowest quiet calls: {slow}")
            for p in (50, 95, 99):
                figure(BENCH, f"quiet orgs' calls p{p}, {name}", pct(quiet_ms, p), "ms", "< 100 ms")
            figure(BENCH, f"429s, {name}", load.statuses.get(429, 0), "", "= 0")
            if with_heavy:
                for kind in ("burst of 50", "import page", "quiet save"):
                    figure(BENCH, f"{kind} p95, {name}", pct(load.ms[kind], 95), "ms")
                figure(BENCH, f"calls a second, {name}", calls / wall, "/s")
                counted = {row["tenant"]: row["bytes"] for row in sandbox.egress()}
                sent = {org.id: load.received[org.id] for org in orgs if org.id in load.received}
                assert counted == sent, "the sandbox's egress differs from what clients received"
                figure(BENCH, "egress of one import org", counted[import_orgs[0].id] / 1e6, "MB")
                figure(BENCH, "egress counted = bytes received", counted == sent, "", "= True")
        base = statistics.median(ms for v in runs["quiet only"].ms.values() for ms in v)
        print(f"quiet-only median of every call: {base:.1f} ms")

        per_second = capacity(sandbox, quiet_orgs, 10.0 if not args.quick else 5.0, 16)
        figure(
            BENCH,
            "capacity, single-invoice saves from 16 clients",
            per_second,
            "/s",
            f"> {APP_LIMIT_PER_SECOND:.0f} /s",
        )
        figure(BENCH, "sandbox RSS at the end", rss_mb(process.pid), "MB")
    finally:
        stop_sandbox(process)


if __name__ == "__main__":
    main()
