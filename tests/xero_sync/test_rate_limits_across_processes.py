"""Four processes calling one organisation share Xero's limits through Redis: Xero (the
sandbox, at its real 60 calls a minute and 5 in flight) never has to say 429."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..workers import database_url_for_tests
from .conftest import connect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_four_processes_stay_under_60_a_minute_without_a_single_429(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    # Xero's real limits; the calls the set-up made count in both our window and Xero's.
    xero.set_limits(per_minute=60, concurrent=5)
    xero.clear_requests()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_tests(),
        "XERO_SANDBOX_URL": xero.url,
        # Waits up to a minute are slept here, so every call happens within the test.
        "XERO_MAX_INLINE_WAIT": "90",
    }
    per_process = 20  # 80 calls: the last 20 must wait for the next minute
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.xero_sync.call_burst",
                str(connection.pk),
                str(per_process),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=240) for p in processes]
    assert [out.strip() for out, _ in outputs] == [f"ok={per_process} failed=0"] * 4, outputs

    calls = xero.requests(path="/api.xro/2.0/Organisation")
    assert len(calls) == 4 * per_process
    assert [c for c in calls if c["status"] == 429] == []
