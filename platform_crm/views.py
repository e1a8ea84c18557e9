from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from .models import Account
from .selectors import memberships_for_user
from .tenancy import LAST_ACCOUNT_SESSION_KEY, account_view


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Back to the account used last, or the only one, or a choice between several."""
    memberships = list(memberships_for_user(user=request.user))
    slugs = [m.account.slug for m in memberships]
    last = request.session.get(LAST_ACCOUNT_SESSION_KEY)
    if last in slugs:
        return redirect("account_home", account_slug=last)
    if len(slugs) == 1:
        return redirect("account_home", account_slug=slugs[0])
    return redirect("account_list")


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    memberships = memberships_for_user(user=request.user)
    return render(request, "platform_crm/account_list.html", {"memberships": memberships})


@account_view()
def account_home(request: HttpRequest, account: Account) -> HttpResponse:
    return redirect("contacts:index", account_slug=account.slug)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the app is up and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponse:
    """Pages name their icon; browsers and tools that ask for /favicon.ico anyway get sent to it
    (resolved per request: the hashed name exists only after collectstatic)."""
    return redirect(static("favicon.svg"), permanent=True)
