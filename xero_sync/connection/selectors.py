"""Reads on the connection, account first."""

from platform_crm.models import Account

from .models import HOLDING_STATUSES, XeroConnection


def connection_get(account: Account) -> XeroConnection | None:
    return XeroConnection.objects.filter(account=account).select_related("connected_by").first()


def tenant_ids_held_elsewhere(account: Account | int, tenant_ids: list[str]) -> set[str]:
    """Which of these organisations another account holds (so this one cannot take them)."""
    held = XeroConnection.objects.filter(tenant_id__in=tenant_ids, status__in=HOLDING_STATUSES)
    return set(held.exclude(account=account).values_list("tenant_id", flat=True))
