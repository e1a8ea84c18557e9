"""The organisation's settings as last read, without asking Xero."""

from ..models import XeroConnection
from .models import OrganisationSettings


def settings_as_read(connection: XeroConnection) -> OrganisationSettings | None:
    """None until read for the connection's current organisation."""
    return OrganisationSettings.objects.filter(
        connection=connection, tenant_id=connection.tenant_id
    ).first()
