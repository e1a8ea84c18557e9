"""Bench: start the sandbox, seed 100,000 contacts, time GET /Contacts?page=N&pageSize=1000.

    .venv/bin/python bench/sandbox_contacts_page.py [--contacts 100000] [--rounds 3] [--quick]

Prints the seed time and p50/p95 of full HTTP round trips (keep-alive, one client); --quick
seeds 10,000 contacts and makes one round."""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.figures import figure  # noqa: E402
from xero_sandbox.process import start_sandbox, stop_sandbox  # noqa: E402

BENCH = "sandbox_contacts_page"
# The sandbox stands in for Xero in the import benchmark: a page must cost far less than
# Xero's own pacing (60 calls a minute, one a second) so the sandbox never sets the pace.
TARGET_PAGE_MS = "< 100 ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 contacts, one round")
    args = parser.parse_args()
    if args.quick:
        args.contacts, args.rounds = 10_000, 1
    log = Path(tempfile.mkdtemp()) / "sandbox.log"
    process, sandbox = start_sandbox(log, "--orgs", "none")
    try:
        started = time.perf_counter()
        tenant = sandbox.seed([{"name": "Bench Ltd", "n_contacts": args.contacts}])[0]
        seconds = time.perf_counter() - started
        print(f"seeded {tenant['contacts']} contacts in {seconds:.2f} s (generation included)")
        figure(BENCH, f"seed {tenant['contacts']:,} contacts", seconds, "s")
        sandbox.set_limits(per_minute=10**9, per_day=10**9, app_per_minute=10**9)
        token = sandbox.token_for(tenant["tenantId"])
        http = urllib3.PoolManager(retries=False)
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": tenant["tenantId"],
            "Accept": "application/json",
        }
        pages = -(-tenant["contacts"] // 1000)
        timings = []
        for _ in range(args.rounds):
            for page in range(1, pages + 1):
                t0 = time.perf_counter()
                answer = http.request(
                    "GET", f"{sandbox.api_url}/Contacts?page={page}&pageSize=1000", headers=headers
                )
                answer.data  # noqa: B018 (read the whole body inside the timing)
                timings.append((time.perf_counter() - t0) * 1000)
                assert answer.status == 200, answer.status
        cold = sorted(timings[:pages])  # first pass: each page serialised for the first time
        print(
            f"first pass ({pages} cold pages): p50 {statistics.median(cold):.1f} ms, "
            f"p95 {cold[int(len(cold) * 0.95) - 1]:.1f} ms"
        )
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"GET /Contacts pageSize=1000 over {len(timings)} calls: "
            f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
        )
        figure(BENCH, "cold page p50", statistics.median(cold), "ms")
        figure(BENCH, "page of 1,000 p50", statistics.median(timings), "ms", TARGET_PAGE_MS)
        figure(BENCH, "page of 1,000 p95", p95, "ms")
    finally:
        stop_sandbox(process)


if __name__ == "__main__":
    main()
