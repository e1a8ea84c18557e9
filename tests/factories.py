"""Factories and fixtures for our own data: accounts, users with roles, logged-in clients."""

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from contacts.services import contact_create
from platform_crm.models import Account, Membership, Role

_seq = itertools.count(1)


def account_create(*, name: str | None = None, country: str = "NZ") -> Account:
    n = next(_seq)
    name = name or f"Account {n}"
    return Account.objects.create(name=name, slug=f"acct-{n}", country=country)


def user_create(*, account: Account | None = None, role: Role = Role.STAFF, username=None):
    n = next(_seq)
    user = get_user_model().objects.create_user(
        username=username or f"user{n}", email=f"user{n}@example.com", password="pw"
    )
    if account is not None:
        Membership.objects.create(account=account, user=user, role=role)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def contact_make(account: Account, **fields):
    fields.setdefault("first_name", "Test")
    fields.setdefault("last_name", f"Person {next(_seq)}")
    return contact_create(account=account, **fields)


def tax_rate_make(account: Account, name: str | None = None, *components):
    from decimal import Decimal

    from taxes.services import tax_rate_create

    return tax_rate_create(
        account=account,
        name=name or f"Tax {next(_seq)}",
        components=list(components) or [("GST", Decimal(15), False)],
    )


def product_make(account: Account, **fields):
    from decimal import Decimal

    from invoices.services import product_create

    fields.setdefault("code", f"P-{next(_seq)}")
    fields.setdefault("name", "Part")
    fields.setdefault("unit_price", Decimal("12.50"))
    return product_create(account=account, **fields)


def invoice_make(account: Account, *, lines=None, issue: bool = False, **fields):
    """A draft invoice for a new contact with one $100 line (no tax unless `lines` says)."""
    import datetime
    from decimal import Decimal

    from invoices.services import LineInput, invoice_create, invoice_issue

    fields.setdefault("contact", contact_make(account))
    fields.setdefault("due_date", datetime.date.today() + datetime.timedelta(days=20))
    if lines is None:
        lines = [LineInput(description="Call-out", quantity=Decimal(1), unit_price=Decimal(100))]
    invoice = invoice_create(account=account, lines=lines, **fields)
    if issue:
        invoice_issue(invoice=invoice)
    return invoice


def payment_make(account: Account, amount="10.00"):
    from decimal import Decimal

    from invoices.services import payment_record

    return payment_record(invoice=invoice_make(account, issue=True), amount=Decimal(amount))


def contact_import_make(account: Account):
    from xero_sync.models import ContactImport, ImportStatus, XeroConnection

    connection, _ = XeroConnection.objects.get_or_create(account=account)
    return ContactImport.objects.create(connection=connection, status=ImportStatus.DONE)


def past_invoice_import_make(account: Account):
    import datetime

    from xero_sync.models import ImportStatus, PastInvoiceImport, XeroConnection

    connection, _ = XeroConnection.objects.get_or_create(account=account)
    return PastInvoiceImport.objects.create(
        connection=connection, status=ImportStatus.DONE, since=datetime.date(2026, 1, 1)
    )


@pytest.fixture
def account(db):
    return account_create(name="Kiwi Plumbing")


@pytest.fixture
def other_account(db):
    return account_create(name="Someone Else Ltd")


@pytest.fixture
def admin_user(account):
    return user_create(account=account, role=Role.ADMIN)


@pytest.fixture
def staff_user(account):
    return user_create(account=account, role=Role.STAFF)


@pytest.fixture
def outsider(other_account):
    """An admin, but of another account."""
    return user_create(account=other_account, role=Role.ADMIN)
