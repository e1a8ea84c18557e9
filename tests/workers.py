"""A real Celery worker, as a separate process, against the test database and a test Redis.

Tests that depend on worker behaviour (delivery after commit, retries, acks) use the
`celery_worker` fixture with `@pytest.mark.django_db(transaction=True)`, so the worker process
sees what the test committed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from .support.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
# A worker as the tests run it: every queue, two pool processes, no cluster chatter.
WORKER_ARGS = [
    "-m",
    "celery",
    "-A",
    "platform_crm",
    "worker",
    "-Q",
    "xero,email,default",
    "-c",
    "2",
    "-l",
    "info",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]


def database_url_for_tests() -> str:
    db = connection.settings_dict
    port = db.get("PORT") or 5432
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen | None, log: Path, mail_dir: Path):
        self.process = process
        self.log = log
        self.mail_dir = mail_dir

    def sent_mail(self) -> list[str]:
        """Messages the worker has finished writing (Django's file backend ends each one with a
        line of dashes)."""
        texts = [p.read_text() for p in sorted(self.mail_dir.glob("*.log"))]
        return [t for t in texts if t.rstrip().endswith("-" * 79)]

    def wait_for(self, predicate, timeout: float = 15.0, interval: float = 0.05):
        """Poll until predicate() is truthy; fail with the worker's log tail if it never is."""
        return wait_until(
            predicate,
            timeout,
            interval,
            describe=lambda: "worker log tail:\n" + self.log.read_text()[-3000:],
        )


@pytest.fixture(scope="session", autouse=True)
def fresh_redis():
    """Each run starts with empty test Redis databases: the broker, rate limits and cache of a
    previous run (whose database ids this run's will repeat) must not leak in."""
    for url in {
        settings.REDIS_URL,
        settings.CELERY_BROKER_URL,
        settings.CACHES["default"]["LOCATION"],
    }:
        redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory, xero_sandbox_server):
    with django_db_blocker.unblock():
        db_url = database_url_for_tests()
    tmp = tmp_path_factory.mktemp("celery-worker")
    mail_dir = tmp / "mail"
    mail_dir.mkdir()
    log = tmp / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": db_url,
        # django-environ drops one leading slash: filemail:////abs/path is /abs/path.
        "EMAIL_URL": f"filemail:///{mail_dir}",
        # The worker talks to the session's Xero sandbox (reset by each test that uses it).
        "XERO_SANDBOX_URL": xero_sandbox_server.url,
        "XERO_CLIENT_ID": xero_sandbox_server.client_id,
        "XERO_CLIENT_SECRET": xero_sandbox_server.client_secret,
        "XERO_WEBHOOK_KEY": xero_sandbox_server.webhook_key,
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, *WORKER_ARGS],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = Worker(process, log, mail_dir)
    try:
        worker.wait_for(lambda: "ready." in log.read_text() or process.poll() is not None, 60)
        if process.poll() is not None:
            raise AssertionError(f"worker exited:\n{log.read_text()[-3000:]}")
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def tasks_inline(django_capture_on_commit_callbacks):
    """A context manager: tasks queued on commit inside it run in this process when it exits,
    so their effects (mail.outbox) can be asserted without a worker. Delivery through a real
    worker is proven by the tests that use `celery_worker`."""
    from contextlib import contextmanager

    from platform_crm.celery import app

    @contextmanager
    def run():
        app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True):
                yield
        finally:
            app.conf.task_always_eager = False

    return run
