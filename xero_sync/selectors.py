from datetime import date
from typing import Any

from django.db.models import Count, Min, QuerySet

from invoices.models import Invoice, InvoiceStatus
from platform_crm.models import Account

from .models import (
    ContactImport,
    PossibleDuplicate,
    QuarantinedRecord,
    XeroConnection,
)


def contact_import_last(connection: XeroConnection) -> ContactImport | None:
    """The latest import (not preview) of the connection: what its contacts came in by."""
    return connection.contact_imports.filter(is_preview=False).first()


def earlier_invoices(account: Account, *, since: date | None = None) -> QuerySet[Invoice]:
    """Invoices written before Xero was connected: never queued for Xero (no twin row), and not
    void (a void invoice that never reached Xero has nothing to send)."""
    invoices = Invoice.objects.filter(account=account, xero_sync__isnull=True).exclude(
        status=InvoiceStatus.VOID
    )
    return invoices.filter(issue_date__gte=since) if since else invoices


def earlier_invoices_offer(account: Account) -> dict[str, Any] | None:
    """What "Send N earlier invoices to Xero" offers: how many, from the earliest one's date."""
    found = earlier_invoices(account).aggregate(count=Count("pk"), first=Min("issue_date"))
    return found if found["count"] else None


def quarantine_list(account: Account, *, limit: int = 50) -> QuerySet[QuarantinedRecord]:
    """Records from Xero the account's sync could not store, still held: newest first."""
    return QuarantinedRecord.objects.filter(connection__account=account, resolved_at=None).order_by(
        "-last_seen_at", "-id"
    )[:limit]


def quarantine_count(account: Account) -> int:
    return QuarantinedRecord.objects.filter(connection__account=account, resolved_at=None).count()


def possible_duplicate_list(account: Account, *, limit: int = 50) -> QuerySet[PossibleDuplicate]:
    """Xero contacts held because they match a CRM contact that already has its Xero twin."""
    return (
        PossibleDuplicate.objects.filter(connection__account=account, resolved_at=None)
        .select_related("contact")
        .order_by("-found_at", "-id")[:limit]
    )


def possible_duplicate_count(account: Account) -> int:
    return PossibleDuplicate.objects.filter(connection__account=account, resolved_at=None).count()
