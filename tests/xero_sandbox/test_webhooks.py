"""Webhooks: signed, batched, retried; intent to receive; HTML and payments fire events."""

import json
import urllib.parse

import urllib3

from tests.xero_sandbox.conftest import api, invoice_body


def test_api_changes_are_batched_signed_and_shaped_per_spec(http, xero_sandbox, receiver):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    body = {"Contacts": [{"Name": "Hook One"}, {"Name": "Hook Two"}]}
    created = json.loads(
        api(http, xero_sandbox, "PUT", "/Contacts", token, tenant, body=body).data
    )["Contacts"]
    xero_sandbox.flush_webhooks()
    assert len(receiver.received) == 1  # one POST carrying both events
    payload = receiver.received[0]["body"]
    assert set(payload) == {"events", "firstEventSequence", "lastEventSequence", "entropy"}
    assert payload["lastEventSequence"] == payload["firstEventSequence"] + 1
    events = payload["events"]
    assert {e["resourceId"] for e in events} == {c["ContactID"] for c in created}
    event = events[0]
    assert set(event) == {
        "resourceUrl",
        "resourceId",
        "eventDateUtc",
        "eventType",
        "eventCategory",
        "tenantId",
        "tenantType",
    }
    assert (event["eventType"], event["eventCategory"], event["tenantType"]) == (
        "CREATE",
        "CONTACT",
        "ORGANISATION",
    )
    assert event["tenantId"] == tenant and event["resourceUrl"].endswith(
        f"/Contacts/{event['resourceId']}"
    )


def test_failed_delivery_is_retried_until_accepted(xero_sandbox, receiver):
    receiver.fail_next = 2
    tenant = xero_sandbox.tenant_id()
    contact = xero_sandbox.contacts(tenant)[0]
    xero_sandbox.edit_contact(tenant, contact["ContactID"], FirstName="Retry")
    deliveries = xero_sandbox.flush_webhooks()
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 500, 200]
    assert deliveries[0]["state"] == "delivered"
    assert [e["eventType"] for e in receiver.events()] == ["UPDATE"]


def test_intent_to_receive_checks_200_and_401(xero_sandbox, receiver):
    report = xero_sandbox.intent_to_receive()
    assert report["ok"] is True
    bodies = [r["body"] for r in receiver.received]
    assert all(b["events"] == [] and b["firstEventSequence"] == 0 for b in bodies)
    receiver.key = "a-different-key"  # now the receiver rejects everything
    assert xero_sandbox.intent_to_receive()["ok"] is False


def test_bad_signature_delivery_is_refused_by_a_correct_receiver(xero_sandbox, receiver):
    assert xero_sandbox.send_bad_signature()["status"] == 401


def test_payment_fires_invoice_update_unless_disabled(xero_sandbox, receiver):
    client = xero_sandbox.sdk()
    contact = xero_sandbox.contacts(client.tenant_id)[0]["ContactID"]
    invoice = xero_sandbox.create_invoice(client.tenant_id, invoice_body(contact))
    xero_sandbox.flush_webhooks()
    xero_sandbox.pay_invoice(client.tenant_id, invoice["InvoiceID"], amount="10.00")
    xero_sandbox.flush_webhooks()
    assert [(e["eventCategory"], e["eventType"]) for e in receiver.events()] == [
        ("INVOICE", "CREATE"),
        ("INVOICE", "UPDATE"),
    ]
    xero_sandbox.configure(webhook_on_payment=False)
    xero_sandbox.pay_invoice(client.tenant_id, invoice["InvoiceID"], amount="10.00")
    xero_sandbox.flush_webhooks()
    assert len(receiver.events()) == 2


def test_html_view_edits_contact_and_pays_invoice_firing_webhooks(xero_sandbox, receiver):
    http = urllib3.PoolManager(retries=False)
    tenant = xero_sandbox.tenant_id()
    contact = xero_sandbox.contacts(tenant)[0]
    page = http.request("GET", f"{xero_sandbox.url}/orgs/{tenant}/contacts/{contact['ContactID']}")
    assert page.status == 200 and b'id="contact-form"' in page.data
    form = urllib.parse.urlencode(
        {
            "Name": contact["Name"],
            "FirstName": "Edited",
            "LastName": "",
            "EmailAddress": "edited@example.com",
            "ContactNumber": "",
        }
    )
    saved = http.request(
        "POST",
        f"{xero_sandbox.url}/orgs/{tenant}/contacts/{contact['ContactID']}",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        redirect=False,
    )
    assert saved.status == 302
    stored = next(
        c for c in xero_sandbox.contacts(tenant) if c["ContactID"] == contact["ContactID"]
    )
    assert stored["EmailAddress"] == "edited@example.com"

    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact["ContactID"]))
    view = http.request("GET", f"{xero_sandbox.url}/orgs/{tenant}/invoices/{invoice['InvoiceID']}")
    assert b'id="pay-form"' in view.data and b"115.00" in view.data
    paid = http.request(
        "POST",
        f"{xero_sandbox.url}/orgs/{tenant}/invoices/{invoice['InvoiceID']}",
        body="amount=115.00&account=090",
        redirect=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert paid.status == 302
    assert xero_sandbox.invoices(tenant)[0]["Status"] == "PAID"
    xero_sandbox.flush_webhooks()
    kinds = [(e["eventCategory"], e["eventType"]) for e in receiver.events()]
    assert kinds == [("CONTACT", "UPDATE"), ("INVOICE", "CREATE"), ("INVOICE", "UPDATE")]
    home = http.request("GET", f"{xero_sandbox.url}/orgs/{tenant}")
    assert home.status == 200 and b'id="tax-rates"' in home.data


def test_events_are_recorded_even_without_a_url(xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    contact = xero_sandbox.contacts(tenant)[0]
    xero_sandbox.edit_contact(tenant, contact["ContactID"], LastName="Quiet")
    assert [e["resourceId"] for e in xero_sandbox.webhook_events()] == [contact["ContactID"]]
    assert xero_sandbox.webhook_deliveries() == []
