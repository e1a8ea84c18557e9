"""The fault tests' processes: a Redis of the test's own, the web app driven over HTTP to start
contact imports, and the worker's task-run records."""

import json
import re

import pytest
from django.urls import reverse

from xero_sync.models import ContactImport, ImportStatus

from ..factories import client_for
from ..faults.crash_processes import PrivateRedis, WebSession


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    try:
        yield redis
    finally:
        redis.stop()


# Seconds without progress before the sweep takes a run for lost (a few minutes in production;
# short here so the test waits seconds, not minutes).
STALLED_AFTER = "3"


def own_redis(redis) -> dict[str, str]:
    return {
        "REDIS_URL": redis.url,
        "CACHE_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "XERO_STALLED_AFTER": STALLED_AFTER,
    }


def web_session(web, user) -> WebSession:
    """The admin's browser: logged in (a database session, as every web process reads)."""
    return WebSession(web.url, session_cookie=client_for(user).cookies["sessionid"].value)


def start_run(session: WebSession, account, *, preview: bool) -> ContactImport:
    """Press Preview or Import on the Contacts from Xero page (every contact, every kind)."""
    answer = session.post(
        reverse("xero_sync:contacts", args=[account.slug]),
        {
            "scope": "all",
            "customers": "on",
            "suppliers": "on",
            "others": "on",
            "action": "preview" if preview else "import",
        },
    )
    assert answer.status == 302, (answer.status, answer.body[-2000:])
    run_id = re.search(r"run=(\d+)", answer.location)
    assert run_id, answer.location
    return ContactImport.objects.get(pk=int(run_id[1]))


def wait_for_run(worker, run: ContactImport, status: str, timeout: float, meanwhile=None) -> None:
    def reached() -> bool:
        if meanwhile:
            meanwhile()
        run.refresh_from_db()
        assert run.status != ImportStatus.FAILED, run.error
        return run.status == status

    worker.wait_for(reached, timeout, interval=0.25)


def task_runs(worker, offset: int, name: str) -> list[dict]:
    """The worker's one-line-per-task-run records for `name`, logged after `offset`."""
    runs = []
    for line in worker.log.read_text()[offset:].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == "task run" and record.get("task_name") == name:
            runs.append(record)
    return runs
