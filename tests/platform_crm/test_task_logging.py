"""Every Celery task run writes one log line (JSON in production) with the task's name, id and
id arguments, its state and duration; never arguments that are not ids."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore

from xero_sync.contacts.tasks import contacts_poll_connection_task

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.django_db
def test_a_failed_task_run_is_logged_as_an_error_with_its_cause(json_lines):
    result = contacts_poll_connection_task.apply(args=(987654,))

    assert result.failed()
    run = next(r for _, r in json_lines() if r["message"] == "task run")
    assert run["level"] == "ERROR" and run["state"] == "FAILURE"
    assert run["task_args"] == {"connection_id": 987654}
    assert "DoesNotExist" in run["error"]


@pytest.mark.django_db
def test_task_arguments_other_than_ids_are_never_logged(json_lines):
    from platform_crm.tasks import send_email_task

    send_email_task.apply(kwargs={"to": ["secret@example.com"], "subject": "s", "body": "b"})

    run = next(line for line, r in json_lines() if r["message"] == "task run")
    assert "secret@example.com" not in run


@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_task_runs_as_json_lines(celery_worker):
    from platform_crm.tasks import clear_expired_sessions_task

    SessionStore().create()
    result = clear_expired_sessions_task.delay()

    def logged_run():
        for line in celery_worker.log.read_text().splitlines():
            if line.startswith("{") and result.id in line:
                record = json.loads(line)
                if record["message"] == "task run":
                    return record
        return None

    run = celery_worker.wait_for(logged_run)
    assert run["task_name"] == "platform_crm.tasks.clear_expired_sessions_task"
    assert run["state"] == "SUCCESS"


def log_format_with(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "LOG_FORMAT")}
    result = subprocess.run(
        [sys.executable, "-c", "from platform_crm import settings; print(settings.LOG_FORMAT)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_log_format_is_json_in_production_and_plain_in_debug_unless_set():
    assert log_format_with(DJANGO_DEBUG="0") == "json"
    assert log_format_with(DJANGO_DEBUG="1") == "plain"
    assert log_format_with(DJANGO_DEBUG="0", LOG_FORMAT="plain") == "plain"
