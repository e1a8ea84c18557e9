"""Writes on the Xero connection: connecting, choosing, disconnecting, losing and regaining the
grant, inactivity. Views, tasks and beat jobs call these and nothing else of substance."""

import logging
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins
from platform_crm.models import Account

from . import invoice_sync, tokens
from .client import LedgerAccount, Tenant, XeroClient
from .contact_import import import_resume_waiting
from .errors import AuthLost, NotFound, XeroError
from .models import (
    HOLDING_STATUSES,
    ConnectionStatus,
    InvoiceSync,
    InvoiceSyncState,
    XeroConnection,
)

log = logging.getLogger(__name__)


class OrganisationTaken(Exception):
    """The organisation is already connected to another Platform account."""


class WrongOrganisation(Exception):
    """A reconnect chose a different organisation than the one this account's data belongs to."""


def connection_for(account: Account) -> XeroConnection:
    connection, _ = XeroConnection.objects.get_or_create(account=account)
    return connection


def connection_record_activity(connection: XeroConnection) -> None:
    """Activity is a successful Xero call (recorded by the client) or an admin action on the
    integration (recorded here). Sixty days without either disconnects the integration."""
    now = timezone.now()
    XeroConnection.objects.filter(pk=connection.pk).update(
        last_activity_at=now, inactivity_warning_sent_at=None
    )
    connection.last_activity_at, connection.inactivity_warning_sent_at = now, None


def _set_status(connection: XeroConnection, status: str, **fields) -> None:
    connection.status = status
    connection.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(connection, name, value)


def connection_authorised(
    *, account: Account, user, token_set: tokens.TokenSet
) -> tuple[XeroConnection, list[Tenant]]:
    """The code was exchanged: keep the tokens and find the organisations just authorised."""
    connection = connection_for(account)
    tokens.connection_store_tokens(connection, token_set)
    connection.auth_event_id = token_set.auth_event_id
    connection.xero_user_id = token_set.xero_user_id
    connection.connected_by = user
    connection.save()
    tenants = XeroClient(connection).connections(auth_event_id=connection.auth_event_id)
    tenants = [t for t in tenants if t.tenant_type in ("ORGANISATION", "")]
    _set_status(connection, ConnectionStatus.CHOOSING_ORGANISATION)
    connection.save(update_fields=["status", "status_changed_at"])
    return connection, tenants


def connection_choose_organisation(
    *, connection: XeroConnection, tenant: Tenant, others: list[Tenant]
) -> XeroConnection:
    """Bind the connection to one organisation; release the others authorised alongside it."""
    # Once set up with an organisation, the account's contacts and invoices are linked to it;
    # a reconnect must choose the same one.
    if connection.payment_account_id and connection.tenant_id != tenant.tenant_id:
        raise WrongOrganisation(connection.tenant_name)
    held_elsewhere = (
        XeroConnection.objects.filter(tenant_id=tenant.tenant_id, status__in=HOLDING_STATUSES)
        .exclude(pk=connection.pk)
        .exists()
    )
    if held_elsewhere:
        raise OrganisationTaken(tenant.tenant_name)
    same_org = connection.tenant_id == tenant.tenant_id and bool(connection.payment_account_id)
    connection.tenant_id = tenant.tenant_id
    connection.tenant_name = tenant.tenant_name
    connection.xero_connection_id = tenant.connection_id
    connection.connected_at = timezone.now()
    connection.last_error = ""
    connection.needs_reconnect_emailed_at = None
    # A reconnect to the organisation it had keeps the chosen payment account.
    _set_status(
        connection,
        ConnectionStatus.CONNECTED if same_org else ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT,
    )
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as error:  # another account took it at the same moment
        raise OrganisationTaken(tenant.tenant_name) from error
    connection_record_activity(connection)
    if connection.status == ConnectionStatus.CONNECTED:
        # Work interrupted by the lost connection goes on.
        import_resume_waiting(connection)
        invoice_sync.invoices_resume_waiting(connection)
    client = XeroClient(connection)
    for other in others:
        if other.tenant_id != tenant.tenant_id and not _held_by_any_account(other.tenant_id):
            try:
                client.delete_connection(other.connection_id)
            except XeroError as error:  # not fatal: the admin can remove it in Xero
                log.warning("could not release unchosen organisation: %s", error.message)
    return connection


def _held_by_any_account(tenant_id: str) -> bool:
    return XeroConnection.objects.filter(tenant_id=tenant_id, status__in=HOLDING_STATUSES).exists()


def _by_code(accounts) -> list[LedgerAccount]:
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
    if connection.status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT:
        _set_status(connection, ConnectionStatus.CONNECTED)
    connection.save()
    connection_record_activity(connection)
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
    connection.save(update_fields=["sales_account_code"])
    connection_record_activity(connection)
    return connection


def invoice_syncs_retry_failed(*, account: Account, cause: str) -> int:
    """Retry every failed invoice sync of one cause (after the admin fixed it); returns how
    many were queued. Each push goes after commit, one task per invoice."""
    failed = InvoiceSync.objects.filter(
        invoice__account=account, state=InvoiceSyncState.FAILED, error_cause=cause
    )
    with transaction.atomic():
        syncs = list(failed)
        for sync in syncs:
            invoice_sync.invoice_sync_retry(sync)
    return len(syncs)


