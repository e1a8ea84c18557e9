"""Bench: the staff invoice list at 10,000 invoices: first page, a deep page, the status and
Xero filters, and searches by number, title and contact, through the whole Django stack.

    .venv/bin/python bench/invoice_list.py [--invoices 10000] [--quick]

Uses its own database (bench_invoice_list), dropped at the end. Prints ms per request and
queries per request; --quick uses 2,000 invoices."""

import argparse
import datetime
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pages import own_database, time_pages  # noqa: E402

BENCH = "invoice_list"
TARGET_MS = "< 100 ms"
TARGET_QUERIES = "<= 9, any size"
DB = "bench_invoice_list"
STATUSES = ["draft", "sent", "sent", "partially_paid", "paid", "paid", "void"]
SYNC_STATES = ["synced"] * 8 + ["pending", "failed"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 invoices")
    args = parser.parse_args()
    if args.quick:
        args.invoices = 2_000
    with own_database(DB, redis_db=12):
        run(args.invoices)


def run(n: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from contacts.models import Contact
    from invoices.models import Invoice
    from platform_crm.models import Account, Membership, Role
    from xero_sync.models import ConnectionStatus, InvoiceSync, XeroConnection

    account = Account.objects.create(name="Bench Ltd", slug="bench", country="NZ")
    user = get_user_model().objects.create_user("bench", password="unused-password-1")
    Membership.objects.create(account=account, user=user, role=Role.STAFF)
    rnd = random.Random(7)
    started = time.perf_counter()
    contacts = Contact.objects.bulk_create(
        Contact(account=account, first_name=f"First{i}", last_name=f"Last{i}", company_name="")
        for i in range(max(n // 10, 1))
    )
    day = datetime.date(2026, 1, 1)
    invoices = []
    for i in range(n):
        total = Decimal(rnd.randint(1000, 500000)) / 100
        status = rnd.choice(STATUSES)
        invoices.append(
            Invoice(
                account=account,
                contact=rnd.choice(contacts),
                name=f"Job {i} {rnd.choice(['roof', 'drain', 'boiler', 'tap', 'heater'])}",
                number=f"INV-{i + 1:05d}",
                issue_date=day + datetime.timedelta(days=i % 300),
                due_date=day + datetime.timedelta(days=i % 300 + 20),
                currency="NZD",
                status=status,
                subtotal=total,
                total=total,
                amount_paid=total if status == "paid" else Decimal(0),
            )
        )
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    xero = XeroConnection.objects.create(
        account=account, tenant_id="bench-tenant", status=ConnectionStatus.CONNECTED
    )
    InvoiceSync.objects.bulk_create(
        (
            InvoiceSync(connection=xero, invoice=invoice, state=rnd.choice(SYNC_STATES))
            for invoice in invoices
            if invoice.status != "draft"
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{n:,} invoices created in {time.perf_counter() - started:.1f} s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    probe = invoices[n // 2]
    cases = [
        ("first page", {}),
        (f"page {n // 100:,}", {"page": n // 100}),
        ("status: paid", {"status": "paid"}),
        ("Xero: not sent", {"sync": "failed"}),
        ("search number", {"q": probe.number}),
        ("search title", {"q": "boiler"}),
        ("search contact", {"q": probe.contact.last_name}),
        ("search, no match", {"q": "zzzz"}),
    ]
    time_pages(
        BENCH,
        client,
        f"/a/{account.slug}/invoices/",
        cases,
        target_ms=TARGET_MS,
        target_queries=TARGET_QUERIES,
    )


if __name__ == "__main__":
    main()
