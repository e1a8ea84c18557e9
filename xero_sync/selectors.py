from .models import XeroCall, XeroConnection


def connection_get(account) -> XeroConnection | None:
    return XeroConnection.objects.filter(account=account).select_related("connected_by").first()


def recent_calls(account, *, limit: int = 15):
    return XeroCall.objects.filter(connection__account=account).order_by("-created_at", "-id")[
        :limit
    ]
