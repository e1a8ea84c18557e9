"""The organisation's chart of accounts as the connection uses it: which accounts can take
payments and sales, and the admin's choice of each."""

from collections.abc import Iterable

from ..client import LedgerAccount
from ..contacts import outbox as contact_outbox
from ..invoices import outbox as invoice_outbox
from .activity import connection_record_activity
from .models import ConnectionStatus, XeroConnection
from .services import connection_set_status


def _by_code(accounts: Iterable[LedgerAccount]) -> list[LedgerAccount]:
    return sorted(accounts, key=lambda a: (a.code or "~", a.name))


def payment_account_choices(accounts: list[LedgerAccount]) -> list[LedgerAccount]:
    """From the organisation's chart of accounts (XeroClient.ledger_accounts)."""
    return _by_code(a for a in accounts if a.can_take_payments)


def connection_choose_payment_account(
    *, connection: XeroConnection, account: LedgerAccount
) -> XeroConnection:
    if not account.can_take_payments:
        raise ValueError("That account cannot take payments.")
    connection.payment_account_id = account.account_id
    connection.payment_account_code = account.code
    connection.payment_account_name = account.name
    first_setup = connection.status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
    if first_setup:
        connection_set_status(connection, ConnectionStatus.CONNECTED)
    connection.save()
    connection_record_activity(connection)
    if first_setup:
        # Invoices changed while set-up was under way waited for it to finish.
        invoice_outbox.invoices_resume_waiting(connection)
        contact_outbox.contacts_resume_waiting(connection)
    return connection


# Xero account types whose accounts can be coded on a sales invoice line.
SALES_ACCOUNT_TYPES = frozenset({"REVENUE", "SALES", "OTHERINCOME"})


def can_take_sales(account: LedgerAccount) -> bool:
    # Invoice lines name their account by code, so an account without one cannot be used.
    return account.status == "ACTIVE" and account.type in SALES_ACCOUNT_TYPES and bool(account.code)


def sales_account_choices(accounts: list[LedgerAccount]) -> list[LedgerAccount]:
    """From the organisation's chart of accounts (XeroClient.ledger_accounts)."""
    return _by_code(a for a in accounts if can_take_sales(a))


def connection_choose_sales_account(
    *, connection: XeroConnection, account: LedgerAccount
) -> XeroConnection:
    """The account every invoice line is coded to from the next push on."""
    if not can_take_sales(account):
        raise ValueError(f"{account.code or account.name} is not an active sales account.")
    connection.sales_account_code = account.code
    connection.sales_account_name = account.name
    connection.save(update_fields=["sales_account_code", "sales_account_name"])
    connection_record_activity(connection)
    return connection


def connection_chart_read(*, connection: XeroConnection, accounts: list[LedgerAccount]) -> None:
    """The chart of accounts was just read from Xero: keep the sales account's name as it says
    (blank when the code is no longer an active sales account there)."""
    current = next(
        (a for a in sales_account_choices(accounts) if a.code == connection.sales_account_code),
        None,
    )
    name = current.name if current else ""
    if name != connection.sales_account_name:
        connection.sales_account_name = name
        XeroConnection.objects.filter(pk=connection.pk).update(sales_account_name=name)
