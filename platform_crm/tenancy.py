"""The one way an account-scoped view gets its account.

Every URL under /a/<account>/ is served by a view wrapped in `account_view`. The wrapper checks
login, then membership (no membership: 404, so outsiders learn nothing, not even that the account
exists), then role (staff on an admin page: 403), and passes the Account to the view. Views
then query only through selectors that take that account first.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails

from .models import Account, Membership, Role

LAST_ACCOUNT_SESSION_KEY = "last_account"


class AccountRequest(HttpRequest):
    """A request that went through `account_view`: a logged-in user, the account and the
    membership (and, as on every request, django-htmx's details)."""

    user: User
    account: Account
    membership: Membership
    htmx: HtmxDetails


class AccountView(Protocol):
    """A view wrapped by `account_view`, reached through /a/<account>/."""

    account_role: Role

    def __call__(
        self, request: HttpRequest, account_slug: str, *args: Any, **kwargs: Any
    ) -> HttpResponseBase: ...


def membership_for(*, user: Any, account_slug: str) -> Membership:
    membership = (
        Membership.objects.select_related("account")
        .filter(user=user, account__slug=account_slug, user__is_active=True)
        .first()
    )
    if membership is None:
        raise Http404("No such account")
    return membership


def account_view(
    *, role: Role = Role.STAFF
) -> Callable[[Callable[..., HttpResponseBase]], AccountView]:
    """Decorate a view taking (request, account, ...) and reached through /a/<account>/."""

    def decorator(view: Callable[..., HttpResponseBase]) -> AccountView:
        @wraps(view)
        def wrapper(
            request: AccountRequest, account_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(user=request.user, account_slug=account_slug)
            # Set before the role check: the 403 page names the account's admins.
            request.account = membership.account
            request.membership = membership
            if role == Role.ADMIN and not membership.is_admin:
                raise PermissionDenied("Only account admins can do this.")
            if request.session.get(LAST_ACCOUNT_SESSION_KEY) != account_slug:
                # Written only on a change: a session write is three queries, and htmx asks
                # for fragments (picker matches, the polled badge) many times a minute.
                request.session[LAST_ACCOUNT_SESSION_KEY] = account_slug
            return view(request, membership.account, *args, **kwargs)

        # Read by the tenancy test, which proves every account-scoped route goes through here.
        account_scoped = cast(AccountView, wrapper)
        account_scoped.account_role = role
        return account_scoped

    return decorator
