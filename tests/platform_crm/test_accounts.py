import pytest
from django.test import Client
from django.urls import reverse

from platform_crm.models import Role

from ..factories import account_create, client_for, contact_make, user_create


@pytest.mark.django_db
def test_login_page_logs_in_and_lands_in_the_only_account(account, staff_user):
    staff_user.set_password("a-long-password")
    staff_user.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": staff_user.username, "password": "a-long-password"}
    )
    assert response.status_code == 302
    landing = client.get(response["Location"], follow=True)
    assert landing.request["PATH_INFO"] == reverse("contacts:index", args=[account.slug])


@pytest.mark.django_db
def test_wrong_password_shows_the_error_on_the_form(staff_user):
    response = Client().post(reverse("login"), {"username": staff_user.username, "password": "x"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_user_of_two_accounts_switches_and_sees_only_the_current_ones_data():
    first, second = account_create(name="First Ltd"), account_create(name="Second Ltd")
    user = user_create(account=first, role=Role.STAFF)
    user.memberships.create(account=second, role=Role.ADMIN)
    contact_make(first, first_name="Only", last_name="InFirst")
    contact_make(second, first_name="Only", last_name="InSecond")
    client = client_for(user)

    # Several accounts and none used yet: the user chooses.
    assert client.get(reverse("home"))["Location"] == reverse("account_list")
    chooser = client.get(reverse("account_list")).content.decode()
    assert "First Ltd" in chooser and "Second Ltd" in chooser

    page = client.get(reverse("contacts:index", args=[second.slug])).content.decode()
    assert "InSecond" in page and "InFirst" not in page
    # The switcher remembers the last account.
    assert client.get(reverse("home"))["Location"] == reverse("account_home", args=[second.slug])


@pytest.mark.django_db
def test_navigation_shows_settings_to_admins_only(account, admin_user, staff_user):
    admin_page = client_for(admin_user).get(reverse("contacts:index", args=[account.slug]))
    staff_page = client_for(staff_user).get(reverse("contacts:index", args=[account.slug]))
    integrations = reverse("xero_sync:integrations", args=[account.slug])
    assert integrations in admin_page.content.decode()
    assert integrations not in staff_page.content.decode()


@pytest.mark.django_db
def test_account_chooser_lists_only_the_users_own_accounts(account, staff_user, other_account):
    page = client_for(staff_user).get(reverse("account_list")).content.decode()
    assert account.name in page
    assert other_account.name not in page


@pytest.mark.django_db
def test_inactive_user_loses_access_to_account_pages(account, staff_user):
    client = client_for(staff_user)
    staff_user.is_active = False
    staff_user.save()
    response = client.get(reverse("contacts:index", args=[account.slug]))
    assert response.status_code in (302, 404)


@pytest.mark.django_db
def test_healthz_answers_ok():
    assert Client().get(reverse("healthz")).json() == {"status": "ok"}


@pytest.mark.django_db
def test_admin_site_manages_accounts_and_memberships(account, admin_user):
    superuser = user_create(username="root")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client = client_for(superuser)
    assert client.get(reverse("admin:platform_crm_account_changelist")).status_code == 200
    assert client.get(reverse("admin:platform_crm_membership_changelist")).status_code == 200
    user_page = client.get(reverse("admin:auth_user_change", args=[admin_user.pk]))
    assert account.name in user_page.content.decode()


@pytest.mark.django_db
def test_pages_name_their_icon_and_favicon_ico_leads_to_it(client, account, staff_user):
    page = client_for(staff_user).get(f"/a/{account.slug}/contacts/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
