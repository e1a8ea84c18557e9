"""Injected faults: status codes, latency, timeouts, dropped connections, lost responses."""

import json
import time

import pytest
import urllib3
from xero_python.exceptions import HTTPStatusException

from tests.xero_sandbox.conftest import api, invoice_body


@pytest.fixture
def setup(xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    return tenant, xero_sandbox.token_for(tenant)


@pytest.mark.parametrize("status", [500, 503])
def test_status_fault_hits_next_n_matching_calls_only(xero_sandbox, status):
    client = xero_sandbox.sdk()
    xero_sandbox.fault(
        "status", method="GET", path="/api.xro/2.0/Organisation", status=status, count=2
    )
    for _ in range(2):
        with pytest.raises(HTTPStatusException) as error:
            client.accounting.get_organisations(client.tenant_id)
        assert error.value.status == status
    client.accounting.get_organisations(client.tenant_id)
    client.accounting.get_tax_rates(client.tenant_id)
    assert [r["status"] for r in xero_sandbox.requests(path="*/organisation")] == [
        status,
        status,
        200,
    ]


def test_latency_delays_and_timeout_exceeds_client_timeout(http, xero_sandbox, setup):
    tenant, token = setup
    xero_sandbox.fault("latency", path="*/Organisation", seconds=0.3)
    started = time.monotonic()
    assert api(http, xero_sandbox, "GET", "/Organisation", token, tenant).status == 200
    assert time.monotonic() - started >= 0.3
    xero_sandbox.fault("timeout", path="*/Organisation", seconds=3)
    quick = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=1, read=0.3))
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api(quick, xero_sandbox, "GET", "/Organisation", token, tenant)
    xero_sandbox.clear_faults()  # releases the held request


def test_dropped_connection_gives_no_response_and_no_write(http, xero_sandbox, setup):
    tenant, token = setup
    contact = xero_sandbox.contacts(tenant)[0]["ContactID"]
    xero_sandbox.fault("drop", method="PUT", path="*/Invoices")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api(
            http,
            xero_sandbox,
            "PUT",
            "/Invoices",
            token,
            tenant,
            body={"Invoices": [invoice_body(contact)]},
        )
    assert xero_sandbox.invoices(tenant) == []


def test_lost_response_commits_then_drops_and_idempotent_retry_returns_it(
    http, xero_sandbox, setup
):
    tenant, token = setup
    contact = xero_sandbox.contacts(tenant)[0]["ContactID"]
    body = {"Invoices": [invoice_body(contact)]}
    xero_sandbox.fault("lost_response", method="PUT", path="*/Invoices")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api(
            http,
            xero_sandbox,
            "PUT",
            "/Invoices",
            token,
            tenant,
            body=body,
            headers={"Idempotency-Key": "lost-1"},
        )
    assert len(xero_sandbox.invoices(tenant)) == 1
    retry = api(
        http,
        xero_sandbox,
        "PUT",
        "/Invoices",
        token,
        tenant,
        body=body,
        headers={"Idempotency-Key": "lost-1"},
    )
    assert retry.status == 200
    assert (
        json.loads(retry.data)["Invoices"][0]["InvoiceID"]
        == xero_sandbox.invoices(tenant)[0]["InvoiceID"]
    )
    assert len(xero_sandbox.invoices(tenant)) == 1
    assert [r["dropped"] for r in xero_sandbox.requests(method="PUT")] == [True, False]


def test_probability_faults_are_reproducible_with_a_seed(http, xero_sandbox, setup):
    tenant, token = setup

    def run() -> list[int]:
        xero_sandbox.clear_faults()
        xero_sandbox.set_limits(reset_usage=True)
        xero_sandbox.fault("status", path="*/TaxRates", probability=0.5, count=None, seed=7)
        return [
            api(http, xero_sandbox, "GET", "/TaxRates", token, tenant).status for _ in range(12)
        ]

    first = run()
    assert first == run()
    assert 500 in first and 200 in first


def test_token_endpoint_can_lose_its_response_and_the_grace_period_saves_the_client(
    http, xero_sandbox
):
    token = xero_sandbox.token_for()
    xero_sandbox.fault("lost_response", path="/connect/token")
    form = (
        f"grant_type=refresh_token&refresh_token={token['refresh_token']}"
        f"&client_id={xero_sandbox.client_id}&client_secret={xero_sandbox.client_secret}"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(urllib3.exceptions.ProtocolError):
        http.request("POST", xero_sandbox.token_url, body=form, headers=headers)
    again = http.request("POST", xero_sandbox.token_url, body=form, headers=headers)
    assert again.status == 200 and json.loads(again.data)["refresh_token"] != token["refresh_token"]


def test_control_calls_are_neither_logged_nor_rate_limited(xero_sandbox):
    xero_sandbox.set_limits(per_minute=1)
    for _ in range(5):
        xero_sandbox.tenants()
    assert xero_sandbox.requests() == []
