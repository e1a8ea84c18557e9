"""Every account-scoped route, found by walking the URL resolver, is checked for login,
membership (outsiders get 404) and role (staff on admin pages get 403). A new view under
/a/<account>/ is covered the moment it is routed; one with a URL parameter this test cannot fill
fails until a sample is added to SAMPLES in tests/support/routes.py."""

import pytest
from django.test import Client

from platform_crm.models import Role

from ..factories import (
    client_for,
    user_create,
)
from ..support.routes import ACCOUNT_PREFIX, all_routes, route_url


def account_scoped_routes():
    return [r for r in all_routes() if r[1].startswith(ACCOUNT_PREFIX)]


ROUTES = account_scoped_routes()


def test_the_walk_finds_the_account_scoped_routes():
    names = {name for name, _, _ in ROUTES}
    assert {"account_home", "contacts:index", "contacts:detail", "taxes:index"} <= names


@pytest.mark.parametrize(("name", "route", "pattern"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.django_db
def test_account_route_enforces_login_membership_and_role(
    name, route, pattern, account, other_account
):
    role = getattr(pattern.callback, "account_role", None)
    assert role in (Role.ADMIN, Role.STAFF), f"{name} is not wrapped in tenancy.account_view"
    url = route_url(name, pattern, account)

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]

    outsider = user_create(account=other_account, role=Role.ADMIN)
    for method in ("get", "post"):
        response = getattr(client_for(outsider), method)(url)
        assert response.status_code == 404, f"{method.upper()} {url} by an outsider"
        assert account.name not in response.content.decode()

    staff = client_for(user_create(account=account, role=Role.STAFF))
    admin = client_for(user_create(account=account, role=Role.ADMIN))
    if role == Role.ADMIN:
        assert staff.get(url).status_code == 403
        allowed = admin.get(url)
    else:
        allowed = staff.get(url)
    assert allowed.status_code in (200, 302, 405), f"{url} for a member: {allowed.status_code}"
