"""Failure emails: one per failure for the first few, then one digest per account, grouped by
cause with the fix, sent once however many beats run it."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from xero_sync.failure_mail import ALONE_LIMIT, failure_digests_send
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import contact_make, tax_rate_make
from .conftest import connect
from .test_invoice_batches import issue_many


@pytest.mark.django_db
def test_many_failures_at_once_send_a_few_emails_then_one_digest(
    xero, account, admin_user, tasks_inline
):
    connect(xero, account, admin_user)
    unmapped = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    contact = contact_make(account, first_name="Many", last_name="Fails")
    mail.outbox.clear()
    with tasks_inline(), transaction.atomic():
        invoices = issue_many(account, unmapped, contact, ALONE_LIMIT + 4)
    assert InvoiceSync.objects.filter(state=InvoiceSyncState.FAILED).count() == len(invoices)
    alone = [m for m in mail.outbox if m.subject.endswith("was not sent to Xero")]
    assert len(alone) == len(mail.outbox) == ALONE_LIMIT
    mail.outbox.clear()
    with tasks_inline():
        assert failure_digests_send() == 1
    (digest,) = mail.outbox
    assert digest.subject == "4 more invoices were not sent to Xero"
    assert "Tax rate not mapped to Xero (4)" in digest.body
    assert f"/a/{account.slug}/settings/integrations/xero/taxes/" in digest.body
    assert f"/a/{account.slug}/settings/integrations/xero/failures/" in digest.body
    told = {i.number for i in invoices[:ALONE_LIMIT]}
    assert not any(f"Invoice {number}:" in digest.body for number in told)
    # A second beat (or the next run) has nothing left to tell.
    mail.outbox.clear()
    with tasks_inline():
        assert failure_digests_send() == 0
    assert mail.outbox == []
