"""Bursts go to Xero in batches of up to 50 per call, each element's answer on its own; waits
for Xero's limits stay in the database; a lost connection parks work until reconnect."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from invoices.services import payment_record
from xero_sync.client.limits import TenantLimiter
from xero_sync.connection.reconnect import connection_mark_needs_reconnect
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices import outbox as invoice_outbox
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroContact

from ..factories import client_for, contact_make
from ..support.invoices import in_xero, issue, issue_many, typed_in_xero
from .conftest import KIWI, callback, consent, start_connect


def invoice_posts(xero):
    return xero.requests(method="POST", path="/api.xro/2.0/Invoices")


@pytest.mark.django_db(transaction=True)
def test_a_burst_goes_in_batches_of_50_and_a_refused_element_fails_alone(
    ready,
    account,
    xero,
    celery_worker,
):
    connection, gst = ready
    contact = contact_make(account, first_name="Ana", last_name="Burst")
    mails_before = len(celery_worker.sent_mail())
    # Someone typed an invoice in Xero with a number the CRM is about to use, and no poll has
    # seen it yet: only Xero can refuse it.
    typed_in_xero(xero, connection.tenant_id, "INV-0007")
    xero.clear_requests()
    invoices = issue_many(account, gst, contact, 120)
    celery_worker.wait_for(
        lambda: not InvoiceSync.objects.filter(state=InvoiceSyncState.PENDING).exists(),
        timeout=60,
    )
    posts = invoice_posts(xero)
    assert [len(json.loads(p["body"])["Invoices"]) for p in posts] == [50, 50, 20]
    assert all(p["query"]["summarizeErrors"].lower() == "false" for p in posts), posts[0]["query"]
    # One contact created for the whole burst, in one call.
    assert len(xero.requests(method="PUT", path="/api.xro/2.0/Contacts")) == 1
    assert XeroContact.objects.filter(contact=contact).count() == 1
    states = dict(
        InvoiceSync.objects.values_list("invoice__number", "state").filter(invoice__in=invoices)
    )
    assert states.pop("INV-0007") == InvoiceSyncState.FAILED
    assert set(states.values()) == {InvoiceSyncState.SYNCED}
    failed = InvoiceSync.objects.get(invoice__number="INV-0007")
    assert failed.error_cause == "number_taken"
    assert "another invoice numbered INV-0007" in failed.error
    # Xero's refusal is told to the admins once, in plain words, with where to fix it.
    told = celery_worker.wait_for(
        lambda: [
            m
            for m in celery_worker.sent_mail()[mails_before:]
            if "Invoice INV-0007" in m and f"/a/{account.slug}/" in m
        ]
    )
    assert len(told) == 1 and "What went wrong: Xero already has another" in told[0]
    assert len(celery_worker.sent_mail()) == mails_before + 1
    ours = [
        i
        for i in xero.invoices(connection.tenant_id)
        if i.get("Reference", "").startswith("Service")
    ]
    assert len(ours) == 119
    assert len({i["InvoiceNumber"] for i in ours}) == 119


@pytest.mark.django_db
def test_a_day_limit_wait_stays_in_the_database_not_in_a_countdown(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    used = len(xero.requests(path="/api.xro/2.0/*"))
    xero.set_limits(per_day=used)  # the organisation's day is spent
    contact = contact_make(account, first_name="Day", last_name="Limit")
    with transaction.atomic():
        invoice = issue_many(account, gst, contact, 1)[0]
    drain = invoice_drain.invoices_drain(connection.pk)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.PENDING
    assert drain.retry_in > 60 * 60  # Xero said: tomorrow
    # The wait is in the row: the sweep leaves it alone until then, and no task countdown
    # longer than the broker's visibility timeout was asked for.
    assert sync.next_attempt_at is not None
    assert sync.next_attempt_at > timezone.now() + datetime.timedelta(hours=1)
    assert connection.pk not in invoice_outbox.connections_due()
    from xero_sync.invoices.tasks import INVOICE_RETRY_COUNTDOWN_CAP

    assert drain.retry_in > INVOICE_RETRY_COUNTDOWN_CAP
    # When the day turns (Xero's usage and our block on the organisation both expire), the
    # sweep finds it due and it goes.
    xero.set_limits(per_day=5000, reset_usage=True)
    TenantLimiter(connection.tenant_id).reset()
    InvoiceSync.objects.filter(pk=sync.pk).update(
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert invoice_outbox.connections_due() == [connection.pk]
    invoice_drain.invoices_drain(connection.pk)
    assert InvoiceSync.objects.get(pk=sync.pk).state == InvoiceSyncState.SYNCED


@pytest.mark.django_db
def test_work_waits_for_a_reconnect_and_then_goes(
    ready,
    account,
    xero,
    admin_user,
    tasks_inline,
):
    connection, gst = ready
    connection_mark_needs_reconnect(connection=connection, reason="test: grant revoked")
    contact = contact_make(account, first_name="Wai", last_name="Ting")
    with tasks_inline():
        invoice = issue_many(account, gst, contact, 1)[0]
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.WAITING
    assert invoice_posts(xero) == []
    client = client_for(admin_user)
    query = start_connect(client, account)
    with tasks_inline():
        callback(client, query, consent(xero, query, [KIWI]))
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED and sync.xero_invoice_id


@pytest.mark.django_db
def test_two_crm_contacts_with_one_name_never_share_or_duplicate_a_xero_contact(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    first = contact_make(account, first_name="Mere", last_name="Twin", email="a@x.example")
    second = contact_make(account, first_name="Mere", last_name="Twin", email="b@x.example")
    with tasks_inline(), transaction.atomic():
        one = issue_many(account, gst, first, 1)[0]
        two = issue_many(account, gst, second, 1)[0]
    assert InvoiceSync.objects.get(invoice=one).state == InvoiceSyncState.SYNCED
    failed = InvoiceSync.objects.get(invoice=two)
    assert failed.state == InvoiceSyncState.FAILED and failed.error_cause == "contact"
    assert "Xero already has a contact named “Mere Twin”" in failed.error
    assert failed.fix_url == f"/a/{account.slug}/contacts/{second.pk}/edit/"
    named = [c for c in xero.contacts(connection.tenant_id) if c["Name"] == "Mere Twin"]
    assert len(named) == 1


@pytest.mark.django_db
def test_a_batch_held_back_by_the_rate_limit_costs_no_lookup_afterwards(
    ready,
    account,
    xero,
    settings,
):
    connection, gst = ready
    contact = contact_make(account, first_name="Rate", last_name="Limited")
    issue_many(account, gst, contact, 101)
    limiter = TenantLimiter(connection.tenant_id)
    limiter.reset()
    xero.clear_requests()
    settings.XERO_CALLS_PER_MINUTE = 2  # the contact and the first batch, then wait
    drain = invoice_drain.invoices_drain(connection.pk)
    assert drain.retry_in > settings.XERO_MAX_INLINE_WAIT
    assert len(invoice_posts(xero)) == 1
    limiter.reset()  # the minute is over
    settings.XERO_CALLS_PER_MINUTE = 60
    InvoiceSync.objects.update(next_attempt_at=timezone.now())
    invoice_drain.invoices_drain(connection.pk)
    assert [len(json.loads(p["body"])["Invoices"]) for p in invoice_posts(xero)] == [50, 50, 1]
    # Nothing held back was sent, so nothing needed looking up by number.
    assert xero.requests(method="GET", path="/api.xro/2.0/Invoices") == []
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}


@pytest.mark.django_db
def test_backoff_counts_rounds_in_which_xero_took_nothing_of_the_row(ready, account, xero):
    """A row backs off 2**attempts seconds, attempts being its failed rounds in a row. A round
    in which Xero took part of its work (the invoice, before the payment's call failed) starts
    the count again; a round in which Xero took nothing goes on counting."""
    connection, gst = ready
    invoice = issue(account, gst)
    payment_record(invoice=invoice, amount=Decimal("10.00"))
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero.fault("status", method="POST", path="/api.xro/2.0/Invoices", status=503, count=2)
    xero.fault("status", method="POST", path="/api.xro/2.0/Payments", status=503, count=2)

    def round_() -> tuple[int, float]:
        """One drain of the row, due now; its attempts and backoff (seconds) after."""
        InvoiceSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now())
        started = timezone.now()
        invoice_drain.invoices_drain(connection.pk)
        sync.refresh_from_db()
        if sync.state == InvoiceSyncState.SYNCED:
            return sync.attempts, 0.0
        assert sync.state == InvoiceSyncState.PENDING, (sync.error_cause, sync.error)
        assert sync.next_attempt_at is not None
        return sync.attempts, (sync.next_attempt_at - started).total_seconds()

    def backed_off(seconds: float, after: tuple[int, float]) -> bool:
        """Due again `seconds` after the round began, give or take the round's own time (the
        next power of two is out of reach)."""
        return seconds <= after[1] < 2 * seconds

    # Xero refuses the invoice twice: nothing taken, the count goes on (2 s, then 4 s).
    first, second = round_(), round_()
    assert first[0] == 1 and backed_off(2, first)
    assert second[0] == 2 and backed_off(4, second)
    assert sync.xero_invoice_id == ""
    # The invoice is taken, then its payment's call fails: the count starts again (2 s, where
    # a third failure in a row would wait 8 s).
    third = round_()
    assert sync.xero_invoice_id
    assert third[0] == 1 and backed_off(2, third)
    # The payment fails again and nothing else of the row is taken: counting goes on.
    fourth = round_()
    assert fourth[0] == 2 and backed_off(4, fourth)
    round_()
    assert sync.state == InvoiceSyncState.SYNCED
    ours = in_xero(xero, connection, invoice)
    assert Decimal(str(ours["AmountPaid"])) == Decimal("10.00")
    assert len(xero.requests(method="POST", path="/api.xro/2.0/Invoices")) == 3


@pytest.mark.django_db
def test_a_failed_post_of_invoices_charges_only_the_rows_it_carried(ready, account, xero):
    """A batch's POST /Invoices fails: the row whose invoice Xero already holds (only its new
    payment to send) was not in that call; it is not charged nor backed off, and goes again at
    once. The row whose invoice the call carried backs off."""
    connection, gst = ready
    paid = issue(account, gst)
    invoice_drain.invoices_drain(connection.pk)
    payment_record(invoice=paid, amount=Decimal("10.00"))
    new = issue(account, gst, contact=paid.contact)
    xero.fault("status", method="POST", path="/api.xro/2.0/Invoices", status=503, count=1)
    xero.clear_requests()

    invoice_drain.invoices_drain(connection.pk)

    [post] = xero.requests(method="POST", path="/api.xro/2.0/Invoices")
    assert [i["InvoiceNumber"] for i in json.loads(post["body"])["Invoices"]] == [new.number]
    carried, spared = InvoiceSync.objects.get(invoice=new), InvoiceSync.objects.get(invoice=paid)
    assert carried.state == spared.state == InvoiceSyncState.PENDING
    assert carried.attempts == 1
    assert carried.next_attempt_at is not None and carried.next_attempt_at > timezone.now()
    assert spared.attempts == 0
    assert spared.next_attempt_at is not None and spared.next_attempt_at <= timezone.now()
    InvoiceSync.objects.update(next_attempt_at=None)
    invoice_drain.invoices_drain(connection.pk)
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}
    assert Decimal(str(in_xero(xero, connection, paid)["AmountPaid"])) == Decimal("10.00")
    assert len(xero.invoices(connection.tenant_id)) == 2


@pytest.mark.django_db
def test_a_failed_put_of_contacts_charges_only_the_rows_whose_contact_it_carried(
    ready, account, xero
):
    connection, gst = ready
    linked = issue(account, gst)
    invoice_drain.invoices_drain(connection.pk)  # its contact is now in Xero
    payment_record(invoice=linked, amount=Decimal("10.00"))
    stranger = contact_make(account, first_name="New", last_name="Customer")
    new = issue(account, gst, contact=stranger)
    xero.fault("status", method="PUT", path="/api.xro/2.0/Contacts", status=503, count=1)

    invoice_drain.invoices_drain(connection.pk)

    carried = InvoiceSync.objects.get(invoice=new)
    spared = InvoiceSync.objects.get(invoice=linked)
    assert (carried.attempts, spared.attempts) == (1, 0)
    assert spared.next_attempt_at is not None and spared.next_attempt_at <= timezone.now()
    InvoiceSync.objects.update(next_attempt_at=None)
    invoice_drain.invoices_drain(connection.pk)
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}
    assert XeroContact.objects.filter(contact=stranger).count() == 1
