"""Xero's limits end to end, against the sandbox: a Starter organisation's day (known only from
X-DayLimit-Remaining) spent, its work waiting in the database with the time it resumes shown,
then going when Xero's day turns; the app-wide minute held across organisations."""

import pytest
from django.db import transaction
from django.template.defaultfilters import date as date_filter
from django.urls import reverse

from xero_sync.client import XeroClient
from xero_sync.client.errors import RateLimited
from xero_sync.client.limits import TenantLimiter, app_limits_reset
from xero_sync.client.transport import DAY_WAIT_UNSAID
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices import outbox as invoice_outbox
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import client_for, contact_make
from ..support.invoices import issue_many
from ..support.waiting import wait_until
from .conftest import HARBOUR, KIWI, connect

# How long before the sandbox organisation's day turns the test spends its last call: enough
# for a drain and two pages while it waits, and no more (the test waits it out).
DAY_TURNS_IN = 7


def api_requests(xero) -> list[dict]:
    return xero.requests(path="/api.xro/2.0/*")


def state_of(invoice) -> str:
    return InvoiceSync.objects.get(invoice=invoice).state


@pytest.mark.django_db
def test_a_starter_organisation_waits_for_its_day_with_the_time_shown_then_resumes(
    ready, account, xero, admin_user, settings
):
    connection, gst = ready
    settings.XERO_MAX_INLINE_WAIT = 0.5
    tenant = connection.tenant_id
    # A Starter-tier organisation: Xero allows it 1,000 calls a day (here 5), and nothing here
    # is told so; only Xero's X-DayLimit-Remaining on each answer.
    xero.set_limits(reset_usage=True)
    xero.set_org_limits(tenant, per_day=5)
    TenantLimiter(tenant).reset()
    contact = contact_make(account, first_name="Star", last_name="Ter")
    sent: list = []
    while TenantLimiter(tenant).day_state().left != 0:
        assert len(sent) < 5, "Xero's X-DayLimit-Remaining never reached nought"
        with transaction.atomic():
            sent += issue_many(account, gst, contact, 1)
        invoice_drain.invoices_drain(connection.pk)
    assert {state_of(i) for i in sent} == {InvoiceSyncState.SYNCED}
    assert xero.org_limits(tenant)["usage"]["day_used"] == 5

    # The next invoice asks Xero once, shortly before the organisation's day turns: a 429 for
    # the day, with Retry-After. The wait goes in the database; the drain returns.
    turns_at = xero.org_limits(tenant)["usage"]["day_resets_at"]
    xero.set_clock(turns_at - DAY_TURNS_IN)
    with transaction.atomic():
        (first_held,) = issue_many(account, gst, contact, 1)
    drain = invoice_drain.invoices_drain(connection.pk)
    refused = [r for r in api_requests(xero) if r["status"] == 429]
    assert len(refused) == 1
    assert {k.lower(): v for k, v in refused[0]["response_headers"].items()}[
        "x-rate-limit-problem"
    ] == "day"
    assert 0 < drain.retry_in <= DAY_TURNS_IN
    # While the day is spent, more work waits without asking Xero again.
    asked = len(api_requests(xero))
    with transaction.atomic():
        (second_held,) = issue_many(account, gst, contact, 1)
    invoice_drain.invoices_drain(connection.pk)
    assert len(api_requests(xero)) == asked
    held = InvoiceSync.objects.filter(invoice__in=[first_held, second_held])
    assert {(s.state, s.waiting_for) for s in held} == {(InvoiceSyncState.PENDING, "day")}
    resumes_at = min(s.next_attempt_at for s in held if s.next_attempt_at)

    # The invoice page and Sync activity say why, and when it goes.
    client = client_for(admin_user)
    page = client.get(reverse("invoices:detail", args=[account.slug, second_held.pk]))
    text = page.content.decode()
    assert "Xero&#x27;s daily allowance of calls for this organisation is used up" in text
    sync = InvoiceSync.objects.get(invoice=second_held)
    assert f'goes to Xero at <time datetime="{date_filter(sync.next_attempt_at, "c")}">' in text
    assert date_filter(sync.next_attempt_at, "j M Y H:i") in text
    activity = client.get(reverse("xero_sync:activity", args=[account.slug]))
    budget = activity.context["budget"]
    assert (budget.remaining, budget.waiting_for_day, budget.resumes_at) == (0, 2, resumes_at)
    assert "2 invoices wait until" in activity.content.decode()
    assert date_filter(resumes_at, "j M H:i") in activity.content.decode()

    # Xero's day turns: the rows come due (as the drain's retry or the beat sweep finds them)
    # and go, on the new day's allowance.
    wait_until(lambda: invoice_outbox.due_rows(connection.pk).count() == 2, timeout=30)
    invoice_drain.invoices_drain(connection.pk)
    assert state_of(first_held) == state_of(second_held) == InvoiceSyncState.SYNCED
    assert xero.org_limits(tenant)["usage"]["day_used"] == 1  # both in one batch
    assert TenantLimiter(tenant).day_state().left == 4
    assert len([r for r in api_requests(xero) if r["status"] == 429]) == 1


@pytest.mark.django_db
def test_the_app_wide_minute_holds_across_organisations(
    xero, account, admin_user, other_account, outsider, settings
):
    kiwi = connect(xero, account, admin_user, org=KIWI)
    harbour = connect(xero, other_account, outsider, org=HARBOUR)
    app_limits_reset()
    settings.XERO_APP_CALLS_PER_MINUTE = 3
    asked = len(api_requests(xero))
    for connection in (kiwi, harbour, kiwi):
        XeroClient(connection).organisation()
    with pytest.raises(RateLimited) as held:
        XeroClient(harbour).organisation()
    assert held.value.problem == "app" and 59 < held.value.retry_after <= 61
    assert len(api_requests(xero)) == asked + 3  # held here, not refused by Xero

    # Xero's own 429 for the app's minute (another app instance spent it) holds every
    # organisation back, not only the one that was told.
    app_limits_reset()
    settings.XERO_APP_CALLS_PER_MINUTE = 10_000
    xero.set_limits(app_per_minute=xero.limits()["app"]["minute_used"])
    with pytest.raises(RateLimited) as told:
        XeroClient(kiwi).organisation()
    assert told.value.problem == "app" and told.value.retry_after >= 1
    asked = len(api_requests(xero))
    with pytest.raises(RateLimited) as also:
        XeroClient(harbour).organisation()
    assert also.value.problem == "app"
    assert len(api_requests(xero)) == asked


@pytest.mark.django_db
def test_a_spent_day_without_retry_after_is_not_asked_about_every_second(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    xero.configure(day_retry_after=False)
    xero.set_org_limits(connection.tenant_id, per_day=0)
    with pytest.raises(RateLimited) as told:
        XeroClient(connection).organisation()
    assert (told.value.problem, told.value.retry_after) == ("day", DAY_WAIT_UNSAID)
    asked = len(api_requests(xero))
    with pytest.raises(RateLimited) as held:
        XeroClient(connection).organisation()
    assert held.value.problem == "day" and held.value.retry_after > DAY_WAIT_UNSAID - 60
    assert len(api_requests(xero)) == asked
