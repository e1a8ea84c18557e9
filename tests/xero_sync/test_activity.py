"""The account's Sync activity page: calls, webhook events, imports, failures by cause and
today's API budget, for the account's admins only, in a fixed number of queries."""

import json
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from platform_crm.models import Role
from xero_sync.client import XeroClient
from xero_sync.client.errors import Transient
from xero_sync.models import ContactImport, InvoiceSync, InvoiceSyncState, XeroCall
from xero_sync.webhooks.dispatch import delivery_process
from xero_sync.webhooks.store import delivery_store

from ..factories import client_for, contact_make, user_create
from .conftest import KIWI, connect, run_import
from .test_ops_health import outbox_row


def activity_url(account) -> str:
    return reverse("xero_sync:activity", args=[account.slug])


@pytest.fixture
def connected(xero, account, admin_user):
    contact_make(account, first_name="Ben", last_name="Carter", email="ben@example.com")
    return connect(xero, account, admin_user)


def deliver_contact_webhook(xero, connection):
    """Edit a linked contact "in Xero" and hand the product the webhook Xero sends for it."""
    link = connection.contact_links.first()
    xero.edit_contact(xero.tenant_id(KIWI), link.xero_contact_id, EmailAddress="new@example.com")
    events = [e for e in xero.webhook_events() if e["resourceId"] == link.xero_contact_id]
    body = json.dumps(
        {"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}
    ).encode()
    delivery_process(delivery_store(body).pk)
    return link.xero_contact_id


def fail_two_reads(xero, connection):
    """Xero answers 503 twice: two failed calls with one cause."""
    xero.fault("status", method="GET", path="/api.xro/2.0/Organisation", status=503, count=2)
    for _ in range(2):
        with pytest.raises(Transient):
            XeroClient(connection).organisation()


@pytest.mark.django_db
def test_activity_says_in_plain_words_what_happened_and_what_failed(
    connected, xero, account, admin_user
):
    run_import(connected, admin_user)
    deliver_contact_webhook(xero, connected)
    fail_two_reads(xero, connected)
    connected.refresh_from_db()

    response = client_for(admin_user).get(activity_url(account))

    assert response.status_code == 200
    page = response.content.decode()
    # The two 503s are one problem, counted twice, in words.
    (problem,) = response.context["problems"]
    assert (problem.count, problem.unit) == (2, "call")
    assert '2 calls</strong> · <span class="problem-what">Xero could not be reached' in page
    assert 'id="no-problems"' not in page
    # The import run with its counts and who started it.
    run = response.context["imports"][0]
    assert run.status == "done" and run.item_count and run.processed == run.item_count
    assert f"({run.processed} of {run.item_count})" in page
    assert admin_user.username in page
    # Budget: what Xero last said was left (its plan sets the allowance); calls counted today.
    budget = response.context["budget"]
    said = [r["response_headers"] for r in xero.requests(path="/api.xro/2.0/*")]
    said = [{k.lower(): v for k, v in h.items()} for h in said]
    last = [h["x-daylimit-remaining"] for h in said if "x-daylimit-remaining" in h][-1]
    assert budget.remaining == int(last) < 5000
    assert budget.calls_today == XeroCall.objects.filter(connection=connected).count()
    assert f"Xero's daily allowance: {budget.remaining} calls left" in page
    assert budget.waiting_for_day == 0 and 'id="day-limit-wait"' not in page
    calls = response.context["calls"]
    assert (calls.total, calls.failed) == (budget.calls_today, 2)
    # No raw operation names, outcome codes or ids: those are one click away.
    for raw in ("contacts.page", "connections.list", "transient", "no_handler", "handled"):
        assert raw not in page, raw
    assert link_of(account, "activity_technical") in page
    # No invoice yet: the outbox is empty and says so.
    assert response.context["outbox"].synced == response.context["outbox"].pending == 0
    assert "No invoice has been sent to Xero yet." in page


def link_of(account, name: str) -> str:
    return reverse(f"xero_sync:{name}", args=[account.slug])


@pytest.mark.django_db
def test_technical_details_show_calls_keys_events_and_xero_ids(
    connected, xero, account, admin_user
):
    run_import(connected, admin_user)
    resource_id = deliver_contact_webhook(xero, connected)
    fail_two_reads(xero, connected)
    XeroCall.objects.create(
        connection=connected,
        operation="invoices.create",
        status_code=200,
        outcome="ok",
        duration_ms=120,
        idempotency_key="invoice-42-v1",
    )
    response = client_for(admin_user).get(link_of(account, "activity_technical"))
    assert response.status_code == 200
    page = response.content.decode()
    # Calls: operation, outcome and status, duration, the idempotency key of a write.
    shown = {call.operation for call in response.context["calls"]}
    assert {"connections.list", "contacts.page", "organisation.get", "invoices.create"} <= shown
    assert "invoice-42-v1" in page
    assert "transient" in page and "(503)" in page
    failures = list(response.context["failures"])
    assert len(failures) == 1
    assert failures[0]["outcome"] == "transient" and failures[0]["count"] == 2
    # The webhook event for the organisation, and the delivery that carried it.
    event = response.context["events"][0]
    assert (event.category, event.event_type, event.resource_id, event.outcome) == (
        "CONTACT",
        "UPDATE",
        resource_id,
        "handled",
    )
    assert resource_id in page
    assert response.context["delivery_count"] == 1


@pytest.mark.django_db
def test_invoices_xero_refused_inside_a_200_answer_are_problems(
    connected, xero, account, admin_user, tasks_inline
):
    """Xero answers a batch with 200 and refuses some elements in it: the calls "worked", the
    invoices did not get there, and the page must not say all is well."""
    from decimal import Decimal

    from xero_sync.models import XeroConnection
    from xero_sync.taxes import services as tax_services

    from ..factories import tax_rate_make
    from ..support.invoices import issue

    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_services.xero_tax_rates_refresh(connected)
    tax_services.tax_mapping_set(
        connection=connected, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    XeroConnection.objects.filter(pk=connected.pk).update(sales_account_code="999")
    with tasks_inline():
        refused = [
            issue(account, gst, contact_make(account, first_name="Ruth", last_name=f"Tane {n}"))
            for n in range(3)
        ]
    posts = xero.requests(method="POST", path="/api.xro/2.0/Invoices")
    assert posts and {r["status"] for r in posts} == {200}  # refused inside a 200
    assert not XeroCall.objects.filter(connection=connected).exclude(outcome="ok").exists()

    response = client_for(admin_user).get(activity_url(account))
    page = response.content.decode()
    (problem,) = response.context["problems"]
    assert (problem.count, problem.unit) == (len(refused), "invoice")
    assert problem.what == "Not sent to Xero: Sales account not usable"
    assert "3 invoices</strong>" in page and 'id="no-problems"' not in page
    assert link_of(account, "failures") in page


@pytest.mark.django_db
def test_invoice_activity_is_paged(connected, account, admin_user):
    from invoices.history import invoice_event_record
    from invoices.models import EventSource

    from ..factories import invoice_make

    invoice = invoice_make(account)
    for n in range(25):
        invoice_event_record(invoice, f"Step {n}", source=EventSource.SYNC)
    client = client_for(admin_user)
    first = client.get(activity_url(account))
    assert len(first.context["invoice_events"]) == 20
    assert "Step 24" in first.content.decode() and "Step 4<" not in first.content.decode()
    second = client.get(activity_url(account), {"page": 2}).content.decode()
    assert "Step 4<" in second and "Page 2 of 2" in second


@pytest.mark.django_db
def test_activity_shows_the_invoice_outbox_and_what_the_sync_did(
    connected, xero, account, admin_user, tasks_inline
):
    from decimal import Decimal

    from xero_sync.taxes import services as tax_services

    from ..factories import tax_rate_make
    from ..support.invoices import issue

    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    unmapped = tax_rate_make(account, "Levy 2%", ("Levy", Decimal(2), False))
    tax_services.xero_tax_rates_refresh(connected)
    tax_services.tax_mapping_set(
        connection=connected, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    with tasks_inline():
        sent = issue(account, gst)
        refused = issue(account, unmapped)
    response = client_for(admin_user).get(activity_url(account))
    outbox = response.context["outbox"]
    assert (outbox.synced, outbox.failed, outbox.pending) == (1, 1, 0)
    page = response.content.decode()
    assert "see why" in page
    assert "Not sent to Xero: Tax rate not mapped to Xero" in page
    events = [(e.invoice_id, e.what.split(":")[0]) for e in response.context["invoice_events"]]
    assert (sent.pk, "Created in Xero as AUTHORISED") in events
    assert (refused.pk, "Not sent to Xero") in events


@pytest.mark.django_db
def test_activity_of_an_account_never_connected_says_so(account, admin_user):
    response = client_for(admin_user).get(activity_url(account))
    assert response.status_code == 200
    assert 'id="no-connection"' in response.content.decode()


@pytest.mark.django_db
def test_activity_shows_only_the_accounts_own_calls(connected, xero, other_account):
    harbour_admin = user_create(account=other_account, role=Role.ADMIN)
    connect(xero, other_account, harbour_admin, org="Harbour Electrical Ltd")
    response = client_for(harbour_admin).get(link_of(other_account, "activity_technical"))
    shown = {call.connection_id for call in response.context["calls"]}
    assert shown == {other_account.xero_connection.pk}


@pytest.mark.django_db
def test_staff_get_403_and_outsiders_404(account, staff_user, outsider):
    assert client_for(staff_user).get(activity_url(account)).status_code == 403
    assert client_for(outsider).get(activity_url(account)).status_code == 404


@pytest.mark.django_db
def test_the_integrations_page_links_to_sync_activity(connected, account, admin_user):
    page = client_for(admin_user).get(reverse("xero_sync:integrations", args=[account.slug]))
    assert activity_url(account) in page.content.decode()


def _queries_for_page(client, url) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["activity", "activity_technical"])
def test_activity_queries_do_not_grow_with_rows(connected, xero, account, admin_user, name):
    client = client_for(admin_user)
    url = link_of(account, name)
    run_import(connected, admin_user)
    deliver_contact_webhook(xero, connected)
    client.get(url)  # session and caches warm
    few = _queries_for_page(client, url)

    for n in range(30):
        XeroCall.objects.create(
            connection=connected,
            operation="contacts.page",
            outcome="validation" if n % 2 else "transient",
            error=f"cause {n % 5}",
            duration_ms=10,
            idempotency_key=f"key-{n}",
        )
        ContactImport.objects.create(
            connection=connected, status="done", started_by=admin_user, is_preview=bool(n % 2)
        )
    # Invoices not sent (two causes) and waiting for a decision (two causes): one query still.
    for n in range(8):
        state = InvoiceSyncState.HELD if n % 2 else InvoiceSyncState.FAILED
        sync = outbox_row(account, state, changed_ago=timedelta(minutes=n))
        causes = ("contact_unconfirmed", "contact_rename") if n % 2 else ("unmapped_tax", "contact")
        InvoiceSync.objects.filter(pk=sync.pk).update(error_cause=causes[n % 4 // 2])
    many = _queries_for_page(client, url)

    assert many == few
    assert many <= 19  # login, membership, session and one per figure
