"""The shared limiter, against real Redis: five in flight, a minute's budget, Retry-After."""

import uuid

import pytest

from xero_sync.rate_limits import TenantLimiter


@pytest.fixture
def limiter():
    limiter = TenantLimiter(f"test-{uuid.uuid4()}")
    yield limiter
    limiter.reset()


def test_a_sixth_call_in_flight_waits_until_one_finishes(limiter):
    leases = [limiter.try_acquire() for _ in range(5)]
    assert all(d.granted for d in leases)
    sixth = limiter.try_acquire()
    assert not sixth.granted and sixth.reason == "concurrent"
    limiter.release(leases[0].lease)
    assert limiter.try_acquire().granted


def test_the_minute_budget_is_shared_and_says_how_long_to_wait(limiter, settings):
    settings.XERO_CALLS_PER_MINUTE = 3
    for _ in range(3):
        limiter.release(limiter.try_acquire().lease)
    # Another process's limiter for the same organisation sees the same budget.
    decision = TenantLimiter(limiter.tenant_id).try_acquire()
    assert not decision.granted and decision.reason == "minute"
    assert 59 < decision.wait <= 61


def test_retry_after_blocks_every_worker_for_that_organisation_only(limiter):
    limiter.block_for(30)
    decision = TenantLimiter(limiter.tenant_id).try_acquire()
    assert not decision.granted and decision.reason == "blocked"
    assert 29 < decision.wait <= 30
    other = TenantLimiter(f"other-{uuid.uuid4()}")
    try:
        assert other.try_acquire().granted
    finally:
        other.reset()
