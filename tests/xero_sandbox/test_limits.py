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


def test_the_app_wide_minute_limit_spans_every_organisation(http, xero_sandbox):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([first, second])
    xero_sandbox.set_limits(app_per_minute=3)
    answers = [
        api(http, xero_sandbox, "GET", "/Organisation", token, tenant)
        for tenant in (first, second, first)
    ]
    assert [a.headers["X-AppMinLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert [a.headers["X-MinLimit-Remaining"] for a in answers] == ["59", "59", "58"]
    xero_sandbox.advance(seconds=15)
    refused = api(http, xero_sandbox, "GET", "/Organisation", token, second)
    assert refused.status == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"
    assert 44 <= int(refused.headers["Retry-After"]) <= 46
    assert refused.headers["X-AppMinLimit-Remaining"] == "0"
    assert refused.headers["X-MinLimit-Remaining"] == "59"  # the org's own minute is untouched
    assert xero_sandbox.limits()["app"]["minute_used"] == 3
    xero_sandbox.advance(seconds=46)
    assert api(http, xero_sandbox, "GET", "/Organisation", token, second).status == 200


def test_a_starter_organisation_has_its_own_day_limit_reported_on_every_answer(http, xero_sandbox):
    starter, other = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([starter, other])
    applying = xero_sandbox.set_org_limits(starter, per_day=1000)
    assert (applying["per_day"], applying["per_minute"], applying["concurrent"]) == (1000, 60, 5)
    ok = api(http, xero_sandbox, "GET", "/Organisation", token, starter)
    missing = api(http, xero_sandbox, "GET", "/Invoices/00000000-0000-0000-0000-000000000009",
                  token, starter)  # fmt: skip
    invalid = api(http, xero_sandbox, "PUT", "/Contacts", token, starter, {"Contacts": [{}]})
    assert [(a.status, a.headers["X-DayLimit-Remaining"]) for a in (ok, missing, invalid)] == [
        (200, "999"),
        (404, "998"),
        (400, "997"),
    ]
    beside = api(http, xero_sandbox, "GET", "/Organisation", token, other)
    assert beside.headers["X-DayLimit-Remaining"] == "4999"
    xero_sandbox.set_org_limits(starter, per_day=4)
    api(http, xero_sandbox, "GET", "/Organisation", token, starter)
    refused = api(http, xero_sandbox, "GET", "/Organisation", token, starter)
    assert refused.status == 429 and refused.headers["X-Rate-Limit-Problem"] == "day"
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert 86000 < int(refused.headers["Retry-After"]) <= 86400
    xero_sandbox.advance(days=1)
    token = xero_sandbox.token_for(starter)  # the old one expired meanwhile
    again = api(http, xero_sandbox, "GET", "/Organisation", token, starter)
    assert again.status == 200 and again.headers["X-DayLimit-Remaining"] == "3"
    back = xero_sandbox.set_org_limits(starter, per_day=None)
    assert back["per_day"] == 5000 and back["usage"]["day_used"] == 1
    xero_sandbox.reset()
    assert xero_sandbox.org_limits(starter)["per_day"] == 5000  # reset forgets them


def test_seeding_many_small_organisations_on_a_starter_app(http, xero_sandbox):
    made = xero_sandbox.seed_many(3, name="Tiny Org {n:02d}", n_contacts=2, per_day=1000)
    assert [t["name"] for t in made] == ["Tiny Org 01", "Tiny Org 02", "Tiny Org 03"]
    assert [t["contacts"] for t in made] == [2, 2, 2]
    ids = [t["tenantId"] for t in made]
    contact_ids = [
        {c["ContactID"] for c in xero_sandbox.contacts(tenant)} for tenant in ids
    ]  # each org has its own contacts, not copies of one
    assert not contact_ids[0] & contact_ids[1] and not contact_ids[1] & contact_ids[2]
    token = xero_sandbox.token_for(ids[1])
    answer = api(http, xero_sandbox, "GET", "/Organisation", token, ids[1])
    assert answer.headers["X-DayLimit-Remaining"] == "999"
    assert json.loads(answer.data)["Organisations"][0]["Name"] == "Tiny Org 02"
    named = xero_sandbox.seed_many(2, name="Plain", n_contacts=0)
    assert [t["name"] for t in named] == ["Plain 1", "Plain 2"]
    assert xero_sandbox.org_limits(named[0]["tenantId"])["per_day"] == 5000


def test_bytes_sent_are_counted_per_organisation_per_day(http, xero_sandbox):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([first, second])
    xero_sandbox.set_clock("2026-05-01T23:59:00+00:00")
    received = {first: 0, second: 0}
    for tenant, path in ((first, "/Contacts"), (second, "/Accounts"), (first, "/Organisation")):
        received[tenant] += len(api(http, xero_sandbox, "GET", path, token, tenant).data)
    xero_sandbox.set_limits(per_minute=1, reset_usage=True)
    for _ in range(2):
        answer = api(http, xero_sandbox, "GET", "/Organisation", token, second)
        received[second] += len(answer.data)
    assert answer.status == 429  # a refusal is sent too, and counts
    xero_sandbox.advance(minutes=2)  # the next UTC day
    late = len(api(http, xero_sandbox, "GET", "/Organisation", token, first).data)
    rows = {(r["tenant"], r["day"]): r for r in xero_sandbox.egress()}
    assert rows[(first, "2026-05-01")]["bytes"] == received[first]
    assert rows[(second, "2026-05-01")]["bytes"] == received[second]
    assert rows[(first, "2026-05-01")]["responses"] == 2
    assert rows[(second, "2026-05-01")]["responses"] == 3
    assert rows[(first, "2026-05-02")]["bytes"] == late
    log = xero_sandbox.requests(tenant=first)
    assert sum(r["response_bytes"] for r in log) == received[first] + late
    assert [r["tenant"] for r in xero_sandbox.egress(tenant=second)] == [second]
    assert xero_sandbox.egress(day="2026-05-02") == [rows[(first, "2026-05-02")]]


def test_every_refusal_names_its_limit_with_retry_after_and_every_remaining_count(
    http, xero_sandbox
):
    first, second = [t["tenantId"] for t in xero_sandbox.tenants()]
    token = xero_sandbox.token_for([first, second])

    def refused(tenant: str, problem: str) -> None:
        answer = api(http, xero_sandbox, "GET", "/Organisation", token, tenant)
        assert answer.status == 429
        assert answer.headers["X-Rate-Limit-Problem"] == problem
        assert int(answer.headers["Retry-After"]) >= 1
        for name in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
            assert int(answer.headers[name]) >= 0, name

    xero_sandbox.set_limits(app_per_minute=1)
    assert api(http, xero_sandbox, "GET", "/Organisation", token, second).status == 200
    refused(first, "appminute")
    xero_sandbox.set_limits(app_per_minute=10_000)
    xero_sandbox.set_org_limits(first, per_minute=1, per_day=2)
    assert api(http, xero_sandbox, "GET", "/Organisation", token, first).status == 200
    refused(first, "minute")
    xero_sandbox.advance(seconds=61)
    token = xero_sandbox.token_for([first, second])
    assert api(http, xero_sandbox, "GET", "/Organisation", token, first).status == 200
    refused(first, "day")
