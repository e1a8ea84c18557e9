"""Bench: the staff contact list at 100,000 contacts: first page, a deep page, and searches
by name, email and phone, through the whole Django stack (test client, real PostgreSQL).

    .venv/bin/python bench/contact_list.py [--contacts 100000] [--quick]

Uses its own database (bench_contact_list), dropped at the end. Prints ms per request and
queries per request; --quick uses 10,000 contacts."""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402

BENCH = "contact_list"
# A staff page should answer well under a tenth of a second at any list size; the query count
# must not depend on the size or the search at all (counted, so it does not drift).
TARGET_MS = "< 100 ms"
TARGET_QUERIES = "<= 9, any size"
DB = "bench_contact_list"
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 contacts")
    args = parser.parse_args()
    if args.quick:
        args.contacts = 10_000
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')
        conn.execute(f'CREATE DATABASE "{DB}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="platform_crm.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        DJANGO_ALLOWED_HOSTS="localhost",
        REDIS_URL="redis://127.0.0.1:6379/12",
    )
    try:
        run(args.contacts)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')


def run(n: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from contacts.models import Contact
    from platform_crm.models import Account, Membership, Role

    setup_test_environment()  # responses carry their template context (the match count)
    call_command("migrate", verbosity=0)
    account = Account.objects.create(name="Bench Ltd", slug="bench", country="NZ")
    user = get_user_model().objects.create_user("bench", password="unused-password-1")
    Membership.objects.create(account=account, user=user, role=Role.STAFF)
    rnd = random.Random(1)
    syllables = ["ka", "to", "ri", "ne", "mo", "ha", "li", "su", "wa", "pe", "an", "el", "or"]

    def word() -> str:
        return "".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4))).capitalize()

    domains = ["example.com", "mail.example", "company.example", "xtra.example"]
    started = time.perf_counter()
    contacts = []
    for i in range(n):
        first, last = word(), word()
        contacts.append(
            Contact(
                account=account,
                first_name=first,
                last_name=last,
                company_name=f"{word()} Ltd" if i % 3 == 0 else "",
                email=f"{first}.{last}{i}@{rnd.choice(domains)}".lower(),
                phone=f"021 {i:07d}",
                phone_e164=f"+6421{i:07d}",
            )
        )
    Contact.objects.bulk_create(contacts, batch_size=5000)
    probe = contacts[n // 2]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    print(f"{n:,} contacts created in {time.perf_counter() - started:.1f} s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/a/{account.slug}/contacts/"
    cases = [
        ("first page", {}),
        (f"page {n // 100:,}", {"page": n // 100}),
        ("search name", {"q": probe.last_name}),
        ("search email", {"q": probe.email.split("@")[0]}),
        ("search phone", {"q": f"+64 21 {probe.phone[4:7]} {probe.phone[7:]}"}),
        ("search, no match", {"q": "zzzz"}),
    ]
    print(f"{'request':18} {'p50 ms':>8} {'max ms':>8} {'queries':>8} {'matches':>8}")
    figures = []  # reported after the table, which stays in one piece
    for label, params in cases:
        matches = client.get(url, params).context["page"].paginator.count  # and warm
        times = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(10):
                t = time.perf_counter()
                assert client.get(url, params).status_code == 200
                times.append((time.perf_counter() - t) * 1000)
        print(
            f"{label:18} {statistics.median(times):8.1f} {max(times):8.1f} "
            f"{len(queries) // 10:8d} {matches:8,d}"
        )
        figures.append((label, statistics.median(times), len(queries) // 10))
    for label, p50, _ in figures:
        figure(BENCH, f"{label} p50", p50, "ms", TARGET_MS)
    figure(BENCH, "queries per request (most)", max(q for *_, q in figures), "", TARGET_QUERIES)


if __name__ == "__main__":
    main()
