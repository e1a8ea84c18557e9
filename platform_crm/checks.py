"""System checks that fail fast, at start-up, and say what is missing."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    try:
        missing = not settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to even read an empty key
        missing = True
    if missing:
        return [
            Error(
                "DJANGO_SECRET_KEY is not set.",
                hint="Set DJANGO_SECRET_KEY in the environment (see .env.example).",
                id="platform_crm.E001",
            )
        ]
    return []


@register(deploy=True)
def site_url_is_https(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.SITE_URL.startswith("https://"):
        return [
            Error(
                f"SITE_URL is {settings.SITE_URL!r}; links in emails and OAuth redirects "
                "must use https in production.",
                hint="Set SITE_URL=https://your-host (see .env.example).",
                id="platform_crm.E002",
            )
        ]
    return []


@register(deploy=True)
def xero_is_configured(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    from cryptography.fernet import Fernet

    errors: list[CheckMessage] = []
    missing = [
        name
        for name in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY")
        if not getattr(settings, name)
    ]
    if missing:
        errors.append(
            Error(
                f"{', '.join(missing)} not set: the Xero integration cannot work.",
                hint="Create an app at developer.xero.com and set these (see .env.example).",
                id="platform_crm.E003",
            )
        )
    try:
        if not settings.XERO_TOKEN_KEYS:
            raise ValueError("empty")
        for key in settings.XERO_TOKEN_KEYS:
            Fernet(key)
    except ValueError:
        errors.append(
            Error(
                "XERO_TOKEN_KEYS must hold one or more Fernet keys (tokens are encrypted at rest).",
                hint='Generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
                id="platform_crm.E004",
            )
        )
    return errors
