"""Where a login came from, for django-axes' per-address limit (settings: AXES_*)."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address. Behind our proxy (DJANGO_BEHIND_PROXY) every request comes from the
    proxy, so the address is the one the proxy appended last to X-Forwarded-For: earlier entries
    are whatever the client chose to send and would let it pick a fresh address per try."""
    if settings.BEHIND_PROXY:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = forwarded.rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    address: str = request.META.get("REMOTE_ADDR", "")
    return address
