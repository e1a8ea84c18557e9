"""The sandbox delivers signed webhooks to the running product over HTTP."""

import pytest

from xero_sync.models import WebhookDelivery, WebhookEvent

from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import KIWI

pytestmark = pytest.mark.slow


@pytest.fixture
def webhooks_to_us(live_server, settings, xero_sandbox, transactional_db):
    point_at_sandbox(settings, xero_sandbox)
    xero_sandbox.webhooks(url=f"{live_server.url}/xero/webhooks/", key=settings.XERO_WEBHOOK_KEY)
    return xero_sandbox


def test_intent_to_receive_passes_and_a_wrong_signature_is_refused(webhooks_to_us):
    report = webhooks_to_us.intent_to_receive(rounds=3)
    assert report["ok"], report
    assert len(report["results"]) == 6
    refused = webhooks_to_us.send_bad_signature()
    assert refused["status"] == 401
    assert not WebhookDelivery.objects.exclude(event_count=0).exists()


def test_a_contact_edited_in_xero_arrives_and_is_processed_by_a_worker(
    webhooks_to_us, celery_worker
):
    tenant = webhooks_to_us.tenant_id(KIWI)
    contact = webhooks_to_us.contacts(tenant)[0]
    webhooks_to_us.edit_contact(tenant, contact["ContactID"], EmailAddress="new@example.com")
    deliveries = webhooks_to_us.flush_webhooks()
    assert deliveries and all(d["state"] == "delivered" for d in deliveries)
    event = celery_worker.wait_for(
        lambda: WebhookEvent.objects.filter(resource_id=contact["ContactID"]).first()
    )
    assert (event.category, event.event_type, event.tenant_id) == ("CONTACT", "UPDATE", tenant)
    # No organisation is connected in this test, and the contact handler is not built yet.
    celery_worker.wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).processed_at)
    assert WebhookEvent.objects.get(pk=event.pk).outcome == "not_connected"
