"""Celery wiring, proven with a real worker process where delivery depends on it."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from celery.exceptions import NotRegistered
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from platform_crm.celery import app
from platform_crm.emails import email_account_admins, email_send
from platform_crm.models import Role
from platform_crm.queueing import enqueue

from ..factories import user_create


def test_tasks_speak_json_only():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_xero_work_and_email_have_their_own_queues():
    router = app.amqp.router
    assert router.route({}, "xero_sync.tasks.anything_task")["queue"].name == "xero"
    assert router.route({}, "platform_crm.tasks.send_email_task")["queue"].name == "email"
    assert router.route({}, "contacts.tasks.other_task")["queue"].name == "default"


def test_redis_redelivers_only_after_the_longest_task_could_have_finished():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.django_db  # Celery's Django fixup runs the system checks, which ask the database
def test_every_beat_entry_names_a_registered_task_and_expires():
    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
        assert entry["options"]["expires"] > 0, name


def test_a_task_is_sent_by_name_from_a_process_that_never_imported_it():
    """The web process never imports the tasks modules; a name is enough to queue one."""
    script = (
        "import django, sys; django.setup()\n"
        "from platform_crm import queueing\n"
        "task = queueing._task('xero_sync.tasks.invoices_sweep_task')\n"
        "print(task.name, 'xero_sync.tasks' in sys.modules)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["xero_sync.tasks.invoices_sweep_task", "True"], result.stderr


def test_an_unknown_task_name_is_refused_at_once():
    with pytest.raises(NotRegistered):
        enqueue("xero_sync.tasks.no_such_task")


@pytest.mark.django_db
def test_email_is_not_queued_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_send(to=["a@example.com"], subject="s", body="b")
        raise RuntimeError("rolled back")
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_account_admin_email_is_delivered_by_a_worker_after_commit(celery_worker, account):
    user_create(account=account, role=Role.ADMIN)
    user_create(account=account, role=Role.STAFF)
    before = len(celery_worker.sent_mail())
    with transaction.atomic():
        email_account_admins(account=account, subject="Xero needs you", body="Reconnect please")
        # Nothing can have left before commit.
        assert len(celery_worker.sent_mail()) == before

    mails = celery_worker.wait_for(lambda: celery_worker.sent_mail()[before:])
    assert len(mails) == 1
    assert "Subject: Xero needs you" in mails[0]
    admin_email = account.memberships.get(role=Role.ADMIN).user.email
    assert f"To: {admin_email}" in mails[0]


@pytest.mark.django_db(transaction=True)
def test_beat_task_for_expired_sessions_runs_on_the_worker(celery_worker):
    from platform_crm.tasks import clear_expired_sessions_task

    expired, live = SessionStore(), SessionStore()
    expired.create()
    live.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    clear_expired_sessions_task.delay()
    celery_worker.wait_for(lambda: not Session.objects.filter(pk=expired.session_key).exists())
    assert Session.objects.filter(pk=live.session_key).exists()
