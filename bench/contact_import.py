"""Bench: the initial Xero contact import (issue 6) at 100,000 contacts, end to end, against
our own sandbox, compared with a raw PostgreSQL COPY of the rows it leaves behind.

    .venv/bin/python bench/contact_import.py [--contacts 100000] [--tracemalloc] [--quick]

Setup (not timed): its own database (bench_contact_import, migrated, dropped at the end), its
own Redis DB (13, flushed before and after), its own sandbox subprocess seeded with one org of
N contacts with every limit raised, and an account holding N/5 CRM contacts that match Xero
contacts (half by email written in another case, half by phone written in another format).

Timed: import_start + import_run, synchronously (no worker), in a child process of its own so
its peak memory is the import's. Prints contacts/s, Xero calls (from the sandbox's request
log), queries per 1,000 contacts, peak memory, the outcome counts, where the time went (HTTP
to Xero, PostgreSQL, our Python), and the time of a raw COPY of the same rows for comparison.
Figures only: nothing here asserts on time. --quick imports 10,000 contacts."""

import argparse
import io
import math
import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._process import status_kb  # noqa: E402
from bench._setup import bench_world, connection_make  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "contact_import"

DB = "bench_contact_import"
REDIS_URL = "redis://127.0.0.1:6379/13"
REGION = "NZ"
LOTS = 10**9  # "never throttle"
# Xero itself allows a page a second, 1,000 contacts/s: the import must not be slower than that.
TARGET_RATE = "> 1,000 /s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--profile", metavar="PATH", help="write cProfile stats of the import")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations during the import (slows it down)",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help=f"leave {DB} behind (to EXPLAIN queries)"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 contacts")
    args = parser.parse_args()
    if args.quick:
        args.contacts = 10_000

    with bench_world(
        DB,
        REDIS_URL,
        "bench-contact-import-",
        {"XERO_CALLS_PER_MINUTE": str(LOTS), "XERO_APP_CALLS_PER_MINUTE": str(LOTS)},
        keep_database=args.keep_database,
    ) as (sandbox, _scratch):
        run(sandbox, args)


