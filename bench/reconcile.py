"""Bench: the reconciliation of CRM and Xero (issue 20) at 10,000 invoices and 100,000 contacts,
against our own sandbox: what a full run and an incremental run cost in Xero calls (Xero allows
5,000 a day per organisation), time, peak memory and database queries, and that they find
exactly the drift made on purpose.

    .venv/bin/python bench/reconcile.py [--invoices 10000] [--contacts 100000] [--quick]

Setup (not timed, then dated a day back): its own database (bench_reconcile, dropped at the
end), its own Redis DB (11, flushed before and after; --redis-url to use another), its own
sandbox seeded with one org of N contacts and M invoices (with lines and payments, no credit
notes), every limit raised; the contacts imported into the CRM by the product's own import,
and a CRM twin of every sales invoice whose contact came in (lines, payments and the sync
records, as the push leaves them), written in bulk.

Timed, each in a child process of its own (its peak RSS is the run's): a full run (which must
find 0 differences: the two sides were made equal); then, after drift made on purpose with no
webhook (payments added in Xero to 1% of the open invoices, 1% of the contacts renamed in Xero,
0.1% renamed in the CRM with their outbox rows lost), an incremental run (which must find
exactly those), the contacts' push it queued (in process, as a worker would run it), and a
second incremental run (which must find 0: the first and the push repaired them). --quick:
1,000 invoices, 10,000 contacts. Figures only: nothing here asserts on time."""

import argparse
import math
import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._process import status_kb  # noqa: E402
from bench._setup import bench_world, connection_make  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "reconcile"
DB = "bench_reconcile"
REGION = "NZ"
LOTS = 10**9  # "never throttle"
DAY_LIMIT = 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    # Documents seeded in Xero: the seed adds bills and deleted drafts beside the sales
    # invoices, so 11,400 gives about 10,000 linked sales invoices (10,059 seen).
    parser.add_argument("--invoices", type=int, default=11_400)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--quick", action="store_true", help="1,000 documents, 10,000 contacts")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.contacts = 1_000, 10_000
    with bench_world(
        DB,
        args.redis_url,
        "bench-reconcile-",
        {"XERO_CALLS_PER_MINUTE": str(LOTS), "XERO_APP_CALLS_PER_MINUTE": str(LOTS)},
    ) as (sandbox, _scratch):
        run(sandbox, args)


