"""Every Xero call writes one JSON log line with the account, connection, tenant and operation
(and, inside a task, the task's ids), and never a token."""

import pytest

from xero_sync.client import XeroClient
from xero_sync.connection import token_vault
from xero_sync.contacts.tasks import contacts_poll_connection_task

from .conftest import connect


def secrets_of(connection) -> list[str]:
    connection.refresh_from_db()
    return [
        token_vault.decrypt(connection.access_token_encrypted),
        token_vault.decrypt(connection.refresh_token_encrypted),
        connection.access_token_encrypted,
        connection.refresh_token_encrypted,
    ]


@pytest.mark.django_db
def test_a_xero_call_logs_one_json_line_with_its_ids_and_no_token(
    xero, account, admin_user, json_lines
):
    connection = connect(xero, account, admin_user)
    json_lines.clear()

    XeroClient(connection).organisation()

    calls = [(line, record) for line, record in json_lines() if record["message"] == "xero call"]
    assert len(calls) == 1
    line, record = calls[0]
    assert record["account_id"] == account.pk
    assert record["connection_id"] == connection.pk
    assert record["tenant_id"] == connection.tenant_id
    assert record["operation"] == "organisation.get"
    assert record["outcome"] == "ok" and record["level"] == "INFO"
    for secret in secrets_of(connection):
        assert secret and secret not in line
    assert not [key for key in record if "token" in key.lower()]


@pytest.mark.django_db
def test_a_task_run_logs_its_name_id_and_id_arguments_and_tags_its_xero_calls(
    xero, account, admin_user, json_lines
):
    connection = connect(xero, account, admin_user)
    connection.contacts_synced_until = connection.connected_at
    connection.save()
    json_lines.clear()

    result = contacts_poll_connection_task.apply(args=(connection.pk,))

    records = [record for _, record in json_lines()]
    runs = [r for r in records if r["message"] == "task run"]
    assert len(runs) == 1
    run = runs[0]
    assert run["task_name"] == "xero_sync.tasks.contacts_poll_connection_task"
    assert run["task_id"] == result.id
    assert run["task_args"] == {"connection_id": connection.pk}
    assert run["state"] == "SUCCESS" and run["duration_ms"] >= 0
    # The Xero calls the task made say which task made them.
    calls = [r for r in records if r["message"] == "xero call"]
    assert calls and all(c["task_id"] == result.id for c in calls)
    for line, _ in json_lines():
        for secret in secrets_of(connection):
            assert secret not in line
