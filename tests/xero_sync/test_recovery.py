"""Long jobs are recoverable: a contact import or preview whose task was lost is found by the sweep
and resumes at its checkpoint; two copies of a run's task never both apply pages; a webhook delivery
stored but never processed is swept and processed, and one whose processing died mid-way handles the
events it left. And pages that need Xero degrade, never fail, while Redis (the rate limiter and the
cache) cannot be reached. The kills and Redis restarts themselves are in tests/faults/."""

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from xero_sync.client.errors import Transient
from xero_sync.client.limits import redis_client
from xero_sync.contacts import imports
from xero_sync.contacts.tasks import contact_import_task, contact_imports_sweep_task
from xero_sync.models import (
    ConnectionStatus,
    ContactImport,
    ImportStatus,
    WebhookDelivery,
    WebhookEvent,
    XeroConnection,
    XeroContact,
)
from xero_sync.webhooks.dispatch import delivery_process, event_record
from xero_sync.webhooks.store import delivery_store
from xero_sync.webhooks.tasks import webhook_deliveries_sweep_task

from ..factories import client_for
from ..support.waiting import wait_until
from ..support.webhooks import contact_event, payload
from .conftest import KIWI, connect, start_import

CONTACT_PAGES = "/api.xro/2.0/Contacts"


def long_ago(run: ContactImport) -> None:
    """The run last moved, and was last queued, an hour ago."""
    hour_ago = timezone.now() - timedelta(hours=1)
    ContactImport.objects.filter(pk=run.pk).update(progressed_at=hour_ago, next_attempt_at=hour_ago)


def pages_served(xero) -> list[str]:
    return [
        str(r["query"].get("page"))
        for r in xero.requests(method="GET", path=CONTACT_PAGES)
        if r["status"] == 200
    ]


@pytest.fixture
def big(xero, account, admin_user):
    """Connected to an organisation of 2,500 contacts (three pages)."""
    tenant = xero.seed([{"name": "Big Ltd", "n_contacts": 2500, "seed": 7}])[0]["tenantId"]
    connection = connect(xero, account, admin_user, org="Big Ltd")
    active = {
        c["ContactID"]
        for c in xero.contacts(tenant)
        if c["ContactStatus"] == "ACTIVE" and not c.get("MergedToContactID")
    }
    xero.clear_requests()
    return connection, active


@pytest.mark.django_db
def test_a_stalled_import_is_swept_and_resumes_at_its_checkpoint(big, xero, tasks_inline):
    connection, active = big
    run = start_import(connection)
    xero.fault("drop", method="GET", path=CONTACT_PAGES, after=1)
    with pytest.raises(Transient):  # page 2 is lost, and its task with it (nothing retries)
        imports.import_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.next_page) == (ImportStatus.RUNNING, 2)
    assert imports.imports_stalled() == []  # it moved a moment ago
    long_ago(run)

    with tasks_inline():
        assert contact_imports_sweep_task.delay().get() == 1

    run.refresh_from_db()
    assert run.status == ImportStatus.DONE
    assert set(XeroContact.objects.values_list("xero_contact_id", flat=True)) == active
    assert Contact.objects.filter(account=connection.account).count() == len(active)
    assert pages_served(xero) == ["1", "2", "3"]  # page 1 was not applied again
    assert imports.imports_stalled() == []


@pytest.mark.django_db
def test_a_preview_or_queued_run_whose_message_was_lost_is_swept(big, xero, tasks_inline):
    connection, _ = big
    preview = start_import(connection, preview=True)  # its message never reaches a worker
    queued = start_import(connection)
    long_ago(preview)
    long_ago(queued)
    assert sorted(imports.imports_stalled()) == sorted([preview.pk, queued.pk])

    with tasks_inline():
        contact_imports_sweep_task.delay()

    preview.refresh_from_db()
    queued.refresh_from_db()
    assert (preview.status, queued.status) == (ImportStatus.PREVIEWED, ImportStatus.DONE)


@pytest.mark.django_db
def test_runs_waiting_for_xero_or_a_reconnect_are_left_alone(big):
    connection, _ = big
    waiting = start_import(connection)
    long_ago(waiting)
    imports.import_wait(waiting.pk, 600)  # Xero asked for ten minutes
    parked = start_import(connection, preview=True)
    long_ago(parked)
    assert imports.imports_stalled() == [parked.pk]
    XeroConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    assert imports.imports_stalled() == []  # the reconnect resumes it


