"""POST /xero/webhooks/: signature over the raw body, stored before trusted, 200 empty at once,
processed in a task, duplicates once."""

import json

import pytest

from xero_sync.models import WebhookDelivery, WebhookEvent, XeroContact
from xero_sync.webhooks.dispatch import delivery_process
from xero_sync.webhooks.store import delivery_store

from ..support.webhooks import contact_event, payload, post, sign
from .conftest import connect

CONTACT_PATH = "/api.xro/2.0/Contacts/"


@pytest.mark.django_db
def test_intent_to_receive_is_answered_200_with_an_empty_body(django_capture_on_commit_callbacks):
    body = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ABC"}
    ).encode()
    with django_capture_on_commit_callbacks(execute=False):
        response = post(body, sign(body))
    assert response.status_code == 200
    assert response.content == b""
    assert not response.cookies


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["wrong key", "changed byte", "missing"])
def test_a_wrong_signature_is_401_and_nothing_is_stored(tamper):
    body = payload(contact_event())
    signature = {
        "wrong key": sign(body, "another-key"),
        "changed byte": sign(body.replace(b"c-1", b"c-2")),
        "missing": "",
    }[tamper]
    response = post(body, signature)
    assert response.status_code == 401
    assert response.content == b""
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_a_signed_delivery_is_stored_raw_and_queued_after_commit(
    django_capture_on_commit_callbacks,
):
    body = payload(contact_event())
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(body, sign(body))
    assert response.status_code == 200 and response.content == b""
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert len(callbacks) == 1  # the processing task, sent once the row is committed


@pytest.mark.django_db
def test_events_are_dispatched_through_the_table_and_duplicates_run_once(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    tenant = connection.tenant_id
    first, second = (c["ContactID"] for c in xero.contacts(tenant)[:2])
    xero.edit_contact(tenant, first, EmailAddress="first@changed.example")
    xero.edit_contact(tenant, second, EmailAddress="second@changed.example")
    events = [e for e in xero.webhook_events() if e["resourceId"] in (first, second)]
    assert {e["eventCategory"] for e in events} == {"CONTACT"}
    body = payload(*events)
    xero.clear_requests()
    delivery_process(delivery_store(body).pk)
    # Xero re-sends the same events in a new delivery: nothing runs twice.
    delivery_process(delivery_store(body).pk)
    fetched = [r["path"] for r in xero.requests(method="GET") if r["path"].startswith(CONTACT_PATH)]
    assert sorted(fetched) == sorted(CONTACT_PATH + i for i in (first, second))
    assert WebhookEvent.objects.filter(outcome="handled").count() == len(events)
    emails = XeroContact.objects.filter(connection=connection).values_list(
        "contact__email", flat=True
    )
    assert {"first@changed.example", "second@changed.example"} <= set(emails)


@pytest.mark.django_db
def test_events_for_unconnected_organisations_or_without_handler_are_recorded():
    body = payload(contact_event(tenant_id="nobody"))
    delivery = delivery_store(body)
    delivery_process(delivery.pk)
    assert WebhookEvent.objects.get().outcome == "not_connected"


@pytest.mark.django_db
def test_signed_json_nested_too_deep_to_parse_is_recorded_as_unreadable():
    """It raised RecursionError and left the delivery unprocessed, retried for ever."""
    body = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert post(body, sign(body)).status_code == 200
    delivery = WebhookDelivery.objects.get()
    delivery_process(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    assert delivery.error.startswith("unreadable body")
