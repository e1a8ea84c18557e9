from .models import Membership


def memberships_for_user(*, user):
    return Membership.objects.filter(user=user).select_related("account").order_by("account__name")
