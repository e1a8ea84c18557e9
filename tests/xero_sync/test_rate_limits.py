"""The shared limiter, against real Redis: five in flight, a minute's budget, the day as Xero
reports it, the app-wide minute, Retry-After."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from xero_sync.client import XeroClient
from xero_sync.client.errors import RateLimited
from xero_sync.client.limits import LEASE_MARGIN_SECONDS, TenantLimiter, app_limits_reset

from ..support.waiting import wait_until
from .conftest import connect


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


KILLED_MID_CALL = """
import os, signal, sys
import django
django.setup()
from xero_sync.client.limits import TenantLimiter
limiter = TenantLimiter(sys.argv[1])
assert all(limiter.try_acquire().granted for _ in range(5))
os.kill(os.getpid(), signal.SIGKILL)  # five calls in flight, and no release ever
"""


def test_the_slots_of_a_worker_killed_mid_call_free_themselves_when_its_calls_would_have_timed_out(
    limiter, monkeypatch
):
    monkeypatch.setenv("XERO_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("XERO_READ_TIMEOUT", "1")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "platform_crm.settings"}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_CALL, limiter.tenant_id], env=env, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL
    held = limiter.try_acquire()
    # The wait said is the most it can be: until the dead calls' leases run out.
    assert not held.granted and held.reason == "concurrent"
    assert 0 < held.wait <= 0.5 + 1 + LEASE_MARGIN_SECONDS
    wait_until(lambda: limiter.try_acquire().granted, timeout=held.wait + 2)


@pytest.mark.django_db
def test_a_call_waiting_for_a_slot_gives_up_soon_and_says_so_instead_of_holding_the_worker(
    xero, account, admin_user, settings
):
    connection = connect(xero, account, admin_user)
    settings.XERO_MAX_INLINE_WAIT = 0.3
    dead = TenantLimiter(connection.tenant_id)
    assert all(dead.try_acquire().granted for _ in range(5))  # a killed worker's five slots
    started = time.monotonic()
    with pytest.raises(RateLimited) as waiting:
        XeroClient(connection).organisation()
    assert time.monotonic() - started < 2
    assert waiting.value.problem == "concurrent"
    assert 1 <= waiting.value.retry_after <= 5
    assert not xero.requests(path="/api.xro/2.0/Organisation")


def test_the_day_allowance_is_what_xero_says_is_left_and_a_spent_day_waits_for_its_turn(limiter):
    # No allowance is configured: until Xero says what is left, calls go.
    first = limiter.try_acquire()
    assert first.granted and limiter.day_state().left is None
    limiter.release(first.lease, day_left=1)  # a Starter organisation's last call but one
    last = limiter.try_acquire()
    assert last.granted and limiter.day_state().left == 0
    # Nothing is left as far as we know, and a call in flight will say: nobody else goes.
    assert limiter.try_acquire().reason == "concurrent"
    limiter.release(last.lease, day_left=0)
    # Xero said nought but not when its day turns: one call (only) goes to ask.
    asking = limiter.try_acquire()
    assert asking.granted
    assert limiter.try_acquire().reason == "concurrent"
    limiter.block_for(3600, problem="day")  # its 429: X-Rate-Limit-Problem day, Retry-After
    limiter.release(asking.lease, day_left=0)
    held = TenantLimiter(limiter.tenant_id).try_acquire()  # any worker
    assert not held.granted and held.reason == "day"
    assert 3590 < held.wait <= 3600
    other = TenantLimiter(f"other-{uuid.uuid4()}")
    try:
        assert other.try_acquire().granted  # another organisation's day is its own
    finally:
        other.reset()


def test_when_a_spent_day_turns_calls_go_again_until_xero_says_otherwise(limiter):
    limiter.block_for(0.2, problem="Daily")  # Xero's older spelling
    assert limiter.try_acquire().reason == "day"
    time.sleep(0.3)
    again = limiter.try_acquire()
    assert again.granted and limiter.day_state().left is None
    limiter.release(again.lease, day_left=999)
    assert limiter.day_state().left == 999


def test_the_app_wide_minute_spans_every_organisation(limiter, settings):
    app_limits_reset()  # the calls of the tests before
    settings.XERO_APP_CALLS_PER_MINUTE = 3
    other = TenantLimiter(f"other-{uuid.uuid4()}")
    try:
        for tenant in (limiter, other, limiter):
            decision = tenant.try_acquire()
            assert decision.granted
            tenant.release(decision.lease)
        refused = other.try_acquire()
        assert not refused.granted and refused.reason == "app"
        assert 59 < refused.wait <= 61
        # Each organisation's own minute is far from spent.
        settings.XERO_APP_CALLS_PER_MINUTE = 10_000
        assert other.try_acquire().granted
        # Xero's own 429 for the app's minute holds every organisation back.
        limiter.block_for(30, problem="appminute")
        held = other.try_acquire()
        assert not held.granted and held.reason == "app" and 29 < held.wait <= 30
    finally:
        other.reset()
        app_limits_reset()
