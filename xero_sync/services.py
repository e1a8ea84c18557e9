"""Writes on the Xero connection: connecting, choosing, disconnecting, losing and regaining the
grant, inactivity. Views, tasks and beat jobs call these and nothing else of substance."""

import logging
import math
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins
from platform_crm.models import Account

from . import invoice_sync, token_vault, tokens
from .client import LedgerAccount, Tenant, XeroClient
from .contact_import import import_resume_waiting
from .errors import AuthLost, NotFound, XeroError
from .inactivity import connection_record_activity
from .models import (
    UNFINISHED_STATUSES,
    ConnectionStatus,
    InvoiceSync,
    InvoiceSyncState,
    XeroConnection,
)
from .selectors import tenant_ids_held_elsewhere

log = logging.getLogger(__name__)


class OrganisationTaken(Exception):
    """The organisation is already connected to another Platform account."""


class WrongOrganisation(Exception):
    """A reconnect was for other organisations than the one this account's data belongs to."""

    def __init__(self, linked: str, chosen: list[str]):
        super().__init__(linked)
        self.linked, self.chosen = linked, chosen


class NoOrganisation(Exception):
    """Xero's grant covers no organisation."""


def connection_for(account: Account) -> XeroConnection:
    connection, _ = XeroConnection.objects.get_or_create(account=account)
    return connection


def _set_status(connection: XeroConnection, status: str, **fields) -> None:
    connection.status = status
    connection.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(connection, name, value)


def _held_elsewhere(tenant_id: str, connection: XeroConnection) -> bool:
    return bool(tenant_ids_held_elsewhere(connection.account_id, [tenant_id]))


def connection_authorised(*, account: Account, user, token_set: tokens.TokenSet) -> XeroConnection:
    """The code was exchanged for a grant. Nothing is kept before it is known what the grant is
    for. Xero tokens belong to a grant, not to an organisation, and a refresh token is single
    use: a reconnect's grant for the wrong organisation must not replace the sign-in of the
    connection that works. So a grant for the organisation the account's data is linked to
    (or, on a first connection, for organisations no other account holds) is kept; any other
    is given back and the connection stays exactly as it was.

    Returns the connection: connected (a reconnect), choosing its payment account (one
    organisation) or choosing its organisation (several)."""
    connection = connection_for(account)
    grant = XeroClient(connection, grant=token_set)
    tenants = [
        t
        for t in grant.connections(auth_event_id=token_set.auth_event_id)
        if t.tenant_type in ("ORGANISATION", "")
    ]
    try:
        chosen = _organisation_for(connection, tenants)
        tokens.connection_store_tokens(connection, token_set)
        connection.auth_event_id = token_set.auth_event_id
        connection.xero_user_id = token_set.xero_user_id
        connection.connected_by = user
        if chosen is not None:
            return connection_choose_organisation(
                connection=connection, tenant=chosen, others=tenants
            )
    except (NoOrganisation, OrganisationTaken, WrongOrganisation):
        connection.refresh_from_db()  # what was set above was never saved
        _grant_give_back(grant, tenants, connection=connection, token_set=token_set)
        raise
    _set_status(connection, ConnectionStatus.CHOOSING_ORGANISATION)
    connection.save()
    return connection


def _organisation_for(connection: XeroConnection, tenants: list[Tenant]) -> Tenant | None:
    """The organisation a new grant connects, None when the admin must choose, or why none."""
    if not tenants:
        raise NoOrganisation()
    if connection.is_linked:
        linked = next((t for t in tenants if t.tenant_id == connection.tenant_id), None)
        if linked is None:
            raise WrongOrganisation(connection.tenant_name, [t.tenant_name for t in tenants])
        return linked
    if all(_held_elsewhere(t.tenant_id, connection) for t in tenants):
        raise OrganisationTaken(", ".join(t.tenant_name for t in tenants))
    return tenants[0] if len(tenants) == 1 else None


