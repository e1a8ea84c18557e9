"""Invoices that did not reach Xero, grouped by cause, each cause with its title and fix: what
the Sync failures page lists."""

from dataclasses import dataclass

from django.db.models import Count, F, Max, QuerySet, Window
from django.db.models.functions import RowNumber

from platform_crm.models import Account

from ..models import InvoiceSync, InvoiceSyncState

FAILURE_CAUSE_TITLES = {
    "unmapped_tax": "Tax rate not mapped to Xero",
    "line_tax": "Invoice line without a tax rate",
    "contact": "Contact without a name",
    "payment_account": "No Xero account chosen for payments",
    "sales_account": "Sales account not usable",
    "validation": "Xero refused the invoice",
    "number_taken": "Invoice number already used in Xero",
    "xero_locked": "Xero can no longer change the invoice (it has a payment there)",
    "xero_unavailable": "Xero could not be reached after many tries",
    "internal": "Could not prepare the invoice for Xero",
    "currency": "Currency not enabled in Xero",
    "lock_date": "Dated in a period Xero has locked",
    "plan_limit": "Xero plan's limit of approved invoices reached",
    "branding_theme": "Branding theme no longer in Xero",
    "tracking": "Tracking option no longer active in Xero",
    "item": "Product not taken by Xero as an item",
}


@dataclass(frozen=True)
class FailureGroup:
    cause: str
    count: int
    fix_url: str  # shared by every row of the group, else "" (each row then links its own)
    syncs: list[InvoiceSync]  # the newest `limit` failed rows, with their invoice and contact

    @property
    def title(self) -> str:
        return FAILURE_CAUSE_TITLES.get(self.cause) or f"Other ({self.cause or 'no cause'})"

    @property
    def more(self) -> int:
        return self.count - len(self.syncs)


def invoice_sync_failed(account: Account) -> QuerySet[InvoiceSync]:
    return InvoiceSync.objects.filter(invoice__account=account, state=InvoiceSyncState.FAILED)


def invoice_sync_failure_groups(account: Account, *, limit: int = 50) -> list[FailureGroup]:
    """The account's failed invoice syncs by cause, largest group first, each with at most
    `limit` rows (newest first). Two queries, however many failures there are."""
    failed = invoice_sync_failed(account)
    totals = (
        failed.order_by()
        .values("error_cause")
        .annotate(
            count=Count("id"),
            fix_urls=Count("fix_url", distinct=True),
            fix_url=Max("fix_url"),
        )
    )
    # Number the rows within their cause so the cap is applied by the database, per group.
    rows = (
        failed.select_related("invoice__contact")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("error_cause"),
                order_by=[F("updated_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=limit)
        .order_by("error_cause", "rank")
    )
    by_cause: dict[str, list[InvoiceSync]] = {}
    for sync in rows:
        by_cause.setdefault(sync.error_cause, []).append(sync)
    groups = [
        FailureGroup(
            cause=t["error_cause"],
            count=t["count"],
            fix_url=t["fix_url"] if t["fix_urls"] == 1 else "",
            syncs=by_cause.get(t["error_cause"], []),
        )
        for t in totals
    ]
    return sorted(groups, key=lambda g: (-g.count, g.title))


# --- Platform health (every account; superusers only) -------------------------------------
