from .selectors import memberships_for_user


def tenancy(request):
    """The current account and the switcher's list, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
        "switchable_memberships": memberships_for_user(user=user),
    }
