"""Demo data for development: two accounts, an admin and a staff user, the platform superuser
(`ops`), contacts, tax rates and a few invoices (a draft, a sent one and a partly paid one).

The contacts are the ones the Xero sandbox's demo organisation deliberately collides with (by
email or by phone only), so the contact import has something to match.
"""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from contacts.models import Contact
from contacts.services import contact_create
from invoices.models import Invoice
from invoices.services import LineInput, invoice_create, invoice_issue, payment_record
from platform_crm.models import Account, Membership, Role
from taxes.models import TaxComponent, TaxRate

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105  (development demo data only)

DEMO_USERS = [
    # username, email, {account slug: role}
    ("admin", "admin@kiwi-plumbing.example", {"kiwi-plumbing": Role.ADMIN, "harbour": Role.STAFF}),
    ("staff", "staff@kiwi-plumbing.example", {"kiwi-plumbing": Role.STAFF}),
    ("harbour-admin", "admin@harbour.example", {"harbour": Role.ADMIN}),
]
# The platform's own operator: a superuser for /admin/ and /ops/health/, member of no account.
DEMO_SUPERUSER = ("ops", "ops@platform-crm.example")

DEMO_ACCOUNTS = [
    ("kiwi-plumbing", "Kiwi Plumbing Ltd", "NZ", "NZD"),
    ("harbour", "Harbour Electrical Ltd", "NZ", "NZD"),
]

DEMO_CONTACTS = [
    ("Aroha", "Ngata", "", "aroha.ngata@example.co.nz", "+64 21 555 0101"),
    ("Ben", "Carter", "", "ben.carter@example.com", "021 555 0102"),
    ("Chloe", "Wu", "Wu Design", "chloe@wu-design.example", "09 555 0103"),
    ("Daniel", "Smith", "", "dan.smith@example.org", "+64 27 555 0104"),
    ("Eva", "Müller", "", "eva.mueller@example.de", "+49 30 5550105"),
    ("Fetu", "Tuilagi", "", "fetu@example.ws", "021 555 0106"),
]

# The same person entered twice, as happens (staff typed her in again with her own address):
# with the Xero organisation's two contacts for her (Wu Design Studio by email, Chloe Wu by
# phone), the Possible duplicates page has her whole case to resolve.
DEMO_DUPLICATES = [
    ("Chloe", "Wu", "", "chloe.wu@mail.example", ""),
]

DEMO_TAX_RATES = [
    # name, [(component name, rate, compound)]. The first four have twins in the sandbox's
    # demo organisation; the last has none there, to show how an unmappable rate looks.
    ("GST 15%", [("GST", "15", False)]),
    ("Zero rated", [("GST", "0", False)]),
    ("GST + regional levy", [("GST", "15", False), ("Levy", "2", False)]),
    ("GST + compound levy", [("GST", "15", False), ("Levy", "2", True)]),
    ("Old GST 12.5%", [("GST", "12.5", False)]),
]

DEMO_INVOICES = [
    # title, contact email, tax rate name, [(description, quantity, unit price)], then what
    # happens to it: "draft", "sent" or a part payment.
    (
        "Bathroom leak",
        "aroha.ngata@example.co.nz",
        "GST 15%",
        [("Call-out", "1", "85"), ("Labour (hours)", "2.5", "95"), ("Tap washer", "4", "3.20")],
        "draft",
    ),
    (
        "Hot water cylinder",
        "ben.carter@example.com",
        "GST 15%",
        [("Cylinder, 180 L", "1", "1450"), ("Installation", "1", "620")],
        "sent",
    ),
    (
        "Office kitchen refit",
        "chloe@wu-design.example",
        "GST + regional levy",
        [("Sink and mixer", "1", "540"), ("Labour (hours)", "6", "95")],
        Decimal("500.00"),
    ),
]


def _demo_invoices_load(account: Account) -> None:
    today = datetime.date.today()
    for title, email, rate_name, lines, outcome in DEMO_INVOICES:
        if Invoice.objects.filter(account=account, name=title).exists():
            continue
        rate = TaxRate.objects.get(account=account, name=rate_name)
        invoice = invoice_create(
            account=account,
            contact=Contact.objects.get(account=account, email__iexact=email),
            name=title,
            issue_date=today,
            due_date=today + datetime.timedelta(days=20),
            lines=[
                LineInput(description=d, quantity=Decimal(q), unit_price=Decimal(u), tax_rate=rate)
                for d, q, u in lines
            ],
        )
        if outcome != "draft":
            invoice_issue(invoice=invoice)
        if isinstance(outcome, Decimal):
            payment_record(invoice=invoice, amount=outcome, date=today, reference="Deposit")


@transaction.atomic
def demo_data_load() -> list[tuple[str, str]]:
    """Create what is missing; running it twice changes nothing. Returns (username, role) rows."""
    accounts = {}
    for slug, name, country, currency in DEMO_ACCOUNTS:
        accounts[slug], _ = Account.objects.get_or_create(
            slug=slug, defaults={"name": name, "country": country, "currency": currency}
        )
    User = get_user_model()
    logins = []
    for username, email, roles in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        for slug, role in roles.items():
            Membership.objects.get_or_create(
                account=accounts[slug], user=user, defaults={"role": role}
            )
        logins.append(
            (username, ", ".join(f"{role.label} of {slug}" for slug, role in roles.items()))
        )
    username, email = DEMO_SUPERUSER
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username, email, DEMO_PASSWORD)
    logins.append((username, "platform superuser: /admin/ and /ops/health/"))

    kiwi = accounts["kiwi-plumbing"]
    for first, last, company, email, phone in [*DEMO_CONTACTS, *DEMO_DUPLICATES]:
        if not Contact.objects.filter(account=kiwi, email__iexact=email).exists():
            contact_create(
                account=kiwi,
                first_name=first,
                last_name=last,
                company_name=company,
                email=email,
                phone=phone,
            )
    for account in accounts.values():
        for name, components in DEMO_TAX_RATES:
            rate, created = TaxRate.objects.get_or_create(account=account, name=name)
            if created:
                TaxComponent.objects.bulk_create(
                    TaxComponent(
                        tax_rate=rate,
                        name=c_name,
                        rate=Decimal(c_rate),
                        is_compound=compound,
                        position=i,
                    )
                    for i, (c_name, c_rate, compound) in enumerate(components)
                )
    _demo_invoices_load(kiwi)
    return logins
