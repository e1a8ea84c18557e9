"""The client for a connection, as product code gets it. The client only raises; what a lost
grant means for the connection is decided here: it turns "needs reconnect", pending work
waits, and its admins are told once (xero_sync.connection.reconnect)."""

from ..client import XeroClient
from ..client.errors import AuthLost
from .models import XeroConnection
from .reconnect import connection_mark_needs_reconnect


def xero_client_for(connection: XeroConnection) -> XeroClient:
    def grant_lost(lost: AuthLost) -> None:
        connection_mark_needs_reconnect(connection=connection, reason=lost.message)

    return XeroClient(connection, on_auth_lost=grant_lost)
