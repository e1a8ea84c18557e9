"""/ops/health/: every account's Xero connection at a glance, for platform superusers only."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from platform_crm.models import Membership, Role
from xero_sync.models import (
    ConnectionStatus,
    ContactImport,
    ImportStatus,
    InvoiceSync,
    InvoiceSyncState,
    WebhookDelivery,
    WebhookEvent,
    XeroCall,
    XeroConnection,
)

from ..factories import account_create, client_for, invoice_make
from .conftest import KIWI, connect

HEALTH = "/ops/health/"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="ops", password="pw")


def test_the_route_is_ops_health():
    assert reverse("ops:health") == HEALTH


@pytest.mark.django_db
def test_anyone_but_a_superuser_gets_404(account, admin_user, staff_user):
    admin_user.is_staff = True  # Django admin access is not enough
    admin_user.save()
    assert Client().get(HEALTH).status_code == 404
    for user in (admin_user, staff_user):
        response = client_for(user).get(HEALTH)
        assert response.status_code == 404
        assert 'id="ops-health"' not in response.content.decode()


@pytest.mark.django_db
def test_health_shows_every_accounts_connection_and_its_trouble(
    xero, account, admin_user, superuser
):
    connection = connect(xero, account, admin_user)
    never = account_create(name="Never Connected Ltd")
    lapsed_account = account_create(name="Lapsed Ltd")
    XeroConnection.objects.create(
        account=lapsed_account,
        status=ConnectionStatus.NEEDS_RECONNECT,
        tenant_name="Lapsed Org",
        last_activity_at=timezone.now() - timedelta(days=12, hours=1),
    )
    # Two failed calls in the last day, one older (not counted).
    for age in (timedelta(hours=1), timedelta(hours=2), timedelta(days=3)):
        call = XeroCall.objects.create(
            connection=connection, operation="contacts.page", outcome="transient", duration_ms=5
        )
        XeroCall.objects.filter(pk=call.pk).update(created_at=timezone.now() - age)
    delivery = WebhookDelivery.objects.create(body=b"{}")
    WebhookEvent.objects.create(
        delivery=delivery,
        tenant_id=connection.tenant_id,
        category="CONTACT",
        event_type="UPDATE",
        resource_id="abc",
        event_date="2026-01-01T00:00:00",
        connection=connection,
        outcome="failed",
        processed_at=timezone.now(),
    )
    queued = ContactImport.objects.create(connection=connection, status=ImportStatus.QUEUED)
    ContactImport.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - timedelta(hours=3)
    )
    ContactImport.objects.create(connection=connection, status=ImportStatus.DONE)

    response = client_for(superuser).get(HEALTH)

    assert response.status_code == 200
    rows = {row.account.name: row for row in response.context["rows"]}
    kiwi = rows[account.name]
    assert kiwi.connection.tenant_name == KIWI
    assert kiwi.connection.status == ConnectionStatus.CONNECTED
    assert (kiwi.failed_calls, kiwi.failed_events) == (2, 1)
    assert timezone.now() - kiwi.oldest_pending_import_at > timedelta(hours=2, minutes=59)
    assert kiwi.inactive_days == 0
    assert rows[never.name].connection is None
    assert rows["Lapsed Ltd"].inactive_days == 12
    page = response.content.decode()
    assert "inactive for 12 days" in page
    assert "Needs reconnect" in page and "Never connected" in page
    assert "waiting 3" in page  # "waiting 3 hours"


def outbox_row(account, state, *, changed_ago, retry_in=None):
    """An invoice sync row in `state`, last changed `changed_ago`, its next attempt `retry_in`
    from now (negative: overdue). The invoice is made first, the row then written as asked
    (whatever the invoice's own change queued)."""
    invoice = invoice_make(account)
    connection, _ = XeroConnection.objects.get_or_create(
        account=account, defaults={"status": ConnectionStatus.CONNECTED, "tenant_id": str(uuid4())}
    )
    now = timezone.now()
    sync, _ = InvoiceSync.objects.update_or_create(
        invoice=invoice, defaults={"connection": connection, "state": state}
    )
    # A queryset update leaves updated_at alone (auto_now applies to save() only).
    InvoiceSync.objects.filter(pk=sync.pk).update(
        updated_at=now - changed_ago, next_attempt_at=retry_in and now + retry_in
    )
    return sync


@pytest.mark.django_db
def test_health_shows_each_accounts_invoice_outbox_and_its_lag(superuser):
    hour = timedelta(hours=1)
    busy, quiet, later, idle = (
        account_create(name=name) for name in ("Busy Ltd", "Quiet Ltd", "Later Ltd", "Idle Ltd")
    )
    outbox_row(busy, InvoiceSyncState.PENDING, changed_ago=3 * hour)
    # Retried, its next attempt overdue by 5 hours: that, not its recent change, is its lag.
    outbox_row(busy, InvoiceSyncState.PENDING, changed_ago=timedelta(minutes=1), retry_in=-5 * hour)
    # Changed 10 hours ago but its retry is not due yet: not the oldest due.
    outbox_row(busy, InvoiceSyncState.PENDING, changed_ago=10 * hour, retry_in=hour)
    outbox_row(busy, InvoiceSyncState.FAILED, changed_ago=20 * hour)
    outbox_row(busy, InvoiceSyncState.WAITING, changed_ago=20 * hour)
    outbox_row(busy, InvoiceSyncState.HELD, changed_ago=20 * hour)
    outbox_row(later, InvoiceSyncState.HELD, changed_ago=20 * hour)
    outbox_row(busy, InvoiceSyncState.SYNCED, changed_ago=30 * hour)
    outbox_row(quiet, InvoiceSyncState.PENDING, changed_ago=timedelta(minutes=30))
    outbox_row(later, InvoiceSyncState.PENDING, changed_ago=9 * hour, retry_in=2 * hour)
    outbox_row(idle, InvoiceSyncState.SYNCED, changed_ago=hour)

    response = client_for(superuser).get(HEALTH)

    rows = {row.account.name: row for row in response.context["rows"]}
    counts = {
        name: (row.invoices_pending, row.invoices_failed, row.invoices_waiting, row.invoices_held)
        for name, row in rows.items()
    }
    assert counts == {
        "Busy Ltd": (3, 1, 1, 1),
        "Quiet Ltd": (1, 0, 0, 0),
        "Later Ltd": (1, 0, 0, 1),
        "Idle Ltd": (0, 0, 0, 0),
    }
    minute = timedelta(minutes=1)
    assert 5 * hour <= rows["Busy Ltd"].outbox_lag < 5 * hour + minute
    assert 30 * minute <= rows["Quiet Ltd"].outbox_lag < 31 * minute
    assert rows["Later Ltd"].outbox_lag == timedelta(0)  # due in 2 hours: not late
    assert rows["Idle Ltd"].outbox_lag is None
    assert rows["Busy Ltd"].needs_attention and not rows["Quiet Ltd"].needs_attention
    assert rows["Later Ltd"].needs_attention  # an invoice waits for an admin's decision
    outbox = response.context["outbox"]
    assert outbox.pending == 5
    assert 5 * hour <= outbox.lag < 5 * hour + minute
    page = response.content.decode().replace("\xa0", " ")  # timesince's non-breaking spaces
    assert "5 pending, oldest due 5 hours ago" in page
    assert '<td class="outbox-lag">30 minutes</td>' in page


@pytest.mark.django_db
def test_health_with_an_empty_outbox_says_so(superuser):
    response = client_for(superuser).get(HEALTH)
    assert response.context["outbox"].pending == 0
    assert "all accounts:</strong> 0 pending." in response.content.decode()


@pytest.mark.django_db
def test_health_queries_do_not_grow_with_accounts(superuser):
    client = client_for(superuser)

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(HEALTH).status_code == 200
        return len(captured)

    def add_accounts(n):
        for _ in range(n):
            connection = XeroConnection.objects.create(
                account=account_create(), status=ConnectionStatus.CONNECTED, tenant_id=str(uuid4())
            )
            XeroCall.objects.create(
                connection=connection, operation="x", outcome="transient", duration_ms=1
            )
            ContactImport.objects.create(connection=connection, status=ImportStatus.RUNNING)
            for state in InvoiceSyncState.values:
                outbox_row(connection.account, state, changed_ago=timedelta(hours=1))

    add_accounts(2)
    client.get(HEALTH)
    few = queries()
    add_accounts(20)
    assert queries() == few


@pytest.mark.django_db
def test_the_layout_links_to_health_for_superusers_only(account, admin_user, superuser):
    url = reverse("contacts:index", args=[account.slug])
    assert HEALTH not in client_for(admin_user).get(url).content.decode()
    Membership.objects.create(account=account, user=superuser, role=Role.ADMIN)
    assert HEALTH in client_for(superuser).get(url).content.decode()
