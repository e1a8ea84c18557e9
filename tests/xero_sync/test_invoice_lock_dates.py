"""Lock dates and the plan's cap on approved invoices: an invoice dated on or before the
organisation's lock date is stopped before any call, with its fix in plain words; sent anyway,
Xero refuses it and its settings are read again; Xero's plan-limit refusal has its own cause."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.services import (
    credit_note_create,
    invoice_create,
    invoice_update,
    payment_delete,
    payment_record,
)
from xero_sync.invoices.refusals import PLAN_LIMIT_MESSAGE
from xero_sync.models import InvoiceSync, InvoiceSyncState, OrganisationSettings

from ..factories import client_for, contact_make
from ..support.invoices import due_in, issue, lines

API = "/api.xro/2.0/*"


def today() -> datetime.date:
    return timezone.localdate()


def read_settings(user, account) -> None:
    """Open the invoice form, as a person would: it reads the organisation's settings."""
    assert client_for(user).get(reverse("invoices:new", args=[account.slug])).status_code == 200


def sync_of(invoice) -> InvoiceSync:
    return InvoiceSync.objects.get(invoice=invoice)


@pytest.mark.django_db
def test_an_invoice_dated_on_the_lock_date_is_stopped_before_any_call_with_its_fix(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    xero.set_lock_dates(connection.tenant_id, period=today())
    read_settings(admin_user, account)
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, gst)
    sync = sync_of(invoice)
    assert (sync.state, sync.error_cause) == (InvoiceSyncState.FAILED, "lock_date")
    assert sync.error == (
        f"Invoice {invoice.number} is dated {today():%-d %b %Y}, on or before Xero's period "
        f"lock date ({today():%-d %b %Y}), so Xero will not approve it. Change the invoice's "
        f"date to one after {today():%-d %b %Y}, or ask your accountant to move the lock date "
        "in Xero, then press Retry."
    )
    assert sync.fix_url == reverse("invoices:edit", args=[account.slug, invoice.pk])
    assert xero.requests(path=API) == []
    # The fix: a later date. The invoice is sent again on its own and goes through.
    with tasks_inline():
        invoice_update(invoice=invoice, issue_date=today() + datetime.timedelta(days=1))
    assert sync_of(invoice).state == InvoiceSyncState.SYNCED


@pytest.mark.django_db
def test_the_later_of_the_two_lock_dates_counts(ready, xero, account, admin_user, tasks_inline):
    connection, gst = ready
    xero.set_lock_dates(
        connection.tenant_id,
        period=today() - datetime.timedelta(days=30),
        end_of_year=today() + datetime.timedelta(days=2),
    )
    read_settings(admin_user, account)
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, gst)
    sync = sync_of(invoice)
    assert sync.error_cause == "lock_date" and "end of year lock date" in sync.error
    assert xero.requests(path=API) == []


