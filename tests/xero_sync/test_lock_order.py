"""Staff saving an invoice and the sync writing down what happened to it never deadlock: both
lock the invoice's row before its sync row."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.db import transaction

from invoices.models import Invoice
from invoices.services import payment_record
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices.refusals import RowFailed
from xero_sync.invoices.rows import Row
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..support.invoices import issue


def in_thread(target, errors: list) -> threading.Thread:
    def run():
        try:
            target()
        except Exception as error:  # the test reads what each side met
            errors.append(error)
        finally:
            db_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_failure_written_while_staff_record_a_payment_does_not_deadlock(
    ready,
    account,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    row = Row(sync, sync.version)
    errors: list[Exception] = []
    staff_holds_invoice = threading.Event()

    def staff_records_a_payment():
        with transaction.atomic():
            # payment_record locks the invoice, then (through the outbox) its sync row; hold
            # the invoice while the drain writes its failure.
            Invoice.objects.select_for_update().filter(pk=invoice.pk).values_list("pk").get()
            staff_holds_invoice.set()
            time.sleep(0.5)
            payment_record(invoice=invoice, amount=Decimal("10.00"))

    def drain_writes_a_failure():
        staff_holds_invoice.wait(5)
        invoice_drain.row_fail(row, RowFailed("validation", "Xero refused it: test"))

    threads = [
        in_thread(staff_records_a_payment, errors),
        in_thread(drain_writes_a_failure, errors),
    ]
    for thread in threads:
        thread.join(30)
    assert errors == []
    sync.refresh_from_db()
    # The payment's change came after the push this failure was about: the row stays pending.
    assert sync.state == InvoiceSyncState.PENDING and invoice.payments.count() == 1
