"""Idempotency-Key: a replay returns the first response and creates nothing."""

import json

from tests.xero_sandbox.conftest import api, invoice_body


def test_replay_returns_first_response_and_creates_nothing(http, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    contact_id = xero_sandbox.contacts(tenant)[0]["ContactID"]
    body = {"Invoices": [invoice_body(contact_id)]}
    first = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=body,
        headers={"Idempotency-Key": "k-1"},
    )
    again = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=body,
        headers={"Idempotency-Key": "k-1"},
    )
    assert first.status == again.status == 200
    assert (
        json.loads(first.data)["Invoices"][0]["InvoiceID"]
        == json.loads(again.data)["Invoices"][0]["InvoiceID"]
    )
    assert len(xero_sandbox.invoices(tenant)) == 1
    log = xero_sandbox.idempotency_log()
    assert [(e["key"], e["method"], e["replays"]) for e in log] == [("k-1", "PUT", 1)]
    other = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=body,
        headers={"Idempotency-Key": "k-2"},
    )
    assert other.status == 200 and len(xero_sandbox.invoices(tenant)) == 2


def test_key_reused_with_other_body_replays_or_rejects_as_configured(http, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    contacts = xero_sandbox.contacts(tenant)
    one = {"Invoices": [invoice_body(contacts[0]["ContactID"])]}
    two = {"Invoices": [invoice_body(contacts[1]["ContactID"])]}
    api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=one,
        headers={"Idempotency-Key": "same"},
    )
    replay = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=two,
        headers={"Idempotency-Key": "same"},
    )
    assert (
        json.loads(replay.data)["Invoices"][0]["Contact"]["ContactID"] == contacts[0]["ContactID"]
    )
    xero_sandbox.configure(idempotency_mismatch="reject")
    refused = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=two,
        headers={"Idempotency-Key": "same"},
    )
    assert refused.status == 400
    assert len(xero_sandbox.invoices(tenant)) == 1


def test_keys_expire_after_the_window_and_are_scoped_per_tenant(http, xero_sandbox):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([first, second])
    for tenant in (first, second):
        contact = xero_sandbox.contacts(tenant)[0]["ContactID"]
        api(
            http,
            xero_sandbox,
            "PUT",
            "/Invoices",
            token,
            tenant,
            body={"Invoices": [invoice_body(contact)]},
            headers={"Idempotency-Key": "shared"},
        )
    assert len(xero_sandbox.invoices(first)) == len(xero_sandbox.invoices(second)) == 1
    xero_sandbox.advance(hours=24, seconds=1)
    token = xero_sandbox.token_for(first)
    contact = xero_sandbox.contacts(first)[0]["ContactID"]
    api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        first,
        body={"Invoices": [invoice_body(contact)]},
        headers={"Idempotency-Key": "shared"},
    )
    assert len(xero_sandbox.invoices(first)) == 2


def test_sdk_idempotency_key_is_honoured_for_payments(xero_sandbox):
    import datetime as dt
    from decimal import Decimal

    from xero_python.accounting import Account, Invoice, Payment, Payments

    client = xero_sandbox.sdk()
    contact = xero_sandbox.contacts(client.tenant_id)[0]["ContactID"]
    invoice = xero_sandbox.create_invoice(client.tenant_id, invoice_body(contact))
    payment = Payment(
        invoice=Invoice(invoice_id=invoice["InvoiceID"]),
        account=Account(code="090"),
        date=dt.date(2026, 3, 2),
        amount=Decimal("10.00"),
    )
    for _ in range(2):
        client.accounting.create_payments(
            client.tenant_id, Payments(payments=[payment]), idempotency_key="pay-1"
        )
    assert len(xero_sandbox.state(client.tenant_id, "payments")["Payments"]) == 1
