"""Refresh from one place, losing the grant, inactivity, and tokens at rest."""

import subprocess
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from xero_sync.client import XeroClient
from xero_sync.client.errors import AuthLost
from xero_sync.connection import inactivity, token_vault
from xero_sync.connection.calls import xero_client_for
from xero_sync.models import ConnectionStatus, XeroConnection

from .conftest import connect


def expire_access_token(connection: XeroConnection) -> None:
    XeroConnection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_calls_on_an_expired_token_refresh_exactly_once(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    expire_access_token(connection)
    xero.advance(minutes=31)  # the sandbox agrees the access token is dead
    xero.clear_requests()
    errors, barrier = [], threading.Barrier(8)

    def call():
        try:
            barrier.wait()
            XeroClient(XeroConnection.objects.get(pk=connection.pk)).organisation()
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(xero.requests(path="/connect/token")) == 1
    assert len(xero.requests(path="/api.xro/2.0/Organisation")) == 8
    assert all(r["status"] == 200 for r in xero.requests(path="/api.xro/2.0/Organisation"))


@pytest.mark.django_db
def test_dead_refresh_token_means_needs_reconnect_and_one_email(
    xero, account, admin_user, tasks_inline
):
    connection = connect(xero, account, admin_user)
    mail.outbox.clear()
    expire_access_token(connection)
    xero.advance(days=61)  # unused for longer than Xero keeps refresh tokens
    for _ in range(2):
        with tasks_inline(), pytest.raises(AuthLost):
            xero_client_for(XeroConnection.objects.get(pk=connection.pk)).organisation()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "needs reconnecting" in message.subject
    assert admin_user.email in message.to
    assert f"/a/{account.slug}/settings/integrations/" in message.body


@pytest.mark.django_db
def test_a_connection_deleted_on_xeros_side_needs_reconnect(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    # The user removes the app in Xero: its connection is gone, the access token still works.
    XeroClient(connection).delete_connection(connection.xero_connection_id)
    with pytest.raises(AuthLost):
        xero_client_for(connection).organisation()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT


@pytest.mark.django_db
def test_the_client_only_raises_a_lost_grant_and_leaves_the_connection_to_its_caller(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    mail.outbox.clear()
    XeroClient(connection).delete_connection(connection.xero_connection_id)
    with pytest.raises(AuthLost):
        XeroClient(connection).organisation()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert mail.outbox == []


def _idle(connection, days):
    XeroConnection.objects.filter(pk=connection.pk).update(
        last_activity_at=timezone.now() - timedelta(days=days)
    )


@pytest.mark.django_db
def test_59_days_idle_is_warned_once_and_61_days_is_disconnected_once(
    xero, account, admin_user, tasks_inline
):
    connection = connect(xero, account, admin_user)
    mail.outbox.clear()
    _idle(connection, 59)
    with tasks_inline():
        assert inactivity.connections_disconnect_inactive()["warned"] == 1
        assert inactivity.connections_disconnect_inactive()["warned"] == 0
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert [m.subject for m in mail.outbox] == [
        f"Xero will be disconnected from {account.name} soon"
    ]

    _idle(connection, 61)
    with tasks_inline():
        assert inactivity.connections_disconnect_inactive()["disconnected"] == 1
        assert inactivity.connections_disconnect_inactive()["disconnected"] == 0
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert xero.requests(method="DELETE", path="/connections/*")[-1]["status"] == 204
    assert [m.subject for m in mail.outbox][1:] == [f"Xero was disconnected from {account.name}"]


@pytest.mark.django_db
def test_52_days_idle_sends_nothing_and_keep_connected_resets_the_clock(xero, account, admin_user):
    from ..factories import client_for

    connection = connect(xero, account, admin_user)
    mail.outbox.clear()
    _idle(connection, 52)
    assert inactivity.connections_disconnect_inactive() == {
        "warned": 0,
        "disconnected": 0,
        "kept_alive": 0,
    }
    _idle(connection, 55)
    client_for(admin_user).post(f"/a/{account.slug}/settings/integrations/xero/keep/")
    connection.refresh_from_db()
    assert timezone.now() - connection.last_activity_at < timedelta(minutes=1)
    assert inactivity.connections_disconnect_inactive()["warned"] == 0
    assert not mail.outbox


@pytest.mark.django_db
def test_an_idle_refresh_token_is_kept_alive_so_the_disconnect_can_reach_xero(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    XeroConnection.objects.filter(pk=connection.pk).update(
        refresh_token_obtained_at=timezone.now() - timedelta(days=46)
    )
    xero.clear_requests()
    assert inactivity.connections_disconnect_inactive()["kept_alive"] == 1
    assert len(xero.requests(path="/connect/token")) == 1
    connection.refresh_from_db()
    assert timezone.now() - connection.refresh_token_obtained_at < timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_shows_no_plaintext_token(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    access = token_vault.decrypt(connection.access_token_encrypted)
    refresh = token_vault.decrypt(connection.refresh_token_encrypted)
    settings_dict = db_connection.settings_dict
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            settings_dict["HOST"] or "127.0.0.1",
            "-U",
            settings_dict["USER"],
            "-p",
            str(settings_dict["PORT"] or 5432),
            settings_dict["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert connection.tenant_name in dump  # the dump does hold the connection
    assert access not in dump and refresh not in dump


@pytest.mark.django_db
def test_every_write_carries_its_stored_idempotency_key_and_a_retry_creates_nothing(
    xero, account, admin_user
):
    from xero_sync.client.shapes import ContactBody
    from xero_sync.models import XeroCall

    connection = connect(xero, account, admin_user)
    client = XeroClient(connection)
    tenant = connection.tenant_id
    body = [ContactBody(name="Idempotent Ltd")]

    with pytest.raises(ValueError, match="idempotency key"):
        client.contacts_create(body, idempotency_key="")
    for _ in range(2):  # the same request, sent again as a retry would
        client.contacts_create(body, idempotency_key="crm-contact-7")
    assert [c["Name"] for c in xero.contacts(tenant)].count("Idempotent Ltd") == 1
    sent = xero.requests(method="PUT", path="/api.xro/2.0/Contacts")
    assert [r["headers"].get("idempotency-key") for r in sent] == ["crm-contact-7"] * 2
    keys = XeroCall.objects.filter(operation="contacts.create").values_list(
        "idempotency_key", flat=True
    )
    assert list(keys) == ["crm-contact-7"] * 2


def _last_activity(connection):
    return XeroConnection.objects.get(pk=connection.pk).last_activity_at


@pytest.mark.django_db
def test_polls_that_find_nothing_and_keep_alives_are_not_activity_so_the_rule_fires(
    xero, account, admin_user, tasks_inline
):
    from xero_sync.contacts import pull
    from xero_sync.invoices import from_xero

    connection = connect(xero, account, admin_user)
    XeroConnection.objects.filter(pk=connection.pk).update(
        contacts_synced_until=timezone.now(),
        refresh_token_obtained_at=timezone.now() - timedelta(days=46),
    )
    _idle(connection, 59)
    idle_since = _last_activity(connection)
    xero.clear_requests()
    # A day of our own background work: empty polls of contacts and invoices, a keep-alive.
    for _ in range(3):
        pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
        from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
    assert inactivity.connections_disconnect_inactive()["kept_alive"] == 1
    assert len(xero.requests(path="/api.xro/2.0/*")) == 6  # they did call Xero, and got 200s
    assert _last_activity(connection) == idle_since
    mail.outbox.clear()
    XeroConnection.objects.filter(pk=connection.pk).update(inactivity_warning_sent_at=None)
    with tasks_inline():
        assert inactivity.connections_disconnect_inactive()["warned"] == 1
    _idle(connection, 61)
    pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
    with tasks_inline():
        assert inactivity.connections_disconnect_inactive()["disconnected"] == 1


@pytest.mark.django_db
def test_data_moved_either_way_is_activity(xero, account, admin_user, tasks_inline):
    from decimal import Decimal

    from xero_sync.contacts import pull
    from xero_sync.invoices import from_xero
    from xero_sync.models import InvoiceSync, InvoiceSyncState

    from ..factories import invoice_make
    from .conftest import run_import

    connection = connect(xero, account, admin_user)

    def just_now() -> bool:
        return timezone.now() - _last_activity(connection) < timedelta(minutes=1)

    # Contacts from Xero: the import, then a contact changed in Xero and polled.
    _idle(connection, 30)
    run_import(connection)
    assert just_now()
    some = xero.contacts(connection.tenant_id)[0]
    xero.edit_contact(connection.tenant_id, some["ContactID"], EmailAddress="new@x.example")
    _idle(connection, 30)
    pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
    assert just_now()
    # An invoice to Xero.
    _idle(connection, 30)
    with tasks_inline():
        invoice_make(account, issue=True, tax_mode="no_tax")
    sync = InvoiceSync.objects.get()
    assert sync.state == InvoiceSyncState.SYNCED and just_now()
    # A payment made in Xero, brought back by the poll.
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount=Decimal("10.00"))
    _idle(connection, 30)
    from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
    assert just_now()


@pytest.mark.django_db
def test_the_warning_says_how_long_it_has_been_idle_and_how_long_is_left_consistently(
    xero, account, admin_user, tasks_inline
):
    connection = connect(xero, account, admin_user)
    XeroConnection.objects.filter(pk=connection.pk).update(
        last_activity_at=timezone.now() - timedelta(days=55, hours=3)
    )
    mail.outbox.clear()
    with tasks_inline():
        assert inactivity.connections_disconnect_inactive()["warned"] == 1
    (warning,) = mail.outbox
    body = " ".join(warning.body.split())
    deadline = timezone.localtime(timezone.now() + timedelta(days=4, hours=21))
    assert "for 55 days" in body
    assert f"disconnected in 5 days, on {deadline:%-d %B %Y}," in body
