"""Rate limits: headers on every response, 429 with Retry-After per window, concurrency."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from xero_python.exceptions import RateLimitException

from tests.xero_sandbox.conftest import api


def test_every_response_carries_remaining_counts(xero_sandbox):
    client = xero_sandbox.sdk()
    client.accounting.get_organisations(client.tenant_id)
    client.accounting.get_organisations(client.tenant_id)
    headers = client.last_headers()
    assert headers["X-MinLimit-Remaining"] == "58"
    assert headers["X-DayLimit-Remaining"] == "4998"
    assert headers["X-AppMinLimit-Remaining"] == "9998"


def test_61st_call_in_a_minute_is_429_with_retry_after_and_does_not_spend(xero_sandbox):
    client = xero_sandbox.sdk()
    xero_sandbox.set_limits(per_minute=3)
    for _ in range(3):
        client.accounting.get_organisations(client.tenant_id)
    xero_sandbox.advance(seconds=20)
    with pytest.raises(RateLimitException) as error:
        client.accounting.get_organisations(client.tenant_id)
    assert error.value.rate_limit == "minute"
    assert 39 <= int(error.value.headers["Retry-After"]) <= 41
    assert xero_sandbox.limits()["usage"][client.tenant_id]["minute_used"] == 3
    xero_sandbox.advance(seconds=41)
    client.accounting.get_organisations(client.tenant_id)
    assert client.last_headers()["X-MinLimit-Remaining"] == "2"


def test_limits_are_per_tenant_and_day_limit_reports_day(http, xero_sandbox):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([first, second])
    xero_sandbox.set_limits(per_day=2)
    for _ in range(2):
        assert api(http, xero_sandbox, "GET", "/Organisation", token, first).status == 200
    refused = api(http, xero_sandbox, "GET", "/Organisation", token, first)
    assert refused.status == 429 and refused.headers["X-Rate-Limit-Problem"] == "day"
    assert int(refused.headers["Retry-After"]) > 80000
    assert api(http, xero_sandbox, "GET", "/Organisation", token, second).status == 200


def test_sixth_concurrent_call_is_429_concurrent(http, xero_sandbox):
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    xero_sandbox.fault("latency", path="/api.xro/2.0/organisation", seconds=0.6, count=5)
    with ThreadPoolExecutor(6) as pool:
        slow = [
            pool.submit(api, http, xero_sandbox, "GET", "/Organisation", token, tenant)
            for _ in range(5)
        ]
        import time

        time.sleep(0.25)
        sixth = api(http, xero_sandbox, "GET", "/Organisation", token, tenant)
        results = [f.result() for f in slow]
    assert [r.status for r in results] == [200] * 5
    assert sixth.status == 429 and sixth.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert "Retry-After" not in sixth.headers
    assert json.loads(sixth.data)["Status"] == 429
