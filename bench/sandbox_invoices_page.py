"""Bench: start the sandbox, seed an organisation with 10,000 invoices (with line items, payments
and credit notes), and time reading them all as a past-invoice import would: GET /Invoices and
GET /CreditNotes page by page at Xero's largest page (pageSize=1000), plainly and filtered by
date and type, and once more If-Modified-Since.

    .venv/bin/python bench/sandbox_invoices_page.py [--invoices 10000] [--credit-notes 1000]
        [--rounds 2] [--quick]

--quick seeds 2,000 invoices and 200 credit notes and makes one round."""

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench._process import rss_mb  # noqa: E402
from bench.figures import figure  # noqa: E402
from xero_sandbox.process import start_sandbox, stop_sandbox  # noqa: E402

BENCH = "sandbox_invoices_page"
PAGE_SIZE = 1000  # Xero's largest page since July 2024 (XERO-FACTS section 5)
# As for contacts: a page must cost far less than Xero's pacing (one call a second).
TARGET_PAGE_MS = "< 100 ms"
SINCE = "2026-01-01T00:00:00+00:00"  # the seed's history spans the two years before Nov 2026
WHERE = 'Type=="ACCREC" AND Date>=DateTime(2025, 11, 01)'


def read_all(http, sandbox, headers, plural: str, query: dict, extra_headers=None) -> dict:
    """Every page of one list, timed: {ms: [...], items, lines, bytes, calls}. Stops at
    pagination.pageCount (Xero answers it with every paged list), or at a short page."""
    out = {"ms": [], "items": 0, "lines": 0, "bytes": 0, "calls": 0}
    page = 1
    while True:
        params = urllib.parse.urlencode({**query, "page": page, "pageSize": PAGE_SIZE})
        t0 = time.perf_counter()
        answer = http.request(
            "GET",
            f"{sandbox.api_url}/{plural}?{params}",
            headers={**headers, **(extra_headers or {})},
        )
        body = answer.data
        out["ms"].append((time.perf_counter() - t0) * 1000)
        assert answer.status == 200, (answer.status, body[:300])
        data = json.loads(body)
        items = data[plural]
        out["calls"] += 1
        out["bytes"] += len(body)
        out["items"] += len(items)
        out["lines"] += sum(len(i.get("LineItems", [])) for i in items)
        if len(items) < PAGE_SIZE or page >= data["pagination"]["pageCount"]:
            return out
        page += 1


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[-(-len(ordered) * 95 // 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--credit-notes", type=int, default=1_000)
    parser.add_argument("--contacts", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2,000 invoices, one round")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.credit_notes, args.rounds = 2_000, 200, 1
    log = Path(tempfile.mkdtemp()) / "sandbox.log"
    process, sandbox = start_sandbox(log, "--orgs", "none")
    try:
        started = time.perf_counter()
        spec = {
            "name": "Bench Invoices Ltd",
            "n_contacts": args.contacts,
            "n_invoices": args.invoices,
            "n_credit_notes": args.credit_notes,
        }
        tenant = sandbox.seed([spec])[0]
        seconds = time.perf_counter() - started
        print(
            f"seeded {tenant['invoices']:,} invoices and {tenant['credit_notes']:,} credit notes "
            f"({tenant['contacts']:,} contacts) in {seconds:.2f} s (generation included)"
        )
        figure(BENCH, f"seed {tenant['invoices']:,} invoices", seconds, "s")
        sandbox.set_limits(per_minute=10**9, per_day=10**9, app_per_minute=10**9)
        token = sandbox.token_for(tenant["tenantId"])
        http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))
        headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "xero-tenant-id": tenant["tenantId"],
            "Accept": "application/json",
        }
        runs = {"Invoices": [], "CreditNotes": [], "where": [], "since": []}
        for _ in range(args.rounds):
            runs["Invoices"].append(read_all(http, sandbox, headers, "Invoices", {}))
            runs["CreditNotes"].append(read_all(http, sandbox, headers, "CreditNotes", {}))
            runs["where"].append(read_all(http, sandbox, headers, "Invoices", {"where": WHERE}))
            runs["since"].append(
                read_all(http, sandbox, headers, "Invoices", {}, {"If-Modified-Since": SINCE})
            )
        invoices, credit_notes = runs["Invoices"][0], runs["CreditNotes"][0]
        assert invoices["items"] == tenant["invoices"], invoices["items"]
        assert credit_notes["items"] == tenant["credit_notes"], credit_notes["items"]
        figure(BENCH, "invoices read", invoices["items"], "", f"= {tenant['invoices']:,}")
        figure(BENCH, "line items read", invoices["lines"])
        figure(
            BENCH,
            "calls for all invoices",
            invoices["calls"],
            "",
            f"= {-(-tenant['invoices'] // PAGE_SIZE)}",
        )
        figure(BENCH, "calls for all credit notes", credit_notes["calls"])
        figure(
            BENCH, "page of 1,000 invoices, size", invoices["bytes"] / invoices["calls"] / 1e6, "MB"
        )
        for name, label in (
            ("Invoices", "page of 1,000 invoices"),
            ("CreditNotes", "page of 1,000 credit notes"),
            ("where", "invoices page, where type and date"),
            ("since", "invoices page, If-Modified-Since"),
        ):
            timings = [ms for run in runs[name] for ms in run["ms"]]
            target = TARGET_PAGE_MS if name == "Invoices" else ""
            figure(BENCH, f"{label} p50", statistics.median(timings), "ms", target)
            figure(BENCH, f"{label} p95", p95(timings), "ms")
        print(
            f"where {WHERE!r}: {runs['where'][0]['items']:,} invoices in "
            f"{runs['where'][0]['calls']} calls; If-Modified-Since {SINCE}: "
            f"{runs['since'][0]['items']:,} in {runs['since'][0]['calls']} calls"
        )
        total_seconds = sum(invoices["ms"]) / 1000
        figure(BENCH, "all invoices read in", total_seconds, "s")
        figure(BENCH, "sandbox RSS, seeded and read", rss_mb(process.pid), "MB")
    finally:
        stop_sandbox(process)


if __name__ == "__main__":
    main()
