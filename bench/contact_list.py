"""Bench: the staff contact list at 100,000 contacts: first page, a deep page, and searches
by name, email and phone, through the whole Django stack (test client, real PostgreSQL).

    .venv/bin/python bench/contact_list.py [--contacts 100000] [--quick]

Uses its own database (bench_contact_list), dropped at the end. Prints ms per request and
queries per request; --quick uses 10,000 contacts."""

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pages import own_database, time_pages  # noqa: E402

BENCH = "contact_list"
# A staff page should answer well under a tenth of a second at any list size; the query count
# must not depend on the size or the search at all (counted, so it does not drift).
TARGET_MS = "< 100 ms"
TARGET_QUERIES = "<= 9, any size"
DB = "bench_contact_list"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 contacts")
    args = parser.parse_args()
    if args.quick:
        args.contacts = 10_000
    with own_database(DB, redis_db=12):
        run(args.contacts)


def run(n: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from contacts.models import Contact
    from platform_crm.models import Account, Membership, Role

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
    time_pages(BENCH, client, url, cases, target_ms=TARGET_MS, target_queries=TARGET_QUERIES)


if __name__ == "__main__":
    main()
