"""Bench: what a burst costs once Xero's webhooks for it come back (issue 19, "no reads of our
own writes").

    .venv/bin/python bench/own_writes.py [--quick] [--burst 500] [--contacts 10]

Setup (not measured): its own database (bench_own_writes, dropped at the end), its own Redis DB
(BENCH_REDIS_URL, default 1: flushed before and after), its own sandbox subprocess with one NZ
organisation under Xero's real limits, an account connected to it without a browser, GST 15%
mapped to OUTPUT2, and `contacts` CRM contacts Xero does not know yet.

The burst: `burst` invoices issued in one transaction, taking turns among the contacts, drained
here (the drain a worker runs, in this process), then every webhook event the sandbox emitted
for it (a CONTACT CREATE per contact, an INVOICE CREATE per invoice) handled as the webhook
task handles a delivery. Counts the Accounting API calls in the sandbox's log, by kind: the
writes, and any GET of a record the burst wrote (each one a read of our own write). Figures
only: nothing here asserts. --quick: a burst of 100 for 2 contacts."""

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench._setup import bench_world, connection_make, gst_mapped  # noqa: E402
from bench.figures import figure  # noqa: E402

BENCH = "own_writes"
DB = "bench_own_writes"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
API = "/api.xro/2.0"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=500, help="invoices in the burst")
    parser.add_argument("--contacts", type=int, default=10, help="new contacts they go to")
    parser.add_argument("--quick", action="store_true", help="a burst of 100 for 2 contacts")
    args = parser.parse_args()
    if args.quick:
        args.burst, args.contacts = 100, 2
    with bench_world(DB, REDIS_URL, "bench-own-writes-") as (sandbox, _):
        run(sandbox, args)


def run(sandbox, args) -> None:
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import transaction

    from bench.invoice_push import invoice_issue_one
    from contacts.services import contact_create
    from platform_crm.models import Account
    from xero_sync.invoices.drain import invoices_drain
    from xero_sync.models import InvoiceSync, InvoiceSyncState, WebhookEvent
    from xero_sync.webhooks.dispatch import delivery_process
    from xero_sync.webhooks.store import delivery_store

    call_command("migrate", verbosity=0)
    tenant = sandbox.seed([{"name": "Bench Own Writes Ltd", "region": "NZ", "n_contacts": 5}])[0]
    account = Account.objects.create(name="Bench Own Writes Ltd", slug="bench", country="NZ")
    connection = connection_make(sandbox, account, tenant["tenantId"], tenant["name"])
    gst = gst_mapped(connection)
    contacts = [
        contact_create(account=account, company_name=f"New Customer {i} Ltd")
        for i in range(args.contacts)
    ]
    with transaction.atomic():
        for i in range(args.burst):
            invoice_issue_one(account, gst, contacts[i % len(contacts)], i)
    before = len(sandbox.webhook_events())
    sandbox.clear_requests()
    print(f"B. a burst of {args.burst:,} invoices for {args.contacts} new contacts, drained")
    while InvoiceSync.objects.filter(state=InvoiceSyncState.PENDING).exists():
        drain = invoices_drain(connection.pk)
        if drain.retry_in:
            time.sleep(drain.retry_in)
    events = sandbox.webhook_events()[before:]
    delivery_process(delivery_store(payload(events)).pk)
    calls = sandbox.requests(path=f"{API}/*")
    kinds = Counter(f"{c['method']} {kind(c['path'])}" for c in calls)
    print(f"  webhook events for the burst: {dict(Counter(e['eventCategory'] for e in events))}")
    print(f"  handled as: {dict(Counter(WebhookEvent.objects.values_list('outcome', flat=True)))}")
    print(f"  Accounting API calls: {len(calls)} {dict(kinds)}")
    reads = sum(n for k, n in kinds.items() if k.startswith("GET ") and k.endswith("/{id}"))
    n = args.burst
    writes = 1 + -(-n // 50)  # one PUT /Contacts, then 50 invoices per POST /Invoices
    figure(
        BENCH,
        f"burst {n:,}, webhooks included: Accounting API calls",
        len(calls),
        "",
        f"= {writes}",
    )
    figure(BENCH, f"burst {n:,}: GETs of records we wrote", reads, "", "0")


def kind(path: str) -> str:
    parts = path.removeprefix(API).split("/")
    return "/".join(parts[:2] + (["{id}"] if len(parts) > 2 else []))


def payload(events: list) -> bytes:
    import json

    body = {"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "B"}
    return json.dumps(body).encode()


if __name__ == "__main__":
    main()
