"""Bench: past sales invoices and credit notes brought in at connection (issue 16), end to end,
against our own sandbox: the preview, the import, and a re-run.

    .venv/bin/python bench/past_invoices.py [--invoices 10000] [--credit-notes 1000] [--quick]

Setup (not timed): its own database (bench_past_invoices, migrated, dropped at the end), its
own Redis DB (6, flushed before and after), its own sandbox subprocess seeded with one org
whose history holds about N sales invoices (and the bills Xero mixes in) and M credit notes
(most set against an invoice, some refunded, some unused, voided or draft) over 2,000 customers
with every limit raised, connected, GST mapped. No contact is in the CRM: the import brings
in the ones the invoices need.

Timed, each synchronously (no worker) in a child process of its own so its peak memory is
its own: the preview, the import, and the import again. Prints Xero calls (from the sandbox's
request log) against ceil(N / 1000) + ceil(M / 1000) pages with line items, time, invoices/s,
queries per 1,000 invoices, peak memory, the outcome counts (invoices and credit notes), and
what the re-run changed (nothing is the target). Figures only: nothing here asserts on time.
--quick brings in 1,000 invoices and 100 credit notes."""

import argparse
import math
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._process import status_kb  # noqa: E402
from bench._setup import bench_world, connection_make, gst_mapped  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "past_invoices"
DB = "bench_past_invoices"
REDIS_URL = "redis://127.0.0.1:6379/6"
LOTS = 10**9  # "never throttle"
SALES_SHARE = 0.9  # the sandbox's seeded history: about nine in ten documents are sales


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000, help="sales invoices, about")
    parser.add_argument("--credit-notes", type=int, default=1_000, help="credit notes seeded")
    parser.add_argument("--quick", action="store_true", help="1,000 invoices, 100 credit notes")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.credit_notes = 1_000, 100
    with bench_world(
        DB,
        REDIS_URL,
        "bench-past-invoices-",
        {"XERO_CALLS_PER_MINUTE": str(LOTS), "XERO_APP_CALLS_PER_MINUTE": str(LOTS)},
    ) as (sandbox, _scratch):
        run(sandbox, args.invoices, args.credit_notes)


def run(sandbox, wanted: int, credit_notes: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    tenant = sandbox.seed(
        [
            {
                "name": "Bench Books Ltd",
                "region": "NZ",
                "n_contacts": 2_000,
                "n_invoices": round(wanted / SALES_SHARE),
                "n_credit_notes": credit_notes,
                "seed": 16,
            }
        ]
    )[0]
    tenant_id = tenant["tenantId"]
    sandbox.set_limits(per_minute=LOTS, per_day=LOTS, app_per_minute=LOTS, concurrent=LOTS)
    sales = [i for i in sandbox.invoices(tenant_id) if i["Type"] == "ACCREC"]
    notes = [n for n in sandbox.credit_notes(tenant_id) if n["Type"] == "ACCRECCREDIT"]
    seeded = time.perf_counter() - started
    print(
        f"sandbox seeded with {len(sales):,} sales invoices and {len(notes):,} sales credit "
        f"notes in {seeded:.1f} s"
    )
    connection_id = books_connect(sandbox, tenant_id, tenant["name"])

    context = multiprocessing.get_context("spawn")
    results = {}
    for step in ("preview", "import", "re-run"):
        sandbox.clear_requests()
        with context.Pool(1) as pool:
            results[step] = pool.apply(run_in_child, (connection_id, step == "preview"))
        results[step]["calls"] = Counter(
            r["path"].rsplit("/", 1)[-1] for r in sandbox.requests() if "/api.xro/" in r["path"]
        )
        results[step]["writes"] = sum(
            1 for r in sandbox.requests() if "/api.xro/" in r["path"] and r["method"] != "GET"
        )
    report(len(sales), len(notes), results)


def books_connect(sandbox, tenant_id: str, name: str) -> int:
    from platform_crm.models import Account

    account = Account.objects.create(name=name, slug="bench", country="NZ")
    connection = connection_make(sandbox, account, tenant_id, name)
    gst_mapped(connection)
    return connection.pk


def run_in_child(connection_id: int, preview: bool) -> dict:
    import datetime

    import django

    django.setup()
    from django.db import connection as db

    from invoices.models import CreditNote, Invoice
    from xero_sync.invoices import past
    from xero_sync.models import XeroConnection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    connection = XeroConnection.objects.get(pk=connection_id)
    before = dict(Invoice.objects.values_list("pk", "updated_at"))
    notes_before = set(
        CreditNote.objects.values_list("pk", "refund_amount", "unallocated_amount", "total")
    )
    rss_before = status_kb("VmRSS")
    with db.execute_wrapper(count):
        started, cpu_started = time.perf_counter(), time.process_time()
        run = past.past_import_start(
            connection=connection, since=datetime.date(2000, 1, 1), preview=preview, user=None
        )  # outside a transaction: its task is sent at once, to a queue no worker reads
        run = past.past_import_run(run.pk)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    after = dict(Invoice.objects.values_list("pk", "updated_at"))
    notes_after = set(
        CreditNote.objects.values_list("pk", "refund_amount", "unallocated_amount", "total")
    )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "queries": queries,
        "status": run.status,
        "seen": run.seen,
        "brought_in": run.brought_in,
        "already_in": run.already_in,
        "skipped": run.skipped,
        "held": run.held,
        "totals": run.totals,
        "contacts_needed": run.contacts_needed_count,
        "changed": sum(1 for pk, at in after.items() if before.get(pk) != at),
        "credit_notes_seen": run.credit_notes_seen,
        "credit_notes_brought_in": run.credit_notes_brought_in,
        "credit_notes_already_in": run.credit_notes_already_in,
        "credit_notes_skipped": run.credit_notes_skipped,
        "credit_notes_held": run.credit_notes_held,
        "credit_notes_totals": run.credit_notes_totals,
        "credit_notes_changed": len(notes_after ^ notes_before),
        "rss_before_mib": rss_before / 1024,
        "rss_peak_mib": status_kb("VmHWM") / 1024,
    }


