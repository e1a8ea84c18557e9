"""Failure emails: one per failure for the first few, then one digest per account, grouped by
cause with the fix, sent once however many beats run it."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from invoices.services import LineInput, invoice_issue, invoice_update
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroConnection
from xero_sync.ops.failure_mail import ALONE_LIMIT, failure_digests_send, failure_key
from xero_sync.taxes import services as tax_services

from ..factories import client_for, contact_make, invoice_make, tax_rate_make
from ..support.invoices import issue_many
from .conftest import connect


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


@pytest.mark.django_db
def test_one_failure_is_emailed_once_through_issue_and_retry_until_the_invoice_reaches_xero(
    xero, account, admin_user, tasks_inline
):
    connection = connect(xero, account, admin_user)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    mail.outbox.clear()
    with tasks_inline():  # the draft's push fails: the tax rate is not mapped
        invoice = invoice_make(
            account,
            lines=[
                LineInput(
                    description="Call-out",
                    quantity=Decimal(1),
                    unit_price=Decimal(100),
                    tax_rate=gst,
                )
            ],
        )
    assert [m.subject for m in mail.outbox] == [f"Invoice {invoice.number} was not sent to Xero"]
    with tasks_inline():  # issuing it fails the same way
        invoice_issue(invoice=invoice)
    retry = reverse("xero_sync:invoice_retry", args=[account.slug, invoice.pk])
    with tasks_inline():  # and so does Retry before the fix
        client_for(admin_user).post(retry)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "unmapped_tax"
    assert sync.attempts == 1  # it was tried again (the Retry)
    assert len(mail.outbox) == 1
    assert failure_digests_send() == 0  # nothing is owed to a digest either

    # Another cause is another failure: told.
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    XeroConnection.objects.filter(pk=connection.pk).update(sales_account_code="999")
    with tasks_inline():
        client_for(admin_user).post(retry)
    sync.refresh_from_db()
    assert sync.error_cause == "sales_account"
    assert len(mail.outbox) == 2

    # Fixed (and edited): it reaches Xero. The same failure later is a new one, told again.
    XeroConnection.objects.filter(pk=connection.pk).update(sales_account_code="200")
    with tasks_inline():
        invoice_update(invoice=invoice, name="Call-out")
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
    XeroConnection.objects.filter(pk=connection.pk).update(sales_account_code="999")
    with tasks_inline():
        invoice_update(invoice=invoice, name="Call-out, again")
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "sales_account"
    assert len(mail.outbox) == 3
    assert [m.subject for m in mail.outbox] == [
        f"Invoice {invoice.number} was not sent to Xero"
    ] * 3


def test_the_same_failure_is_the_same_cause_and_message():
    key = failure_key("unmapped_tax", "The tax rate GST cannot be used in Xero.")
    assert key == failure_key("unmapped_tax", "The tax rate GST cannot be used in Xero.")
    assert key != failure_key("unmapped_tax", "The tax rate PST cannot be used in Xero.")
    assert key != failure_key("line_tax", "The tax rate GST cannot be used in Xero.")
    # An outage's words change from one attempt to the next; it is still the one failure.
    assert failure_key("xero_unavailable", "after 12 attempts (503)") == failure_key(
        "xero_unavailable", "after 12 attempts (no answer)"
    )
