"""Outgoing email. Mail is sent by a task on the `email` queue, never inside a request."""

from django.conf import settings

from .models import Account, Role
from .queueing import enqueue_on_commit


def account_admin_emails(*, account: Account) -> list[str]:
    return sorted(
        account.memberships.filter(role=Role.ADMIN, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def email_send(*, to: list[str], subject: str, body: str) -> None:
    """Queue one email; it leaves after the current transaction commits."""
    if to:
        enqueue_on_commit("platform_crm.tasks.send_email_task", to=to, subject=subject, body=body)


def email_account_admins(*, account: Account, subject: str, body: str) -> None:
    email_send(to=account_admin_emails(account=account), subject=subject, body=body)


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path
