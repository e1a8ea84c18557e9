"""Shared by the staff-page benchmarks: a throwaway database of their own, and timing a page
through the whole Django stack (test client, real PostgreSQL) with its query count."""

import os
import random
import statistics
import time
from contextlib import contextmanager

import psycopg

from bench.figures import figure

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def own_database(name: str, redis_db: int):
    """Django set up on a fresh database `name`, dropped afterwards."""
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="platform_crm.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
        DJANGO_ALLOWED_HOSTS="localhost",
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # responses carry their template context (the match count)
    call_command("migrate", verbosity=0)
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


RUNS = 20  # per case, after a warm-up: enough for a p95 that is not simply the worst run


def percentile(times: list[float], pct: int) -> float:
    """The pct-th percentile of `times` (statistics' exclusive method, as p50 is the median)."""
    return statistics.quantiles(times, n=100)[pct - 1]


def time_pages(bench: str, client, url: str, cases, *, target_ms: str, target_queries: str):
    """Each case (label, GET params[, its own target]) RUNS times: prints a table, then reports
    p50 and queries; a case with a target of its own also reports its p95 against it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"{'request':22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'matches':>8}")
    figures = []  # reported after the table, which stays in one piece
    for label, params, *own_target in cases:
        matches = client.get(url, params).context["page"].paginator.count  # and warm
        times = []
        with CaptureQueriesContext(connection) as queries:
            for _ in range(RUNS):
                started = time.perf_counter()
                assert client.get(url, params).status_code == 200
                times.append((time.perf_counter() - started) * 1000)
        p50, p95 = statistics.median(times), percentile(times, 95)
        print(
            f"{label:22} {p50:8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{len(queries) // RUNS:8d} {matches:8,d}"
        )
        figures.append((label, p50, p95, len(queries) // RUNS, own_target))
    for label, p50, p95, _, own_target in figures:
        figure(bench, f"{label} p50", p50, "ms", own_target[0] if own_target else target_ms)
        if own_target:
            figure(bench, f"{label} p95", p95, "ms", own_target[0])
    figure(bench, "queries per request (most)", max(f[3] for f in figures), "", target_queries)


def contacts_seed(account, n: int) -> list:
    """`n` contacts of made-up people (a third with a company), each with its own email and
    phone, bulk-inserted and analysed; the same ones every run."""
    from django.db import connection

    from contacts.models import Contact

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
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    print(f"{n:,} contacts created in {time.perf_counter() - started:.1f} s")
    return contacts


def staff_client(*, slug: str = "bench"):
    """An account of its own and a logged-in test client of one of its staff."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from platform_crm.models import Account, Membership, Role

    account = Account.objects.create(name="Bench Ltd", slug=slug, country="NZ")
    user = get_user_model().objects.create_user("bench", password="unused-password-1")
    Membership.objects.create(account=account, user=user, role=Role.STAFF)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return account, client