def _release(
    client: XeroClient, tenants: list[Tenant], *, connection: XeroConnection, keep: str = ""
) -> bool:
    """Delete at Xero the connections to these organisations, except `keep` and those another
    account holds. False when Xero could not be reached for one (the admin can remove it in
    Xero)."""
    reached = True
    for tenant in tenants:
        if not tenant.connection_id or tenant.tenant_id == keep:
            continue
        if _held_elsewhere(tenant.tenant_id, connection):
            continue
        try:
            client.delete_connection(tenant.connection_id)
        except NotFound:
            pass  # already gone
        except XeroError as error:
            reached = False
            log.warning("could not release an organisation at Xero: %s", error.message)
    return reached


def _xero_user_relied_on(xero_user_id: str, *, besides: XeroConnection | None = None) -> bool:
    """Revoking a grant removes every connection its Xero user made for this app, so a grant
    is only revoked when no Platform connection (other than `besides`) relies on that user."""
    if not xero_user_id:
        return True  # unknown user: deleting connections alone is the safe choice
    others = XeroConnection.objects.filter(xero_user_id=xero_user_id).exclude(
        status=ConnectionStatus.DISCONNECTED
    )
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    return others.exists()


def _grant_give_back(
    grant: XeroClient,
    tenants: list[Tenant],
    *,
    connection: XeroConnection,
    token_set: tokens.TokenSet,
) -> None:
    """A grant we will not use: release its organisations, and revoke it when nothing relies
    on its Xero user. Not fatal when Xero cannot be reached: the admin can remove it there."""
    _release(grant, tenants, connection=connection)
    if not _xero_user_relied_on(token_set.xero_user_id):
        try:
            tokens.token_revoke(token_set.refresh_token)
        except XeroError as error:
            log.warning("could not revoke an unused Xero grant: %s", error.message)


def connection_choose_organisation(
    *, connection: XeroConnection, tenant: Tenant, others: list[Tenant]
) -> XeroConnection:
    """Bind the connection to one organisation; release the others authorised alongside it."""
    # Once set up with an organisation, the account's contacts and invoices are linked to it;
    # a reconnect must choose the same one.
    if connection.is_linked and connection.tenant_id != tenant.tenant_id:
        raise WrongOrganisation(connection.tenant_name, [tenant.tenant_name])
    if _held_elsewhere(tenant.tenant_id, connection):
        raise OrganisationTaken(tenant.tenant_name)
    same_org = connection.is_linked
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
    _release(XeroClient(connection), others, connection=connection, keep=tenant.tenant_id)
    return connection


def connection_cancel(*, connection: XeroConnection) -> bool:
    """Cancel a connection started and not finished: the account goes back to not connected,
    the organisations the grant covered are released at Xero and the grant is revoked (unless
    another Platform account relies on the same Xero user). A linked account found here (an
    unfinished reconnect kept by earlier versions, its working sign-in already replaced) goes
    back to needing a reconnect to its organisation. Returns False when Xero could not be
    reached to release everything; the cancel happens all the same."""
    if connection.status not in UNFINISHED_STATUSES:
        return True
    client = XeroClient(connection)
    reached = True
    tenants = [
        Tenant(
            connection_id=connection.xero_connection_id,
            tenant_id=connection.tenant_id,
            tenant_name=connection.tenant_name,
            tenant_type="ORGANISATION",
            auth_event_id=connection.auth_event_id,
        )
    ]
    if connection.status == ConnectionStatus.CHOOSING_ORGANISATION:
        try:
            tenants = client.connections(auth_event_id=connection.auth_event_id)
        except AuthLost:
            tenants = []  # the grant is gone at Xero, and its connections with it
        except XeroError:
            tenants, reached = [], False
    if connection.has_tokens:
        keep = connection.tenant_id if connection.is_linked else ""
        reached &= _release(client, tenants, connection=connection, keep=keep)
    if connection.is_linked:
        _cancel_unfinished_reconnect(connection)
        return reached
    if connection.has_tokens and not _xero_user_relied_on(
        connection.xero_user_id, besides=connection
    ):
        try:
            tokens.token_revoke(token_vault.decrypt(connection.refresh_token_encrypted))
        except AuthLost:
            pass  # already revoked
        except XeroError:
            reached = False
    tokens.connection_wipe_tokens(connection)
    _set_status(
        connection,
        ConnectionStatus.DISCONNECTED,
        tenant_id="",
        tenant_name="",
        xero_connection_id="",
        auth_event_id="",
        last_error="",
    )
    connection.save()
    return reached


