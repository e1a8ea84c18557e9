"""What counts as activity on a Xero connection, for the 60-day rule.

Activity is what people do: data moved either way (an invoice, a payment or a contact sent to
Xero or brought from it) or an admin acting on the integration. Our own polling, token
keep-alive refreshes and polls that find nothing are not activity: a connection nobody uses
must reach the limit and be disconnected (xero_sync.connection.inactivity).
"""

from django.utils import timezone

from .models import XeroConnection


def connection_record_activity(connection: XeroConnection) -> None:
    now = timezone.now()
    XeroConnection.objects.filter(pk=connection.pk).update(
        last_activity_at=now, inactivity_warning_sent_at=None
    )
    connection.last_activity_at, connection.inactivity_warning_sent_at = now, None
