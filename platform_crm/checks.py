"""System checks that fail fast, at start-up, and say what is missing."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs, **kwargs):
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
def site_url_is_https(app_configs, **kwargs):
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