def _cancel_unfinished_reconnect(connection: XeroConnection) -> None:
    reason = (
        f"A reconnect was not finished. Reconnect and tick {connection.tenant_name} on Xero's "
        "page to resume syncing."
    )
    _set_status(connection, ConnectionStatus.NEEDS_RECONNECT, last_error=reason)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:  # another account took the organisation meanwhile
        connection.refresh_from_db()
        tokens.connection_wipe_tokens(connection)
        _set_status(
            connection,
            ConnectionStatus.DISCONNECTED,
            last_error=f"{connection.tenant_name} is now connected to another account.",
        )
        connection.save()


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
    first_setup = connection.status == ConnectionStatus.CHOOSING_PAYMENT_ACCOUNT
    if first_setup:
        _set_status(connection, ConnectionStatus.CONNECTED)
    connection.save()
    connection_record_activity(connection)
    if first_setup:
        # Invoices changed while set-up was under way waited for it to finish.
        invoice_sync.invoices_resume_waiting(connection)
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


def connection_disconnect(*, connection: XeroConnection, reason: str = "") -> None:
    """Delete the connection at Xero and revoke the grant; keep local data and links."""
    if connection.has_tokens:
        # Already gone on Xero's side is as good as deleted.
        if connection.xero_connection_id:
            with suppress(AuthLost, NotFound):
                XeroClient(connection).delete_connection(connection.xero_connection_id)
        if not _xero_user_relied_on(connection.xero_user_id, besides=connection):
            with suppress(AuthLost):
                tokens.token_revoke(token_vault.decrypt(connection.refresh_token_encrypted))
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
            last = connection.last_activity_at or connection.connected_at or now
            idle = now - last
            if idle >= limit:
                _disconnect_for_inactivity(connection, idle)
                counts["disconnected"] += 1
                continue
            if idle >= warn_after and connection.inactivity_warning_sent_at is None:
                connection.inactivity_warning_sent_at = now
                connection.save(update_fields=["inactivity_warning_sent_at"])
                _warn_inactive(connection, idle, disconnect_at=last + limit)
                counts["warned"] += 1
        obtained = connection.refresh_token_obtained_at
        if obtained is None or now - obtained >= TOKEN_KEEPALIVE_AGE:
            try:
                tokens.access_token_for(connection, force_refresh=True)
                counts["kept_alive"] += 1
            except XeroError as error:
                log.warning("token keep-alive failed: %s", error.message)
    return counts


def _warn_inactive(connection: XeroConnection, idle: timedelta, *, disconnect_at) -> None:
    # Whole days idle (rounded down) and days left (rounded up) add up to the limit.
    left = math.ceil((disconnect_at - timezone.now()) / timedelta(days=1))
    email_account_admins(
        account=connection.account,
        subject=f"Xero will be disconnected from {connection.account.name} soon",
        body=(
            f"Nothing has happened on the Xero connection of {connection.account.name} "
            f"({connection.tenant_name}) for {idle.days} days: no invoice, payment or contact "
            "has moved between Platform CRM and Xero, and no admin has changed its settings. "
            f"It will be disconnected in {left} day{'s' if left != 1 else ''}, on "
            f"{timezone.localtime(disconnect_at):%-d %B %Y}, unless there is activity before "
            "then. To keep it, press Keep connected on the integration page: "
            f"{_admin_page(connection)}\n"
        ),
    )


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