def _grant_shared(connection: XeroConnection) -> bool:
    """Revoking a grant removes every connection its Xero user made for this app, so a grant is
    only revoked when no other Platform account relies on that user's connections."""
    if not connection.xero_user_id:
        return True  # unknown user: deleting the connection alone is the safe choice
    return (
        XeroConnection.objects.filter(xero_user_id=connection.xero_user_id)
        .exclude(pk=connection.pk)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .exists()
    )


def connection_disconnect(*, connection: XeroConnection, reason: str = "") -> None:
    """Delete the connection at Xero and revoke the grant; keep local data and links."""
    if connection.has_tokens:
        # Already gone on Xero's side is as good as deleted.
        if connection.xero_connection_id:
            with suppress(AuthLost, NotFound):
                XeroClient(connection).delete_connection(connection.xero_connection_id)
        if not _grant_shared(connection):
            with suppress(AuthLost):
                tokens.token_revoke(connection)
    tokens.connection_wipe_tokens(connection)
    _set_status(connection, ConnectionStatus.DISCONNECTED, last_error=reason)
    connection.save()


# A refresh token older than this is refreshed by the daily job, well before Xero's 60 days.
TOKEN_KEEPALIVE_AGE = timedelta(days=45)


def connection_keep(connection: XeroConnection) -> None:
    """An admin asked to keep the connection: activity, and a real call so the grant is used."""
    XeroClient(connection).organisation()
    connection_record_activity(connection)


def _admin_page(connection: XeroConnection) -> str:
    return absolute_url(
        reverse("xero_sync:integrations", kwargs={"account_slug": connection.account.slug})
    )


def connections_disconnect_inactive() -> dict[str, int]:
    """Daily. After the inactivity limit: disconnect (at Xero too) and tell the admins; a week
    before: warn them once. Idle but not yet due: keep the refresh token alive, so the
    disconnect can still reach Xero. Running it twice sends nothing twice."""
    now = timezone.now()
    limit = timedelta(days=settings.XERO_INACTIVITY_DAYS)
    warn_after = limit - timedelta(days=settings.XERO_INACTIVITY_WARNING_DAYS)
    counts = {"warned": 0, "disconnected": 0, "kept_alive": 0}
    connected = XeroConnection.objects.filter(status=ConnectionStatus.CONNECTED)
    for pk in connected.values_list("pk", flat=True):
        with transaction.atomic():
            connection = (
                XeroConnection.objects.select_for_update(skip_locked=True)
                .select_related("account")
                .filter(pk=pk, status=ConnectionStatus.CONNECTED)
                .first()
            )
            if connection is None:
                continue  # another beat or worker holds it right now
            idle = now - (connection.last_activity_at or connection.connected_at or now)
            if idle >= limit:
                _disconnect_for_inactivity(connection, idle)
                counts["disconnected"] += 1
                continue
            if idle >= warn_after and connection.inactivity_warning_sent_at is None:
                connection.inactivity_warning_sent_at = now
                connection.save(update_fields=["inactivity_warning_sent_at"])
                left = (limit - idle).days
                email_account_admins(
                    account=connection.account,
                    subject=f"Xero will be disconnected from {connection.account.name} soon",
                    body=(
                        f"Platform CRM has not synced with Xero ({connection.tenant_name}) for "
                        f"{idle.days} days. It will disconnect in {left} days unless there is "
                        "activity. To keep it, press Keep connected on the integration page: "
                        f"{_admin_page(connection)}\n"
                    ),
                )
                counts["warned"] += 1
        obtained = connection.refresh_token_obtained_at
        if obtained is None or now - obtained >= TOKEN_KEEPALIVE_AGE:
            try:
                tokens.access_token_for(connection, force_refresh=True)
                counts["kept_alive"] += 1
            except XeroError as error:
                log.warning("token keep-alive failed: %s", error.message)
    return counts


def _disconnect_for_inactivity(connection: XeroConnection, idle: timedelta) -> None:
    reached_xero = True
    try:
        connection_disconnect(
            connection=connection,
            reason=f"Disconnected after {idle.days} days without activity.",
        )
    except XeroError:
        # Xero unreachable or the grant already dead: disconnect here regardless.
        reached_xero = False
        tokens.connection_wipe_tokens(connection)
        _set_status(
            connection,
            ConnectionStatus.DISCONNECTED,
            last_error=f"Disconnected after {idle.days} days without activity.",
        )
        connection.save()
    email_account_admins(
        account=connection.account,
        subject=f"Xero was disconnected from {connection.account.name}",
        body=(
            f"Platform CRM disconnected Xero ({connection.tenant_name}) after {idle.days} days "
            "without activity. Your data in the CRM and in Xero is untouched."
            + (
                ""
                if reached_xero
                else " (Xero could not be reached to remove the connection; "
                "you can remove Platform CRM under Connected apps in Xero.)"
            )
            + f"\n\nReconnect any time: {_admin_page(connection)}\n"
        ),
    )
