"""Turns: a drain or a contact import hands its worker back after settings.XERO_TASK_TURN_SECONDS
and queues its next turn at the back of the queue, so one organisation's burst or import never
keeps the workers from the others (bench/platform_load.py measures the effect). Each turn does
at least one batch or page; the turns together do the work exactly once."""

import json

import pytest

from xero_sync.contacts import imports
from xero_sync.invoices import drain as invoice_drain
from xero_sync.models import ContactImport, ImportStatus, InvoiceSync, InvoiceSyncState

from ..factories import contact_make
from ..support.invoices import issue_many
from .conftest import connect, start_import

POSTS = {"method": "POST", "path": "/api.xro/2.0/Invoices"}


@pytest.mark.django_db
def test_a_drain_whose_turn_is_over_stops_after_a_batch_and_says_more_is_due(ready, account, xero):
    connection, gst = ready
    issue_many(account, gst, contact_make(account, first_name="Turn", last_name="Taker"), 120)
    xero.clear_requests()
    first = invoice_drain.invoices_drain(connection.pk, turn_seconds=0)
    assert (first.batches, first.turn_over) == (1, True)
    assert InvoiceSync.objects.filter(state=InvoiceSyncState.SYNCED).count() == 50
    second = invoice_drain.invoices_drain(connection.pk, turn_seconds=0)
    third = invoice_drain.invoices_drain(connection.pk, turn_seconds=0)
    assert (second.turn_over, third.turn_over) == (True, False)
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}
    posted = [len(json.loads(r["body"])["Invoices"]) for r in xero.requests(**POSTS)]
    assert posted == [50, 50, 20]


@pytest.mark.django_db
def test_the_push_task_queues_its_next_turn_until_the_outbox_is_empty(
    ready, account, xero, settings, tasks_inline
):
    settings.XERO_TASK_TURN_SECONDS = 0  # every turn one batch
    connection, gst = ready
    contact = contact_make(account, first_name="Turn", last_name="Queue")
    xero.clear_requests()
    with tasks_inline():
        issue_many(account, gst, contact, 120)
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}
    assert [len(json.loads(r["body"])["Invoices"]) for r in xero.requests(**POSTS)] == [50, 50, 20]
    assert len(xero.invoices(connection.tenant_id)) == 120


@pytest.mark.django_db
def test_a_contact_import_whose_turn_is_over_queues_its_next_page(
    xero, account, admin_user, settings, tasks_inline
):
    xero.seed([{"name": "Turns Ltd", "n_contacts": 2100, "seed": 3}])
    connection = connect(xero, account, admin_user, org="Turns Ltd")
    run = start_import(connection, admin_user)
    # One turn by hand: one page, the run still under way and its next turn due now.
    after_one = imports.import_run(run.pk, turn_seconds=0)
    assert (after_one.status, after_one.next_page) == (ImportStatus.RUNNING, 2)
    # The task's turns, queued one after another, finish it: every page once.
    settings.XERO_TASK_TURN_SECONDS = 0
    xero.clear_requests()
    with tasks_inline():
        start_import(connection, admin_user)  # a second run, to watch its pages go by
    pages = [
        r["query"].get("page") for r in xero.requests(method="GET", path="/api.xro/2.0/Contacts")
    ]
    assert pages == ["1", "2", "3"]
    done = ContactImport.objects.order_by("-pk")[0]
    assert done.status == ImportStatus.DONE


def test_the_broker_hands_out_a_turn_sent_behind_only_after_work_sent_later():
    """A turn's next message (priority BEHIND) waits for work queued after it: Redis keeps a
    list per priority step and a worker takes from the highest first. Checked on the project's
    own broker connection, on a queue of the test's own."""
    from kombu import Exchange, Queue

    from platform_crm.celery import app
    from platform_crm.queueing import BEHIND

    queue = Queue("turn-order-test", Exchange("turn-order-test"), "turn-order-test")
    with app.connection_for_write() as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        bound.purge()
        producer = connection.Producer(serializer="json")
        for body, priority in (("next turn", BEHIND), ("a save", 0), ("another save", 0)):
            producer.publish(
                body,
                exchange=queue.exchange,
                routing_key="turn-order-test",
                declare=[queue],
                priority=priority,
            )
        taken = []
        for _ in range(3):
            message = bound.get(no_ack=True)
            assert message is not None
            taken.append(message.payload)
        bound.delete()
    assert taken == ["a save", "another save", "next turn"]
