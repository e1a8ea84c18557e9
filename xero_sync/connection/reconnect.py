"""Losing the grant: the connection turns "needs reconnect", pending work waits, and the
account's admins get one email per episode. Decided for every call in connection.calls."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins

from .models import ConnectionStatus, XeroConnection


def connection_mark_needs_reconnect(*, connection: XeroConnection, reason: str) -> None:
    """The grant is gone. Pending work waits; the admins get one email per episode."""
    with transaction.atomic():
        locked = XeroConnection.objects.select_for_update().get(pk=connection.pk)
        if locked.status != ConnectionStatus.CONNECTED:
            return
        locked.status = ConnectionStatus.NEEDS_RECONNECT
        locked.status_changed_at = timezone.now()
        locked.last_error = reason
        first_time = locked.needs_reconnect_emailed_at is None
        locked.needs_reconnect_emailed_at = locked.needs_reconnect_emailed_at or timezone.now()
        locked.save()
        if first_time:
            url = absolute_url(
                reverse("xero_sync:integrations", kwargs={"account_slug": locked.account.slug})
            )
            email_account_admins(
                account=locked.account,
                subject=f"Xero needs reconnecting for {locked.account.name}",
                body=(
                    f"Platform CRM can no longer reach your Xero organisation "
                    f"{locked.tenant_name}: {reason}\n\n"
                    "Nothing is lost: invoices and contacts waiting to sync will go as soon as "
                    f"an admin reconnects.\n\nReconnect here: {url}\n"
                ),
            )
    connection.refresh_from_db()