def report(n: int, m: int, results: dict) -> None:
    pages = math.ceil(n / past_page_size())
    note_pages = max(1, math.ceil(m / past_page_size()))
    for step, r in results.items():
        calls = r["calls"]
        print(
            f"\n{step}: {r['status']} in {r['seconds']:.1f} s; {r['seen']:,} seen, "
            f"{'would come in' if step == 'preview' else 'brought in'} {r['brought_in']:,}, "
            f"already in {r['already_in']:,}, skipped {r['skipped']:,}, held {r['held']:,}"
        )
        print(
            f"  credit notes: {r['credit_notes_seen']:,} seen, "
            f"{'would come in' if step == 'preview' else 'brought in'} "
            f"{r['credit_notes_brought_in']:,}, already in {r['credit_notes_already_in']:,}, "
            f"skipped {r['credit_notes_skipped']:,}, held {r['credit_notes_held']:,}"
        )
        print(f"  Xero calls: {dict(calls)}; writes to Xero {r['writes']}")
        if step == "preview":
            print(f"  total {r['totals']}; contacts needed {r['contacts_needed']:,}")
            print(f"  credit notes' total {r['credit_notes_totals']}")
        prefix = step
        figure(BENCH, f"{prefix} invoice pages", calls.get("Invoices", 0), "calls", f"= {pages}")
        figure(
            BENCH,
            f"{prefix} credit note pages",
            calls.get("CreditNotes", 0),
            "calls",
            f"= {note_pages}",
        )
        paged = calls.get("Invoices", 0) + calls.get("CreditNotes", 0)
        figure(BENCH, f"{prefix} other calls", sum(calls.values()) - paged)
        figure(BENCH, f"{prefix} credit notes brought in", r["credit_notes_brought_in"])
        figure(BENCH, f"{prefix} time", r["seconds"], "s")
        # Our process's own CPU time: on a shared machine, what the wall time cannot say.
        figure(BENCH, f"{prefix} CPU time (this process)", r["cpu_seconds"], "s")
        figure(BENCH, f"{prefix} rate", n / r["seconds"], "invoices/s")
        figure(BENCH, f"{prefix} queries per 1,000", r["queries"] / (n / 1000), "queries")
        figure(BENCH, f"{prefix} peak RSS", r["rss_peak_mib"], "MiB")
        figure(BENCH, f"{prefix} writes to Xero", r["writes"], "calls", "= 0")
    figure(BENCH, "re-run invoices changed", results["re-run"]["changed"], "", "= 0")
    figure(BENCH, "re-run brought in", results["re-run"]["brought_in"], "", "= 0")
    figure(
        BENCH, "re-run credit notes changed", results["re-run"]["credit_notes_changed"], "", "= 0"
    )
    figure(
        BENCH,
        "re-run credit notes brought in",
        results["re-run"]["credit_notes_brought_in"],
        "",
        "= 0",
    )


def past_page_size() -> int:
    from xero_sync.invoices.past import PAGE_SIZE

    return PAGE_SIZE


if __name__ == "__main__":
    main()
