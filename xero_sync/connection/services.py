"""Writes on the Xero connection's lifecycle: connecting, choosing the organisation,
cancelling, disconnecting, keeping. Views, tasks and beat jobs call these and nothing else of
substance."""

import logging
from contextlib import suppress

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from platform_crm.models import Account

from ..client import Tenant, XeroClient
from ..client.errors import AuthLost, NotFound, XeroError
from ..contacts import imports
from ..contacts import outbox as contact_outbox
from ..invoices import outbox as invoice_outbox
from . import token_vault, tokens
from .activity import connection_record_activity
from .calls import xero_client_for
from .models import UNFINISHED_STATUSES, ConnectionStatus, XeroConnection
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


def connection_set_status(connection: XeroConnection, status: str, **fields: object) -> None:
    connection.status = status
    connection.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(connection, name, value)


def _held_elsewhere(tenant_id: str, connection: XeroConnection) -> bool:
    return bool(tenant_ids_held_elsewhere(connection.account_id, [tenant_id]))


def connection_authorised(
    *, account: Account, user: User, token_set: tokens.TokenSet
) -> XeroConnection:
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
    connection_set_status(connection, ConnectionStatus.CHOOSING_ORGANISATION)
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
        if not tenant.xero_connection_id or tenant.tenant_id == keep:
            continue
        if _held_elsewhere(tenant.tenant_id, connection):
            continue
        try:
            client.delete_connection(tenant.xero_connection_id)
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
    connection.xero_connection_id = tenant.xero_connection_id
    connection.connected_at = timezone.now()
    connection.last_error = ""
    connection.needs_reconnect_emailed_at = None
    # A reconnect to the organisation it had keeps the chosen payment account.
    connection_set_status(
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
        imports.import_resume_waiting(connection)
        invoice_outbox.invoices_resume_waiting(connection)
        contact_outbox.contacts_resume_waiting(connection)
    _release(xero_client_for(connection), others, connection=connection, keep=tenant.tenant_id)
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
    client = xero_client_for(connection)
    reached = True
    tenants = [
        Tenant(
            xero_connection_id=connection.xero_connection_id,
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
    connection_set_status(
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
    connection_set_status(connection, ConnectionStatus.NEEDS_RECONNECT, last_error=reason)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:  # another account took the organisation meanwhile
        connection.refresh_from_db()
        tokens.connection_wipe_tokens(connection)
        connection_set_status(
            connection,
            ConnectionStatus.DISCONNECTED,
            last_error=f"{connection.tenant_name} is now connected to another account.",
        )
        connection.save()


def connection_disconnect(*, connection: XeroConnection, reason: str = "") -> None:
    """Delete the connection at Xero and revoke the grant; keep local data and links."""
    if connection.has_tokens:
        # Already gone on Xero's side is as good as deleted.
        if connection.xero_connection_id:
            with suppress(AuthLost, NotFound):
                xero_client_for(connection).delete_connection(connection.xero_connection_id)
        if not _xero_user_relied_on(connection.xero_user_id, besides=connection):
            with suppress(AuthLost):
                tokens.token_revoke(token_vault.decrypt(connection.refresh_token_encrypted))
    tokens.connection_wipe_tokens(connection)
    connection_set_status(connection, ConnectionStatus.DISCONNECTED, last_error=reason)
    connection.save()


def connection_keep(connection: XeroConnection) -> None:
    """An admin asked to keep the connection: activity, and a real call so the grant is used."""
    xero_client_for(connection).organisation()
    connection_record_activity(connection)