@pytest.mark.django_db(transaction=True)
def test_a_run_with_a_live_task_is_not_swept_and_a_second_copy_applies_nothing(big, xero):
    connection, active = big
    run = start_import(connection)
    # Xero is slow with page 2: the copy at work holds the run for five seconds after page 1.
    xero.fault("latency", method="GET", path=CONTACT_PAGES, seconds=5.0, after=1, count=1)
    first = threading.Thread(target=imports.import_run, args=(run.pk,))
    first.start()
    try:

        def page_one_applied() -> bool:
            run.refresh_from_db()
            return run.next_page >= 2

        wait_until(page_one_applied, 30, describe=lambda: "the first copy never applied page 1")
        long_ago(run)
        assert imports.imports_stalled() == []  # its task is alive
        imports.import_run(run.pk)  # a second copy (a redelivered message) returns
    finally:
        first.join(timeout=60)
    # The run's own message may have reached a worker first: then that is the live copy.

    def done() -> bool:
        run.refresh_from_db()
        return run.status == ImportStatus.DONE

    wait_until(done, 60, 0.1)
    assert pages_served(xero) == ["1", "2", "3"]  # no other copy fetched anything
    assert XeroContact.objects.filter(connection=connection).count() == len(active)


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_an_import_task_on_a_worker_apply_each_page_once(big, xero, celery_worker):
    connection, active = big
    run = start_import(connection)  # its own message, and one more: a redelivery
    xero.fault("latency", method="GET", path=CONTACT_PAGES, seconds=0.5, count=None)
    contact_import_task.delay(run.pk)

    def finished() -> bool:
        run.refresh_from_db()
        return run.status == ImportStatus.DONE

    celery_worker.wait_for(finished, 60)
    assert pages_served(xero) == ["1", "2", "3"]
    assert run.processed == run.item_count == 2500
    assert XeroContact.objects.filter(connection=connection).count() == len(active)


def contact_delivery(tenant_id: str, contact_id: str) -> WebhookDelivery:
    return delivery_store(payload(contact_event(tenant_id=tenant_id, resource_id=contact_id)))


@pytest.fixture
def imported(xero, account, admin_user):
    """Kiwi connected and imported; returns (connection, a Xero contact edited since)."""
    connection = connect(xero, account, admin_user)
    imports.import_run(start_import(connection).pk)
    tenant = xero.tenant_id(KIWI)
    first = xero.contacts(tenant)[0]
    return connection, xero.edit_contact(tenant, first["ContactID"], EmailAddress="new@x.example")


@pytest.mark.django_db(transaction=True)
def test_a_delivery_stored_but_never_processed_is_swept_and_processed(imported, celery_worker):
    connection, edited = imported
    delivery = contact_delivery(connection.tenant_id, edited["ContactID"])  # no task queued
    fresh = contact_delivery(connection.tenant_id, "not-yet-due")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(hours=1)
    )

    webhook_deliveries_sweep_task.delay()

    celery_worker.wait_for(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=False).exists()
    )
    event = WebhookEvent.objects.get(delivery=delivery)
    assert event.outcome == "handled"
    crm = Contact.objects.get(xero_link__xero_contact_id=edited["ContactID"])
    assert crm.email == "new@x.example"
    # One received a moment ago may still have its own task coming: not queued again yet.
    fresh.refresh_from_db()
    assert fresh.processed_at is None and fresh.queued_at is None


@pytest.mark.django_db
def test_events_left_by_a_processing_that_died_are_handled_by_the_next(imported):
    connection, edited = imported
    delivery = contact_delivery(connection.tenant_id, edited["ContactID"])
    # A worker recorded the event, then died before handling it.
    event_record(
        delivery, contact_event(tenant_id=connection.tenant_id, resource_id=edited["ContactID"])
    )

    delivery_process(delivery.pk)

    event = WebhookEvent.objects.get(delivery=delivery)
    assert event.outcome == "handled" and event.processed_at
    assert Contact.objects.get(xero_link__xero_contact_id=edited["ContactID"]).email == (
        "new@x.example"
    )


@pytest.mark.django_db
def test_pages_that_need_xero_say_so_when_redis_cannot_be_reached(
    xero, account, admin_user, settings
):
    connection = connect(xero, account, admin_user)
    client = client_for(admin_user)
    cache.clear()
    slug = [account.slug]

    redis_unreachable_now(settings)
    try:
        integrations = client.get(reverse("xero_sync:integrations", args=slug))
        contacts = client.get(reverse("xero_sync:contacts", args=slug), follow=True)
        payment = client.get(reverse("xero_sync:payment_account", args=slug), follow=True)
        # A group import cannot be checked against Xero's groups: nothing starts.
        grouped = client.post(
            reverse("xero_sync:contacts", args=slug),
            {"scope": "groups", "group": "g-1", "action": "import", "others": "on"},
            follow=True,
        )
    finally:
        redis_client.cache_clear()

    assert integrations.status_code == contacts.status_code == payment.status_code == 200
    assert "cannot be reached just now" in contacts.content.decode()
    assert "cannot be reached just now" in payment.content.decode()
    assert grouped.status_code == 200
    assert "importing only some groups cannot be chosen" in grouped.content.decode()
    assert not ContactImport.objects.filter(connection=connection).exists()


def redis_unreachable_now(settings) -> None:
    nowhere = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = nowhere
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": nowhere}}
    redis_client.cache_clear()
