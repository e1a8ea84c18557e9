"""The demo logins the README lists all exist after `load_demo_data`, with the README's
password and the role it says; `ops` reaches the Django admin and platform health."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_logins() -> dict[str, tuple[str, str]]:
    """{login: (password, what it is)} from the README's table of demo logins."""
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \|$", README.read_text(), re.M)
    return {login: (password, what.strip()) for login, password, what in rows}


def log_in(client, username, password) -> bool:
    """Through the login form, as a person does (django-axes, which throttles logins, needs the
    request that Client.login() does not pass)."""
    client.post(reverse("login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_every_login_the_readme_lists_logs_in_after_load_demo_data(settings):
    settings.DEBUG = True  # the command refuses to publish its password otherwise
    call_command("load_demo_data", verbosity=0)
    call_command("load_demo_data", verbosity=0)  # twice changes nothing
    logins = readme_logins()
    assert {"admin", "staff", "harbour-admin", "ops"} <= set(logins)
    for login, (password, _) in logins.items():
        assert log_in(Client(), login, password), login


@pytest.mark.django_db
def test_the_ops_login_reaches_the_admin_site_and_platform_health(settings):
    settings.DEBUG = True
    call_command("load_demo_data", verbosity=0)
    password, what = readme_logins()["ops"]
    assert "superuser" in what
    client = Client()
    assert log_in(client, "ops", password)
    assert client.get("/admin/").status_code == 200
    assert client.get("/ops/health/").status_code == 200