# --- setup -----------------------------------------------------------------------------------
def run(sandbox, args) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    n = args.contacts
    started = time.perf_counter()
    tenant = sandbox.seed([{"name": "Bench Ltd", "region": REGION, "n_contacts": n}])[0]
    tenant_id = tenant["tenantId"]
    sandbox.set_limits(per_minute=LOTS, per_day=LOTS, app_per_minute=LOTS, concurrent=LOTS)
    seeded = time.perf_counter() - started
    print(f"sandbox seeded with {tenant['contacts']:,} contacts in {seeded:.1f} s")

    started = time.perf_counter()
    account, expected = crm_contacts_make(sandbox, tenant_id, n // 5)
    print(
        f"{n // 5:,} matching CRM contacts made in {time.perf_counter() - started:.1f} s "
        f"({expected['email']:,} by email, {expected['phone']:,} by phone)"
    )
    connection = connection_make(sandbox, account, tenant_id, tenant["name"])
    from django.db import connection as db

    with db.cursor() as cursor:  # a CRM in use has statistics; autovacuum keeps them
        cursor.execute("VACUUM ANALYZE")
    sandbox.clear_requests()

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        figures = pool.apply(import_in_child, (connection.pk, args.tracemalloc, args.profile))
    report(sandbox, n, figures, expected)


def crm_contacts_make(sandbox, tenant_id: str, count: int):
    """`count` CRM contacts, each matching exactly one Xero contact: half by email (in another
    case), half by phone (in another format, no email). Keys unique on the Xero side, so the
    expected outcome is exact."""
    import phonenumbers

    from contacts.models import Contact
    from platform_crm.models import Account
    from xero_sync.contacts.mapping import best_phone

    account = Account.objects.create(name="Bench Ltd", slug="bench", country=REGION)
    xero = sandbox.contacts(tenant_id)  # the control API: not rate limited, not in the log
    usable = [c for c in xero if c["ContactStatus"] == "ACTIVE" and not c.get("MergedToContactID")]
    email_count = Counter((c.get("EmailAddress") or "").strip().lower() for c in xero)
    phones = {c["ContactID"]: best_phone(c.get("Phones") or [], REGION) for c in xero}
    phone_count = Counter(e164 for _, e164 in phones.values())
    del xero
    by_email = [c for c in usable if (c.get("EmailAddress") or "").strip()]
    by_email = [c for c in by_email if email_count[c["EmailAddress"].strip().lower()] == 1]
    rnd = random.Random(6)
    email_picks = rnd.sample(by_email, min(count // 2, len(by_email)))
    taken = {c["ContactID"] for c in email_picks}
    by_phone = [
        c
        for c in usable
        if c["ContactID"] not in taken
        and phones[c["ContactID"]][1]
        and phone_count[phones[c["ContactID"]][1]] == 1
    ]
    phone_picks = rnd.sample(by_phone, min(count - len(email_picks), len(by_phone)))

    rows = []
    for c in email_picks:
        email = c["EmailAddress"].strip()
        rows.append(
            Contact(
                account=account,
                first_name=c.get("FirstName") or "",
                last_name=c.get("LastName") or "",
                email=email.upper() if email != email.upper() else email.lower(),
            )
        )
    for c in phone_picks:
        shown, e164 = phones[c["ContactID"]]
        number = phonenumbers.parse(e164)
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if phone == shown:
            phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        rows.append(
            Contact(
                account=account,
                first_name=c.get("FirstName") or "",
                last_name=c.get("LastName") or "",
                company_name="" if c.get("FirstName") else c.get("Name", ""),
                phone=phone,
                phone_e164=e164,
            )
        )
    Contact.objects.bulk_create(rows, batch_size=5000)
    return account, {"email": len(email_picks), "phone": len(phone_picks)}


# --- the import, in a process of its own ------------------------------------------------------
class Clock:
    """Seconds spent in HTTP to Xero and in PostgreSQL, per phase of the import."""

    def __init__(self) -> None:
        self.phase = "other"
        self.http: Counter = Counter()
        self.db: Counter = Counter()
        self.total: Counter = Counter()
        self.queries = 0
        self.kinds: Counter = Counter()  # seconds per kind of statement (its first words)
        self.kind_counts: Counter = Counter()
        self._http_depth = 0

    def timed_phase(self, name: str, fn):
        def wrapper(*args, **kwargs):
            outer, self.phase = self.phase, name
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total[name] += time.perf_counter() - started
                self.phase = outer

        return wrapper

    def timed_http(self, fn):
        def wrapper(*args, **kwargs):
            self._http_depth += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._http_depth -= 1
                if not self._http_depth:
                    self.http[self.phase] += time.perf_counter() - started

        return wrapper

    def timed_copy(self, fn):
        """psycopg's Cursor.copy (which Django's execute wrappers never see): one query each,
        timed from the COPY statement to its end."""
        clock = self

        def wrapper(*args, **kwargs):
            clock.queries += 1
            started = time.perf_counter()
            manager = fn(*args, **kwargs)

            class Timed:
                def __enter__(self):
                    return manager.__enter__()

                def __exit__(self, *exc):
                    try:
                        return manager.__exit__(*exc)
                    finally:
                        clock.count(str(args[1]), time.perf_counter() - started)

            return Timed()

        return wrapper

    def count(self, sql: str, seconds: float) -> None:
        self.db[self.phase] += seconds
        kind = " ".join(str(sql).split()[:4])[:60]
        self.kinds[kind] += seconds
        self.kind_counts[kind] += 1

    def timed_commit(self, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.count("COMMIT", time.perf_counter() - started)

        return wrapper

    def db_wrapper(self, execute, sql, params, many, context):
        self.queries += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count(sql, time.perf_counter() - started)


def import_in_child(connection_id: int, trace: bool, profile_path: str | None) -> dict:
    import cProfile
    import tracemalloc

    import django

    django.setup()
    import psycopg
    import urllib3
    from django.db import connection as db

    from xero_sync.client import XeroClient
    from xero_sync.contacts import imports
    from xero_sync.models import XeroConnection

    clock = Clock()
    # Instrumentation only: the product's functions, wrapped to be timed.
    XeroClient.contacts_page = clock.timed_phase("fetch", XeroClient.contacts_page)
    imports.page_apply = clock.timed_phase("apply", imports.page_apply)
    urllib3.PoolManager.urlopen = clock.timed_http(urllib3.PoolManager.urlopen)
    urllib3.response.HTTPResponse.read = clock.timed_http(urllib3.response.HTTPResponse.read)
    psycopg.Cursor.copy = clock.timed_copy(psycopg.Cursor.copy)

    connection = XeroConnection.objects.select_related("account").get(pk=connection_id)
    db.ensure_connection()
    db._commit = clock.timed_commit(db._commit)  # commits: PostgreSQL time, never a query
    rss_before = status_kb("VmRSS")
    if trace:
        tracemalloc.start()
    profiler = cProfile.Profile() if profile_path else None
    if profiler:
        profiler.enable()
    with db.execute_wrapper(clock.db_wrapper):
        started = time.perf_counter()
        run = imports.import_start(
            connection=connection,
            preview=False,
            group_ids=[],
            customers=True,
            suppliers=True,
            others=True,
            user=None,
        )  # outside a transaction: its task is sent at once, to a queue no worker reads
        run = imports.import_run(run.pk)
        seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile_path)
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    return {
        "seconds": seconds,
        "run_id": run.pk,
        "status": run.status,
        "queries": clock.queries,
        "http": dict(clock.http),
        "db": dict(clock.db),
        "kinds": [(k, clock.kind_counts[k], t) for k, t in clock.kinds.most_common(8)],
        "phase": dict(clock.total),
        "rss_before_kb": rss_before,
        "rss_peak_kb": status_kb("VmHWM"),
        "traced_peak": traced_peak,
    }


# --- figures -----------------------------------------------------------------------------------
def copy_seconds(tables: list[str]) -> tuple[float, float, int]:
    """(seconds to COPY the tables out, seconds to COPY them into fresh empty copies with all
    their indexes, bytes): a raw PostgreSQL baseline for writing the same rows."""
    out_s = in_s = 0.0
    size = 0
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}") as conn:
        for table in tables:
            buffer = io.BytesIO()
            started = time.perf_counter()
            with conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            out_s += time.perf_counter() - started
            size += buffer.tell()
            conn.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
            conn.commit()
            view = buffer.getbuffer()
            started = time.perf_counter()
            with conn.cursor().copy(f"COPY bench_copy_{table} FROM STDIN (FORMAT BINARY)") as copy:
                for offset in range(0, len(view), 1 << 20):
                    copy.write(view[offset : offset + (1 << 20)])
            conn.commit()
            in_s += time.perf_counter() - started
            del view
            conn.execute(f"DROP TABLE bench_copy_{table}")
            conn.commit()
    return out_s, in_s, size


def report(sandbox, n: int, figures: dict, expected: dict) -> None:
    from contacts.models import Contact, ContactChange
    from xero_sync.models import ContactImport, XeroCall, XeroContact

    run = ContactImport.objects.get(pk=figures["run_id"])
    seconds = figures["seconds"]
    calls = [r for r in sandbox.requests() if "/api.xro/" in r["path"]]
    by_path = Counter(
        "contact pages" if r["path"].rstrip("/").endswith("/Contacts") else r["path"] for r in calls
    )
    pages = by_path.get("contact pages", 0)

    contacts_rows = Contact.objects.count()
    out_s, in_s, size = copy_seconds(["contacts_contact"])
    all_tables = ["contacts_contact", "xero_sync_xerocontact", "contacts_contactchange"]
    all_out_s, all_in_s, all_size = copy_seconds(all_tables)

    print()
    print(
        f"import of {n:,} Xero contacts: {run.status}, {seconds:.1f} s, "
        f"{n / seconds:,.0f} contacts/s"
    )
    print(
        f"  outcomes: created {run.created:,}, by email {run.updated_by_email:,} "
        f"(expected {expected['email']:,}), by phone {run.updated_by_phone:,} "
        f"(expected {expected['phone']:,}), skipped {run.skipped:,}, "
        f"linked {run.updated_linked:,}, unchanged {run.unchanged:,}"
    )
    matched = (run.updated_by_email, run.updated_by_phone) == (expected["email"], expected["phone"])
    print(
        f"  Xero calls (sandbox log): {len(calls)} = {pages} contact pages "
        f"(ceil(N/1000) = {math.ceil(n / 1000)}) + {len(calls) - pages} other "
        f"{dict(by_path) if len(calls) != pages else ''}; XeroCall rows {XeroCall.objects.count()}"
    )
    print(
        f"  database queries (COPY included): {figures['queries']:,} in all, "
        f"{figures['queries'] / (n / 1000):.1f} per 1,000 contacts"
    )
    grown = (figures["rss_peak_kb"] - figures["rss_before_kb"]) / 1024
    line = (
        f"  memory of the importing process: peak RSS {figures['rss_peak_kb'] / 1024:.0f} MiB "
        f"({figures['rss_before_kb'] / 1024:.0f} MiB before the import, +{grown:.0f} MiB during it)"
    )
    if figures["traced_peak"] is not None:
        line += f"; tracemalloc peak {figures['traced_peak'] / 2**20:.0f} MiB"
    print(line)

    http, db, phase = Counter(figures["http"]), Counter(figures["db"]), figures["phase"]
    fetch, apply_ = phase.get("fetch", 0.0), phase.get("apply", 0.0)
    other = seconds - fetch - apply_
    print("  where the time went:")
    fetch_python = fetch - http["fetch"] - db["fetch"]
    print(
        f"    fetching pages   {fetch:7.2f} s: HTTP to Xero {http['fetch']:.2f} s, "
        f"PostgreSQL {db['fetch']:.2f} s, our Python (SDK, JSON) {fetch_python:.2f} s"
    )
    print(
        f"    applying pages   {apply_:7.2f} s: PostgreSQL {db['apply']:.2f} s, "
        f"our Python (mapping, matching) {apply_ - db['apply']:.2f} s"
    )
    print(
        f"    the rest         {other:7.2f} s: PostgreSQL {db['other']:.2f} s "
        f"(checkpoints, commits), Python {other - db['other'] - http['other']:.2f} s"
    )
    total_http = sum(http.values())
    print(
        f"    in all: waiting on Xero {total_http:.1f} s ({total_http / seconds:.0%}), "
        f"PostgreSQL {sum(db.values()):.1f} s ({sum(db.values()) / seconds:.0%}), "
        f"our Python {seconds - total_http - sum(db.values()):.1f} s"
    )
    print("  PostgreSQL time by statement (slowest first):")
    for kind, count, kind_seconds in figures["kinds"]:
        print(f"    {kind_seconds:6.2f} s {count:5d}x  {kind}")
    print(
        f"raw COPY of the final contacts table ({contacts_rows:,} rows, {size / 2**20:.1f} MiB, "
        f"all indexes): in {in_s:.2f} s (out {out_s:.2f} s)"
    )
    print(
        f"  import / COPY = {seconds / in_s:.1f}x; "
        f"without waiting on Xero {(seconds - total_http) / in_s:.1f}x"
    )
    links, changes = XeroContact.objects.count(), ContactChange.objects.count()
    print(
        f"raw COPY of everything the import wrote (contacts, {links:,} Xero links with payloads, "
        f"{changes:,} audit rows; {all_size / 2**20:.1f} MiB): in {all_in_s:.2f} s "
        f"(out {all_out_s:.2f} s); import / COPY = {seconds / all_in_s:.1f}x"
    )
    figures_report(n, run, seconds, calls, figures, seconds / in_s, matched)


def figures_report(n, run, seconds, calls, figures, copy_ratio, matched) -> None:
    figure(BENCH, f"import {n:,} contacts", seconds, "s")
    figure(BENCH, "contacts per second", n / seconds, "/s", TARGET_RATE)
    # One Xero call per page of 1,000 and nothing else: Xero allows 5,000 calls a day.
    figure(BENCH, "Xero API calls", len(calls), "", f"= {math.ceil(n / 1000)} (one a page)")
    figure(BENCH, "queries per 1,000 contacts", figures["queries"] / (n / 1000), "", "< 20")
    figure(BENCH, "peak RSS of the import", figures["rss_peak_kb"] / 1024, "MiB", "< 500 MiB")
    figure(BENCH, "import / raw COPY of contacts", copy_ratio, "x")
    figure(BENCH, "matches as expected", "yes" if matched else "NO", "", "yes")
    figure(BENCH, "status", run.status, "", "done")


if __name__ == "__main__":
    main()
