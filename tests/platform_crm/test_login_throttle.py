"""Login throttling (django-axes): too many failed logins for one username, or from one address,
lock that username or address out with a clear page, even for the right password, until an
admin lifts the lockout or the cool-off passes."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ..factories import client_for, user_create

PASSWORD = "pw"  # tests.factories.user_create's


def log_in(username, password, address="203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_wrong_passwords_lock_the_username_out_even_for_the_right_one(settings):
    user = user_create(username="admin")
    answers = [
        # From a different address each time: the username's own limit is what stops it.
        log_in("admin", f"guess-{n}", address=f"198.51.100.{n}")[1].status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    # The form again ("Please enter a correct username and password") until the last one.
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    client, response = log_in(user.username, PASSWORD, address="192.0.2.1")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Logging in is paused" in page
    assert f"After {settings.AXES_FAILURE_LIMIT} failed logins for <strong>admin</strong>" in page
    assert "for 15 minutes" in page
    assert not logged_in(client)


@pytest.mark.django_db
def test_wrong_passwords_from_one_address_lock_that_address_out(settings):
    user_create(username="someone")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(f"nobody-{n}", "guess", address="203.0.113.9")
    client, response = log_in("someone", PASSWORD, address="203.0.113.9")
    assert response.status_code == 429 and not logged_in(client)
    elsewhere, response = log_in("someone", PASSWORD, address="203.0.113.10")
    assert logged_in(elsewhere)


@pytest.mark.django_db
def test_an_admin_lifts_a_lockout_in_the_django_admin(settings):
    user_create(username="admin")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in("admin", f"guess-{n}")
    ops = get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pw")
    admin_site = client_for(ops)
    changelist = admin_site.get(reverse("admin:axes_accessattempt_changelist"))
    assert "admin" in changelist.content.decode()
    attempt = changelist.context["cl"].result_list[0]
    admin_site.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    client, _ = log_in("admin", PASSWORD)
    assert logged_in(client)


@pytest.mark.django_db
def test_an_admin_lifts_a_lockout_with_the_management_command(settings):
    user_create(username="admin")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in("admin", f"guess-{n}", address=f"198.51.100.{n}")
    assert log_in("admin", PASSWORD, address="192.0.2.1")[1].status_code == 429
    call_command("axes_reset_username", "admin")
    client, _ = log_in("admin", PASSWORD, address="192.0.2.1")
    assert logged_in(client)


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(settings):
    """A client cannot dodge the per-address limit by sending its own X-Forwarded-For."""
    settings.BEHIND_PROXY = True
    user_create(username="someone")
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.0.0.2").post(
            reverse("login"),
            {"username": f"nobody-{n}", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.9",
        )
    response = Client(REMOTE_ADDR="10.0.0.2").post(
        reverse("login"),
        {"username": "someone", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9",
    )
    assert response.status_code == 429
