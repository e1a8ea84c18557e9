"""Telling the account's admins that invoices did not reach Xero.

One email per failure (never per transient retry), and one only: the same failure of the same
invoice again (its draft push, then its issue push, then Retry) is not told again until the
invoice has reached Xero or fails for another reason (failure_key). When many fail within a few
minutes (a tax rate unmapped before a recurring run, say), the first few go alone and the rest
wait for one digest, sent by beat, grouped by cause with the fix for each.
"""

import hashlib
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from platform_crm.emails import absolute_url, email_account_admins
from platform_crm.models import Account

from ..models import InvoiceSync, InvoiceSyncState

ALONE_WINDOW = timedelta(minutes=10)
ALONE_LIMIT = 3  # failure emails per account within ALONE_WINDOW before the digest takes over
DIGEST_LIST_LIMIT = 50

CAUSES = {
    "unmapped_tax": "Tax rate not mapped to Xero",
    "line_tax": "Line without a tax rate",
    "contact": "Contact without a name",
    "payment_account": "No payment account chosen",
    "number_taken": "Invoice number already used in Xero",
    "xero_locked": "Xero can no longer change the invoice",
    "validation": "Xero refused the invoice",
    "xero_unavailable": "Xero did not answer",
    "internal": "Could not prepare the invoice",
    "sales_account": "Sales account not usable",
    "currency": "Currency not enabled in Xero",
    "lock_date": "Dated in a period Xero has locked",
    "plan_limit": "Xero plan's limit of approved invoices reached",
    "branding_theme": "Branding theme no longer in Xero",
    "tracking": "Tracking option no longer active in Xero",
    "item": "Product not taken by Xero as an item",
}


def cause_title(cause: str) -> str:
    return CAUSES.get(cause, cause.replace("_", " ").capitalize() or "Other")


# Causes whose message carries Xero's passing words (an outage's error text, an attempt count):
# the cause alone says which failure it is.
CAUSE_IS_THE_FAILURE = frozenset({"xero_unavailable"})


def failure_key(cause: str, message: str) -> str:
    """What makes two failures of one invoice the same failure: the same cause and message."""
    what = cause if cause in CAUSE_IS_THE_FAILURE else f"{cause}\n{message}"
    return hashlib.sha256(what.encode()).hexdigest()


def failure_notify(sync: InvoiceSync) -> None:
    """Called in the transaction that turned `sync` failed."""
    account = sync.invoice.account
    recent = InvoiceSync.objects.filter(
        invoice__account=account, failure_emailed_at__gte=timezone.now() - ALONE_WINDOW
    ).count()
    if recent >= ALONE_LIMIT:
        return  # left for the digest (failure_emailed_at stays empty)
    _email_one(sync)
    InvoiceSync.objects.filter(pk=sync.pk).update(failure_emailed_at=timezone.now())


def _invoice_url(sync: InvoiceSync) -> str:
    invoice = sync.invoice
    return absolute_url(
        reverse("invoices:detail", kwargs={"account_slug": invoice.account.slug, "pk": invoice.pk})
    )


def failures_page_url(account: Account) -> str:
    return absolute_url(reverse("xero_sync:failures", kwargs={"account_slug": account.slug}))


def _email_one(sync: InvoiceSync) -> None:
    invoice = sync.invoice
    fix = f"\nTo fix it: {absolute_url(sync.fix_url)}\n" if sync.fix_url else ""
    email_account_admins(
        account=invoice.account,
        subject=f"Invoice {invoice.number} was not sent to Xero",
        body=(
            f"Invoice {invoice.number} ({invoice.name or 'no title'}) for "
            f"{invoice.contact.display_name if invoice.contact else 'no contact'} could not be "
            f"sent to Xero.\n\nWhat went wrong: {sync.error}\n{fix}\n"
            f"Once fixed, press Retry on the invoice: {_invoice_url(sync)}\n"
        ),
    )


def failure_digests_send() -> int:
    """Beat: one digest per account for failures not yet told. Rows are claimed under a lock
    and marked in the same transaction, so two beats never send the same digest twice."""
    sent = 0
    with transaction.atomic():
        owed = list(
            InvoiceSync.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=InvoiceSyncState.FAILED, failure_emailed_at=None)
            .select_related("invoice__account", "invoice__contact")
            .order_by("invoice__account_id", "error_cause", "failed_at")
        )
        by_account = defaultdict(list)
        for sync in owed:
            by_account[sync.invoice.account].append(sync)
        for account, syncs in by_account.items():
            _email_digest(account, syncs)
            sent += 1
        InvoiceSync.objects.filter(pk__in=[s.pk for s in owed]).update(
            failure_emailed_at=timezone.now()
        )
    return sent


def _email_digest(account: Account, syncs: list[InvoiceSync]) -> None:
    by_cause: defaultdict[str, list[InvoiceSync]] = defaultdict(list)
    for sync in syncs:
        by_cause[sync.error_cause].append(sync)
    parts = []
    for cause, group in by_cause.items():
        fix = next((s.fix_url for s in group if s.fix_url), "")
        lines = [f"{cause_title(cause)} ({len(group)})"]
        if fix:
            lines.append(f"  To fix it: {absolute_url(fix)}")
        for sync in group[:DIGEST_LIST_LIMIT]:
            lines.append(f"  - Invoice {sync.invoice.number}: {sync.error}")
        if len(group) > DIGEST_LIST_LIMIT:
            lines.append(f"  … and {len(group) - DIGEST_LIST_LIMIT} more")
        parts.append("\n".join(lines))
    page = failures_page_url(account)
    email_account_admins(
        account=account,
        subject=f"{len(syncs)} more invoices were not sent to Xero",
        body=(
            f"{len(syncs)} more invoices of {account.name} could not be sent to Xero.\n\n"
            + "\n\n".join(parts)
            + f"\n\nOnce fixed, retry them all from {page}\n"
        ),
    )
