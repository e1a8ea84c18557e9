"""Retry for what a sync held back: fetch the record from Xero again and apply it the way its
sync does. Stored, it is released from quarantine; refused again, it stays with the new reason;
gone from Xero, it is released as such."""

from django.utils import timezone

from ..connection.calls import xero_client_for
from ..contacts.pull import contact_sync_one
from ..invoices.credit_notes_from_xero import credit_notes_apply
from ..invoices.from_xero import invoices_apply
from ..taxes.services import xero_tax_rates_refresh
from .models import QuarantinedRecord, QuarantineKind
from .quarantine import retry_target


def quarantine_refetch(record_id: int) -> None:
    record = (
        QuarantinedRecord.objects.select_related("connection__account")
        .filter(pk=record_id, resolved_at=None)
        .first()
    )
    if record is None or not record.connection.is_usable:
        return  # released meanwhile, or waiting for a reconnect (Retry again then)
    connection = record.connection
    if record.kind == QuarantineKind.TAX_RATE:
        xero_tax_rates_refresh(connection)
        return
    category, xero_id = retry_target(record)
    if category == "CONTACT":
        found = xero_client_for(connection).contact(xero_id)
        if found is not None:
            contact_sync_one(connection, xero_id, found=found, source="retry")
    elif category == "INVOICE":
        found = xero_client_for(connection).invoice(xero_id)
        if found is not None:
            invoices_apply(connection, [found], source="retry")
    elif category == "CREDITNOTE":
        found = xero_client_for(connection).credit_note(xero_id)
        if found is not None:
            credit_notes_apply(connection, [found], source="retry")
    else:
        return
    if found is None:
        QuarantinedRecord.objects.filter(pk=record.pk, resolved_at=None).update(
            resolved_at=timezone.now(), resolution="No longer in Xero"
        )
