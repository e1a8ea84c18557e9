"""Telling the account's admins about a difference that survived two runs, once: a
difference the repair did not clear (or that no rule decides) is worth a person's look; one
the next run no longer finds is not."""

from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins

from .models import ReconciliationDifference, ReconciliationRun

LIST_LIMIT = 50


def survivors_tell(run: ReconciliationRun) -> int:
    """One email for this run's differences first found by an earlier run and not told yet;
    returns how many it names."""
    survivors = list(
        ReconciliationDifference.objects.filter(run=run, told_at=None)
        .exclude(first_run=run)
        .exclude(first_run=None)
        .order_by("kind", "label", "field")
    )
    if not survivors:
        return 0
    account = run.connection.account
    lines = [
        f"- {d.kind.capitalize()} {d.label}, {d.field.replace('_', ' ')}: the CRM has "
        f"“{d.crm_value}”, Xero has “{d.xero_value}”. {d.get_repair_display()} ({d.why})."
        for d in survivors[:LIST_LIMIT]
    ]
    more = len(survivors) - LIST_LIMIT
    if more > 0:
        lines.append(f"- and {more} more")
    page = absolute_url(reverse("xero_sync:integrations", kwargs={"account_slug": account.slug}))
    email_account_admins(
        account=account,
        subject=f"CRM and Xero still disagree on {len(survivors)} thing(s)",
        body=(
            "The daily comparison of the CRM with Xero found these differences twice in a row:\n\n"
            + "\n".join(lines)
            + f"\n\nEach is listed on the Integrations page: {page}\n"
            "You are told once about each.\n"
        ),
    )
    ReconciliationDifference.objects.filter(pk__in=[d.pk for d in survivors]).update(
        told_at=timezone.now()
    )
    return len(survivors)