# --- setup -----------------------------------------------------------------------------------
def run(sandbox, args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as db

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    spec = {
        "name": "Bench Ltd",
        "region": REGION,
        "n_contacts": args.contacts,
        "n_invoices": args.invoices,
        "n_credit_notes": 0,
    }
    tenant = sandbox.seed([spec])[0]
    tenant_id = tenant["tenantId"]
    sandbox.set_limits(per_minute=LOTS, per_day=LOTS, app_per_minute=LOTS, concurrent=LOTS)
    print(
        f"sandbox seeded with {args.contacts:,} contacts and {args.invoices:,} invoices "
        f"in {time.perf_counter() - started:.1f} s"
    )
    from platform_crm.models import Account
    from xero_sync.contacts import imports

    account = Account.objects.create(name="Bench Ltd", slug="bench", country=REGION)
    connection = connection_make(sandbox, account, tenant_id, tenant["name"])
    connection.payment_account_id = "bench"
    connection.save(update_fields=["payment_account_id"])
    started = time.perf_counter()
    imported = imports.import_start(connection=connection, preview=False, group_ids=[], user=None)
    imported = imports.import_run(imported.pk)
    print(f"contacts imported ({imported.status}) in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    twins = invoice_twins_make(sandbox, connection)
    print(f"{twins:,} CRM invoices made as Xero's twins in {time.perf_counter() - started:.1f} s")
    settle()
    with db.cursor() as cursor:  # a CRM in use has statistics; autovacuum keeps them
        cursor.execute("VACUUM ANALYZE")

    results = {}
    context = multiprocessing.get_context("spawn")
    sandbox.clear_requests()
    with context.Pool(1) as pool:
        results["full"] = pool.apply(run_in_child, (connection.pk, True))
    results["full"]["calls"] = api_calls(sandbox)
    made = drift_make(sandbox, connection)
    print(f"drift made on purpose: {made}")
    for name in ("incremental", "incremental again"):
        sandbox.clear_requests()
        with context.Pool(1) as pool:
            results[name] = pool.apply(run_in_child, (connection.pk, False))
        results[name]["calls"] = api_calls(sandbox)
        if name == "incremental":
            results["outbox push"] = outbox_push(sandbox, connection.pk)
    report(args, twins, made, results)


def settle() -> None:
    """The CRM as it stands a day after set-up: nothing changed within the last run's overlap
    (an incremental run reads by id what the CRM changed since the run before)."""
    from datetime import timedelta

    from django.utils import timezone

    from contacts.models import Contact
    from invoices.models import Invoice

    yesterday = timezone.now() - timedelta(days=1)
    Contact.objects.update(updated_at=yesterday)
    Invoice.objects.update(updated_at=yesterday)


def invoice_twins_make(sandbox, connection) -> int:
    """A CRM twin of every Xero sales invoice whose contact was imported, as the push leaves
    them: same number, status, totals, lines and payments, linked both ways."""
    from django.utils import timezone

    from invoices.models import Invoice, InvoiceLine, InvoiceStatus, Payment
    from xero_sync.inbound import normalise
    from xero_sync.models import InvoiceSync, InvoiceSyncState, PaymentSync, XeroContact

    statuses = {
        "DRAFT": InvoiceStatus.DRAFT,
        "SUBMITTED": InvoiceStatus.DRAFT,
        "AUTHORISED": InvoiceStatus.SENT,
        "PAID": InvoiceStatus.PAID,
        "VOIDED": InvoiceStatus.VOID,
        "DELETED": InvoiceStatus.VOID,
    }
    links = dict(XeroContact.objects.values_list("xero_contact_id", "contact_id"))
    account = connection.account
    invoices, lines, payments, xero_payments = [], [], [], []
    for raw in sandbox.invoices(connection.tenant_id):  # the control API: not in the log
        contact_id = links.get(raw["Contact"]["ContactID"])
        if raw["Type"] != "ACCREC" or contact_id is None:
            continue
        status = statuses[raw["Status"]]
        live = [p for p in raw.get("Payments") or [] if p.get("Status") != "DELETED"]
        if status == InvoiceStatus.SENT and live:
            status = InvoiceStatus.PARTIALLY_PAID
        invoice = Invoice(
            account=account,
            contact_id=contact_id,
            number=raw["InvoiceNumber"],
            issue_date=normalise.day(raw["Date"]),
            currency=raw["CurrencyCode"],
            status=status,
            subtotal=normalise.decimal(raw["SubTotal"], max_digits=14, places=2),
            total_tax=normalise.decimal(raw["TotalTax"], max_digits=14, places=2),
            total=normalise.decimal(raw["Total"], max_digits=14, places=2),
            amount_paid=normalise.decimal(raw["AmountPaid"], max_digits=14, places=2),
        )
        invoices.append((invoice, raw))
    Invoice.objects.bulk_create([i for i, _ in invoices], batch_size=2000)
    now = timezone.now()
    syncs = []
    for invoice, raw in invoices:
        for position, line in enumerate(raw.get("LineItems") or []):
            lines.append(
                InvoiceLine(
                    invoice=invoice,
                    position=position,
                    description=line.get("Description", ""),
                    quantity=normalise.decimal(line.get("Quantity", 1), max_digits=12, places=4),
                    unit_price=normalise.decimal(line["UnitAmount"], max_digits=14, places=4),
                    line_amount=normalise.decimal(line["LineAmount"], max_digits=14, places=2),
                    tax_amount=normalise.decimal(line.get("TaxAmount", 0), max_digits=14, places=2),
                )
            )
        syncs.append(
            InvoiceSync(
                connection=connection,
                invoice=invoice,
                state=InvoiceSyncState.SYNCED,
                xero_invoice_id=raw["InvoiceID"],
                xero_status=raw["Status"],
                pushed_version=1,
                synced_at=now,
            )
        )
        for paid in raw.get("Payments") or []:
            if paid.get("Status") == "DELETED":
                continue
            payment = Payment(
                invoice=invoice,
                amount=normalise.decimal(paid["Amount"], max_digits=14, places=2),
                date=normalise.day(paid["Date"]),
            )
            payments.append(payment)
            xero_payments.append(paid["PaymentID"])
    InvoiceLine.objects.bulk_create(lines, batch_size=5000)
    Payment.objects.bulk_create(payments, batch_size=5000)
    InvoiceSync.objects.bulk_create(syncs, batch_size=2000)
    by_invoice = {s.invoice_id: s for s in syncs}
    PaymentSync.objects.bulk_create(
        [
            PaymentSync(
                invoice_sync=by_invoice[p.invoice_id], payment_id=p.pk, xero_payment_id=xero_id
            )
            for p, xero_id in zip(payments, xero_payments, strict=True)
        ],
        batch_size=5000,
    )
    return len(invoices)


def drift_make(sandbox, connection) -> dict[str, int]:
    """With no webhook: payments in Xero on 1% of the open invoices, 1% of the linked contacts
    renamed in Xero, 0.1% renamed in the CRM."""
    from contacts.models import Contact
    from contacts.services import contact_update
    from xero_sync.models import ContactSync, InvoiceSync, XeroContact

    rnd = random.Random(20)
    tenant = connection.tenant_id
    open_ids = list(
        InvoiceSync.objects.filter(xero_status="AUTHORISED").values_list(
            "xero_invoice_id", flat=True
        )
    )
    links = list(XeroContact.objects.values_list("xero_contact_id", "contact_id"))
    paid = rnd.sample(open_ids, max(1, len(open_ids) // 100))
    for invoice_id in paid:
        sandbox.pay_invoice(tenant, invoice_id, amount="1.00", quiet=True)
    picked = rnd.sample(links, max(2, len(links) // 100 + len(links) // 1000))
    in_xero, in_crm = picked[: len(links) // 100 or 1], picked[len(links) // 100 or 1 :]
    for n, (xero_id, _) in enumerate(in_xero):
        sandbox.edit_contact(tenant, xero_id, quiet=True, Name=f"Renamed In Xero {n} Ltd")
    for n, contact in enumerate(Contact.objects.filter(pk__in=[pk for _, pk in in_crm])):
        contact_update(contact=contact, company_name=f"Renamed In The CRM {n} Ltd")
    # Their pushes lost with their outbox rows: the reconciliation queues them again.
    ContactSync.objects.filter(contact_id__in=[pk for _, pk in in_crm]).delete()
    return {
        "invoices paid in Xero": len(paid),
        "contacts renamed in Xero": len(in_xero),
        "contacts renamed in the CRM": len(in_crm),
    }


def outbox_push(sandbox, connection_id: int) -> dict:
    """The contacts' push the first incremental run queued (a worker's job; here in process):
    the CRM's renames reach Xero through the outbox, not through the run."""
    from xero_sync.contacts.push import contacts_push

    sandbox.clear_requests()
    started = time.perf_counter()
    pushed = contacts_push(connection_id)
    return {
        "seconds": time.perf_counter() - started,
        "synced": pushed.synced,
        "failed": pushed.failed,
        "calls": api_calls(sandbox),
    }


def api_calls(sandbox) -> Counter:
    return Counter(
        f"{r['method']} {r['path'].rsplit('/', 1)[-1]}"
        for r in sandbox.requests()
        if "/api.xro/" in r["path"]
    )


# --- one run, in a process of its own ---------------------------------------------------------


def run_in_child(connection_id: int, full: bool) -> dict:
    import django

    django.setup()
    from django.db import connection as db

    from xero_sync.models import XeroConnection
    from xero_sync.reconcile.run import reconciliation_run, reconciliation_start

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    connection = XeroConnection.objects.select_related("account").get(pk=connection_id)
    rss_before = status_kb("VmRSS")
    with db.execute_wrapper(count):
        started = time.perf_counter()
        run = reconciliation_start(connection=connection, full=full)  # its task: no worker
        run = reconciliation_run(run.pk)
        seconds = time.perf_counter() - started
    assert run is not None
    return {
        "seconds": seconds,
        "queries": queries,
        "rss_before_kb": rss_before,
        "rss_peak_kb": status_kb("VmHWM"),
        "status": run.status,
        "full": run.full,
        "invoices_read": run.invoices_read,
        "contacts_read": run.contacts_read,
        "differences": run.differences,
        "objects": run.found.values("kind", "object_id").distinct().count(),
        "by_field": dict(Counter(run.found.values_list("kind", "field"))),
        "repaired": run.repaired,
        "left": run.left,
        "xero_calls": run.xero_calls,
    }


# --- figures -----------------------------------------------------------------------------------
def report(args, twins: int, made: dict[str, int], results: dict) -> None:
    expected = sum(made.values())
    push = results.pop("outbox push")
    print()
    for name, r in results.items():
        calls = sum(r["calls"].values())
        print(
            f"{name} run: {r['status']}, {'full' if r['full'] else 'incremental'}, "
            f"{r['seconds']:.1f} s; Xero calls {calls} (sandbox log; the run counted "
            f"{r['xero_calls']}) {dict(r['calls'])}"
        )
        print(
            f"  read {r['invoices_read']:,} invoices and {r['contacts_read']:,} contacts; "
            f"differences {r['differences']} on {r['objects']} records "
            f"({r['repaired']} repaired, {r['left']} left) {r['by_field']}"
        )
        print(
            f"  queries {r['queries']:,}; peak RSS {r['rss_peak_kb'] / 1024:.0f} MiB "
            f"({r['rss_before_kb'] / 1024:.0f} MiB before)"
        )
    print(
        f"outbox push after the incremental run: {push['synced']} synced, {push['failed']} "
        f"failed, {push['seconds']:.1f} s; Xero calls {dict(push['calls'])}"
    )
    full, inc, again = results["full"], results["incremental"], results["incremental again"]
    pages = math.ceil(twins / 1000) + math.ceil(args.contacts / 1000)
    full_calls, inc_calls = sum(full["calls"].values()), sum(inc["calls"].values())
    size = f"{twins:,} invoices, {args.contacts:,} contacts"
    figure(BENCH, f"full run, {size}", full["seconds"], "s")
    figure(BENCH, "full run: Xero calls", full_calls, "", f"~ {pages} (a page of 1,000 each)")
    figure(BENCH, "full run: queries", full["queries"], "")
    figure(BENCH, "full run: peak RSS", full["rss_peak_kb"] / 1024, "MiB", "< 500 MiB")
    figure(BENCH, "full run: differences", full["differences"], "", "= 0")
    figure(BENCH, f"incremental run after {expected} changes", inc["seconds"], "s")
    figure(BENCH, "incremental run: Xero calls", inc_calls, "", "< 10")
    figure(BENCH, "incremental run: queries", inc["queries"], "")
    figure(BENCH, "incremental run: peak RSS", inc["rss_peak_kb"] / 1024, "MiB")
    figure(BENCH, "incremental run: records found apart", inc["objects"], "", f"= {expected}")
    figure(
        BENCH,
        "outbox push of the CRM's renames: synced",
        push["synced"],
        "",
        f"= {made['contacts renamed in the CRM']}",
    )
    figure(BENCH, "outbox push: Xero calls", sum(push["calls"].values()), "")
    figure(BENCH, "second incremental run: differences", again["differences"], "", "= 0")
    # The dearest day is the full run's, against Xero's 5,000 calls a day; a week is one full
    # run and six incremental ones.
    figure(BENCH, "Xero calls on the full run's day", full_calls, "", f"< {DAY_LIMIT:,} (a day)")
    figure(BENCH, "Xero calls a week (1 full + 6 incremental)", full_calls + 6 * inc_calls, "")


if __name__ == "__main__":
    main()
