from functools import partial
from typing import Any

from django.http import HttpRequest

from .selectors import account_admins, memberships_for_user


def tenancy(request: HttpRequest) -> dict[str, Any]:
    """The current account and the switcher's list, for the base layout; the account's admins
    on demand (read only by pages that name them, such as "only an admin can do this")."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    account = getattr(request, "account", None)
    return {
        "current_account": account,
        "current_membership": getattr(request, "membership", None),
        "switchable_memberships": memberships_for_user(user=user),
        # A callable: the template calls it only when it shows the list.
        "account_admins": partial(account_admins, account=account) if account else list,
    }
