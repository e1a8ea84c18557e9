"""Writes on invoice syncs that an admin asks for from the failures page."""

from django.db import transaction

from platform_crm.models import Account

from ..invoices import outbox as invoice_outbox
from ..models import InvoiceSync, InvoiceSyncState


def invoice_syncs_retry_failed(*, account: Account, cause: str) -> int:
    """Retry every failed invoice sync of one cause (after the admin fixed it); returns how
    many were queued. Each push goes after commit, one task per invoice."""
    failed = InvoiceSync.objects.filter(
        invoice__account=account, state=InvoiceSyncState.FAILED, error_cause=cause
    )
    with transaction.atomic():
        syncs = list(failed)
        for sync in syncs:
            invoice_outbox.invoice_sync_retry(sync)
    return len(syncs)
