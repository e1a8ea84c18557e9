from .models import Membership, Role


def memberships_for_user(*, user):
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")


def account_admins(*, account) -> list:
    """The account's active admins (users), by name: whom staff ask for what only admins do."""
    return [
        m.user
        for m in Membership.objects.filter(account=account, role=Role.ADMIN, user__is_active=True)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    ]
