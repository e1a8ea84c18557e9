"""CSRF on every form. Every routed URL, found by walking the URL resolver like the tenancy
test, refuses a logged-in member's POST that carries no CSRF token, or another browser's token,
with 403; the same POST with the browser's own token gets past the check, so this test fails
the day a view is exempted or the middleware is dropped. The one route left out is Xero's
webhook endpoint, which is authenticated by its signature instead."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from platform_crm.models import Role

from ..factories import user_create
from ..support.routes import ACCOUNT_PREFIX, all_routes, route_url

SIGNATURE_AUTHENTICATED = {"xero_webhook"}
ROUTES = [route for route in all_routes() if route[0] not in SIGNATURE_AUTHENTICATED]

# Django admin's URL parameters. An object that does not exist is enough: past the CSRF check
# the admin answers with a redirect or a 404, and nothing is changed or deleted.
ADMIN_SAMPLES = {"object_id": "0", "content_type_id": "0", "id": "0", "app_label": "auth"}

REFUSED = "CSRF verification failed"


def url_for(name, route, pattern, account) -> str:
    if route.startswith(ACCOUNT_PREFIX):
        return route_url(name, pattern, account)  # the tenancy test's SAMPLES fill it in
    params = list(pattern.pattern.regex.groupindex)
    unknown = [p for p in params if not name.startswith("admin:") or p not in ADMIN_SAMPLES]
    assert not unknown, f"{name}: add a sample for {unknown} to this test"
    return reverse(name, kwargs={p: ADMIN_SAMPLES[p] for p in params})


def browser(user, account) -> tuple[Client, str]:
    """A logged-in browser that checks CSRF as production does, and its CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("contacts:index", args=[account.slug]))  # any page sets the cookie
    return client, client.cookies[settings.CSRF_COOKIE_NAME].value


def test_the_walk_reaches_the_forms():
    names = {name for name, _, _ in ROUTES}
    assert {
        "contacts:new",
        "invoices:edit",
        "invoices:payment_new",
        "taxes:new",
        "xero_sync:tax_mapping",
        "xero_sync:disconnect",
        "logout",
        "admin:login",
    } <= names


def test_only_the_webhook_endpoint_is_exempt_from_csrf():
    exempt = {name for name, _, p in all_routes() if getattr(p.callback, "csrf_exempt", False)}
    assert exempt == SIGNATURE_AUTHENTICATED


@pytest.mark.parametrize(("name", "route", "pattern"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.django_db
def test_a_post_without_this_browsers_csrf_token_is_refused(name, route, pattern, account):
    # An account admin who is also a platform superuser reaches every route: account pages,
    # admin-only settings, /ops/ and Django's admin.
    member = user_create(account=account, role=Role.ADMIN)
    member.is_staff = member.is_superuser = True
    member.save()
    client, token = browser(member, account)
    _, someone_elses_token = browser(member, account)
    url = url_for(name, route, pattern, account)

    for form in ({}, {"csrfmiddlewaretoken": someone_elses_token}):
        refused = client.post(url, form)
        assert refused.status_code == 403, f"POST {url} with {form or 'no token'}"
        assert REFUSED in refused.content.decode()

    accepted = client.post(url, {"csrfmiddlewaretoken": token})
    assert not (accepted.status_code == 403 and REFUSED in accepted.content.decode()), url
