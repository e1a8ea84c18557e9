from typing import Any

from django.db.models import QuerySet

from .models import Account, Membership, Role


def memberships_for_user(*, user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")


def account_admins(*, account: Account) -> list[Any]:
    """The account's active admins (users), by name: whom staff ask for what only admins do."""
    return [
        m.user
        for m in Membership.objects.filter(account=account, role=Role.ADMIN, user__is_active=True)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    ]
