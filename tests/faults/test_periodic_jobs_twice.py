"""Beat's jobs are safe to run twice at once (a second beat, a redelivered message, an
operator pressing "run now"): two runs side by side on a real worker have the effects of one."""

import re
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from contacts.models import Contact
from platform_crm.models import Role
from xero_sync.connection.tasks import disconnect_inactive_connections_task
from xero_sync.contacts.tasks import contacts_poll_task
from xero_sync.models import ConnectionStatus, XeroConnection, XeroContact

from ..factories import user_create
from ..support.processes import task_runs
from ..xero_sync.conftest import connect, run_import

pytestmark = pytest.mark.slow

NEW_IN_XERO = 40
DISCONNECTED = "Subject: Xero was disconnected"


def emails_all_sent(worker, offset: int) -> bool:
    """Every email queued since `offset` has been written: none waits on the broker, and as
    many send_email_task runs finished as the worker received."""
    text = worker.log.read_text()[offset:]
    received = len(re.findall(r"Task platform_crm\.tasks\.send_email_task\[[^]]+\] received", text))
    finished = len(task_runs(worker, offset, "platform_crm.tasks.send_email_task"))
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return broker.llen("email") == 0 and received == finished


def run_twice_at_once(worker, task, *then: str) -> int:
    """Send `task` twice, as two beats would; wait for both runs and for the tasks named in
    `then` (its fan-out) to have run twice too. Returns the log offset from before."""
    offset = len(worker.log.read_text())
    task.delay()
    task.delay()
    for name in (task.name, *then):
        worker.wait_for(lambda name=name: len(task_runs(worker, offset, name)) >= 2, 45)
    return offset


@pytest.mark.django_db(transaction=True)
def test_two_inactivity_runs_at_once_disconnect_once_and_email_each_admin_once(
    celery_worker, xero, account, admin_user
):
    other_admin = user_create(account=account, role=Role.ADMIN)
    connection = connect(xero, account, admin_user)
    XeroConnection.objects.filter(pk=connection.pk).update(
        last_activity_at=timezone.now() - timedelta(days=61)
    )
    before = len(celery_worker.sent_mail())
    xero.clear_requests()

    offset = run_twice_at_once(celery_worker, disconnect_inactive_connections_task)
    celery_worker.wait_for(
        lambda: (
            DISCONNECTED in "".join(celery_worker.sent_mail()[before:])
            and emails_all_sent(celery_worker, offset)
        )
    )

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert len(xero.requests(method="DELETE", path="/connections/*")) == 1
    assert len(xero.requests(path="/connect/revocation")) == 1
    mails = celery_worker.sent_mail()[before:]
    disconnects = [m for m in mails if DISCONNECTED in m]
    assert len(disconnects) == 1, mails
    for admin in (admin_user, other_admin):
        assert sum(admin.email in m for m in mails) == 1, mails
    runs = task_runs(celery_worker, offset, disconnect_inactive_connections_task.name)
    assert [r["state"] for r in runs] == ["SUCCESS", "SUCCESS"]


@pytest.mark.django_db(transaction=True)
def test_two_contact_polls_at_once_create_no_duplicate_contacts(
    celery_worker, xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    run_import(connection, admin_user)
    links = XeroContact.objects.filter(connection=connection)
    contacts = Contact.objects.filter(account=account)
    links_before, contacts_before = links.count(), contacts.count()
    # New in Xero since the import: both polls find all of them, in the same page.
    made = [
        xero.create_contact(
            connection.tenant_id, Name=f"Poll Twice {n} Ltd", EmailAddress=f"poll{n}@example.com"
        )
        for n in range(NEW_IN_XERO)
    ]

    offset = run_twice_at_once(
        celery_worker, contacts_poll_task, "xero_sync.tasks.contacts_poll_connection_task"
    )

    runs = task_runs(celery_worker, offset, "xero_sync.tasks.contacts_poll_connection_task")
    assert [r["state"] for r in runs] == ["SUCCESS", "SUCCESS"]
    assert links.count() == links_before + NEW_IN_XERO
    assert contacts.count() == contacts_before + NEW_IN_XERO
    for contact in made:
        assert links.filter(xero_contact_id=contact["ContactID"]).count() == 1
        assert contacts.filter(email=contact["EmailAddress"]).count() == 1
