"""Xero's 60-day rule: a connection nobody uses is warned a week before, then disconnected
(at Xero too); one idle but not yet due keeps its refresh token alive. What counts as activity
is defined in xero_sync.connection.activity."""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins

from ..client.errors import XeroError
from . import tokens
from .models import ConnectionStatus, XeroConnection
from .services import connection_disconnect, connection_set_status

log = logging.getLogger(__name__)


# A refresh token older than this is refreshed by the daily job, well before Xero's 60 days.
TOKEN_KEEPALIVE_AGE = timedelta(days=45)


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


def _warn_inactive(connection: XeroConnection, idle: timedelta, *, disconnect_at: datetime) -> None:
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
        connection_set_status(
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