@pytest.mark.django_db
def test_a_draft_in_a_locked_period_is_saved_in_xero(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    xero.set_lock_dates(connection.tenant_id, period=today())
    read_settings(admin_user, account)
    with tasks_inline():
        draft = invoice_create(
            account=account,
            contact=contact_make(account, first_name="Ana", last_name="Rua"),
            lines=lines(gst),
            due_date=due_in(10),
        )
    sync = sync_of(draft)
    assert (sync.state, sync.xero_status) == (InvoiceSyncState.SYNCED, "DRAFT")


@pytest.mark.django_db
def test_sent_anyway_xero_refuses_it_and_the_lock_date_is_read_again(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    read_settings(admin_user, account)  # read before the accountant locked the period
    xero.set_lock_dates(connection.tenant_id, period=today())
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, gst)
    sync = sync_of(invoice)
    assert sync.error_cause == "lock_date"
    assert f"on or before Xero's period lock date ({today():%-d %b %Y})" in sync.error
    assert xero.invoices(connection.tenant_id) == []
    stored = OrganisationSettings.objects.get(connection=connection)
    assert stored.period_lock_date == today()
    # The accountant moves the lock date back; Retry reads it again and the invoice goes.
    xero.set_lock_dates(connection.tenant_id, period=today() - datetime.timedelta(days=1))
    with tasks_inline():
        client_for(admin_user).post(
            reverse("xero_sync:invoice_retry", args=[account.slug, invoice.pk])
        )
    assert sync_of(invoice).state == InvoiceSyncState.SYNCED


@pytest.mark.django_db
def test_the_plans_limit_of_approved_invoices_has_its_own_cause_and_words(
    ready, xero, account, tasks_inline
):
    connection, gst = ready
    xero.set_plan(connection.tenant_id, approved_invoices_per_month=1)
    with tasks_inline():
        first = issue(account, gst)
    with tasks_inline():
        second = issue(account, gst, contact=first.contact)
    assert sync_of(first).state == InvoiceSyncState.SYNCED
    sync = sync_of(second)
    assert (sync.state, sync.error_cause, sync.error) == (
        InvoiceSyncState.FAILED,
        "plan_limit",
        PLAN_LIMIT_MESSAGE,
    )
    assert len(xero.invoices(connection.tenant_id)) == 1


@pytest.mark.django_db
def test_a_payment_dated_on_the_lock_date_is_stopped_before_its_call_with_its_own_words(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    yesterday = today() - datetime.timedelta(days=1)
    with tasks_inline():
        invoice = issue(account, gst)
    assert sync_of(invoice).state == InvoiceSyncState.SYNCED
    xero.set_lock_dates(connection.tenant_id, period=yesterday)
    read_settings(admin_user, account)
    xero.clear_requests()
    with tasks_inline():
        late_entry = payment_record(invoice=invoice, amount=Decimal("10.00"), date=yesterday)
    sync = sync_of(invoice)
    assert (sync.state, sync.error_cause) == (InvoiceSyncState.FAILED, "lock_date")
    assert sync.error == (
        f"The payment of 10.00 {invoice.currency} on invoice {invoice.number} is dated "
        f"{yesterday:%-d %b %Y}, on or before Xero's period lock date ({yesterday:%-d %b %Y}), "
        "so Xero will not take it. Delete the payment and record it again dated after "
        f"{yesterday:%-d %b %Y}, or ask your accountant to move the lock date in Xero, then "
        "press Retry."
    )
    assert sync.fix_url == reverse("invoices:detail", args=[account.slug, invoice.pk])
    assert [r for r in xero.requests(path=API) if r["method"] != "GET"] == []
    # The fix the words give: recorded again with today's date, it reaches Xero alone.
    with tasks_inline():
        payment_delete(payment=late_entry)
        payment_record(invoice=invoice, amount=Decimal("10.00"), date=today())
    assert sync_of(invoice).state == InvoiceSyncState.SYNCED
    assert [p["Amount"] for p in xero.payments(connection.tenant_id)] == [10.0]


@pytest.mark.django_db
def test_a_payment_sent_anyway_is_refused_by_xero_in_the_same_words(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    week_ago, yesterday = today() - datetime.timedelta(days=7), today() - datetime.timedelta(days=1)
    read_settings(admin_user, account)  # read before the accountant locked the period
    with tasks_inline():
        invoice = issue(account, gst, issue_date=week_ago)
    xero.set_lock_dates(connection.tenant_id, period=yesterday)
    xero.clear_requests()
    with tasks_inline():
        payment_record(invoice=invoice, amount=Decimal("10.00"), date=yesterday)
    sync = sync_of(invoice)
    assert sync.error_cause == "lock_date"
    assert sync.error.startswith(f"The payment of 10.00 {invoice.currency} on invoice")
    assert f"on or before Xero's period lock date ({yesterday:%-d %b %Y})" in sync.error
    assert xero.payments(connection.tenant_id) == []


@pytest.mark.django_db
@pytest.mark.parametrize("read_first", [True, False], ids=["pre-flight", "sent-anyway"])
def test_a_credit_note_in_a_locked_period_says_so_and_goes_once_the_lock_moves(
    ready, xero, account, admin_user, tasks_inline, read_first
):
    connection, gst = ready
    week_ago, yesterday = today() - datetime.timedelta(days=7), today() - datetime.timedelta(days=1)
    with tasks_inline():
        invoice = issue(account, gst, issue_date=week_ago)
    xero.set_lock_dates(connection.tenant_id, period=yesterday)
    if read_first:
        read_settings(admin_user, account)
    xero.clear_requests()
    with tasks_inline():
        note = credit_note_create(
            invoice=invoice, reason="Overcharged", amount=Decimal("10.00"), date=yesterday
        )
    sync = sync_of(invoice)
    assert (sync.state, sync.error_cause, sync.error) == (
        InvoiceSyncState.FAILED,
        "lock_date",
        f"Credit note {note.number} is dated {yesterday:%-d %b %Y}, on or before Xero's period "
        f"lock date ({yesterday:%-d %b %Y}), so Xero will not take it. Ask your accountant to "
        "move the lock date in Xero, then press Retry.",
    )
    assert sync.fix_url == reverse("invoices:detail", args=[account.slug, invoice.pk])
    sent = [r for r in xero.requests(path="/api.xro/2.0/CreditNotes*") if r["method"] != "GET"]
    assert len(sent) == (0 if read_first else 1)
    xero.set_lock_dates(connection.tenant_id, period=week_ago - datetime.timedelta(days=1))
    with tasks_inline():
        client_for(admin_user).post(
            reverse("xero_sync:invoice_retry", args=[account.slug, invoice.pk])
        )
    assert sync_of(invoice).state == InvoiceSyncState.SYNCED
    assert [c["Total"] for c in xero.credit_notes(connection.tenant_id)] == [10.0]
