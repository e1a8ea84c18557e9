"""The one way an account-scoped view gets its account.

Every URL under /a/<account>/ is served by a view wrapped in `account_view`. The wrapper checks
login, then membership (no membership: 404, so outsiders learn nothing, not even that the account
exists), then role (staff on an admin page: 403), and passes the Account to the view. Views
then query only through selectors that take that account first.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership, Role

LAST_ACCOUNT_SESSION_KEY = "last_account"


def membership_for(*, user, account_slug: str) -> Membership:
    membership = (
        Membership.objects.select_related("account")
        .filter(user=user, account__slug=account_slug, user__is_active=True)
        .first()
    )
    if membership is None:
        raise Http404("No such account")
    return membership


def account_view(*, role: Role = Role.STAFF):
    """Decorate a view taking (request, account, ...) and reached through /a/<account>/."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, account_slug, *args, **kwargs):
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
        wrapper.account_role = role
        return wrapper

    return decorator
