from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from xero_sync.urls import public_urlpatterns as xero_public_urls

from . import views

# Everything under /a/<account_slug>/ is account-scoped and served through tenancy.account_view;
# tests/platform_crm/test_tenancy_routes.py walks these routes and proves it.
account_patterns: list[URLPattern | URLResolver] = [
    path("", views.account_home, name="account_home"),
    path("contacts/", include("contacts.urls")),
    path("invoices/", include("invoices.urls")),
    path("settings/integrations/", include("xero_sync.urls")),
    path("settings/taxes/", include("taxes.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("a/", views.account_list, name="account_list"),
    path("a/<slug:account_slug>/", include(account_patterns)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("ops/", include("xero_sync.ops.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Pages name their icon; browsers and tools that ask for /favicon.ico anyway are sent to it.
    path("favicon.ico", views.favicon),
    *xero_public_urls,
    path("admin/", admin.site.urls),
]
