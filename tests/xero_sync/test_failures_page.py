"""The Sync failures page: an account's invoices that did not reach Xero, grouped by cause, with
the fix and a Retry all per cause. Failures are made the real way: invoices pushed (in this
process) to a connected sandbox organisation and stopped by the pre-flight."""

from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.services import LineInput
from platform_crm.models import Role
from xero_sync.models import InvoiceSync, InvoiceSyncState
from xero_sync.taxes import services as tax_services

from ..factories import client_for, invoice_make, tax_rate_make, user_create
from .conftest import HARBOUR, connect


def taxed_line(tax_rate):
    return [
        LineInput(
            description="Call-out", quantity=Decimal(1), unit_price=Decimal(120), tax_rate=tax_rate
        )
    ]


def issue_failing(account, tasks_inline, *, unmapped=None, untaxed=0, unmapped_count=0):
    """Issue invoices that the push refuses: `unmapped_count` with the unmapped tax rate and
    `untaxed` with a line that has no tax rate. Returns them in that order."""
    with tasks_inline():
        invoices = [
            invoice_make(account, lines=taxed_line(unmapped), issue=True)
            for _ in range(unmapped_count)
        ]
        invoices += [invoice_make(account, issue=True) for _ in range(untaxed)]
    return invoices


def states(invoices):
    rows = InvoiceSync.objects.filter(invoice__in=invoices)
    return {row.invoice_id: (row.state, row.error_cause) for row in rows}


def failures_url(account):
    return reverse("xero_sync:failures", args=[account.slug])


def retry_all(client, account, cause):
    return client.post(
        reverse("xero_sync:failures_retry", args=[account.slug]), {"cause": cause}, follow=True
    )


@pytest.fixture
def failing(xero, account, admin_user, tasks_inline):
    """Connected to Kiwi; two invoices fail on an unmapped GST and one on an untaxed line."""
    connection = connect(xero, account, admin_user)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    invoices = issue_failing(account, tasks_inline, unmapped=gst, unmapped_count=2, untaxed=1)
    assert set(states(invoices).values()) == {
        (InvoiceSyncState.FAILED, "unmapped_tax"),
        (InvoiceSyncState.FAILED, "line_tax"),
    }
    return connection, gst, invoices


@pytest.mark.django_db
def test_failures_are_grouped_by_cause_in_plain_words_with_fix_and_invoices(
    failing, account, admin_user
):
    _, _, (tax_a, tax_b, untaxed) = failing
    page = client_for(admin_user).get(failures_url(account))
    assert page.status_code == 200
    groups = {g.cause: g for g in page.context["groups"]}
    assert set(groups) == {"unmapped_tax", "line_tax"}
    assert [g.cause for g in page.context["groups"]] == [
        "unmapped_tax",
        "line_tax",
    ]  # largest first
    taxes = groups["unmapped_tax"]
    assert (taxes.title, taxes.count, taxes.more) == ("Tax rate not mapped to Xero", 2, 0)
    assert taxes.fix_url == reverse("xero_sync:tax_mapping", args=[account.slug])
    assert {s.invoice_id for s in taxes.syncs} == {tax_a.pk, tax_b.pk}
    assert [s.invoice_id for s in groups["line_tax"].syncs] == [untaxed.pk]
    html = page.content.decode()
    assert "Tax rate not mapped to Xero" in html and "Invoice line without a tax rate" in html
    for invoice in (tax_a, tax_b, untaxed):
        detail = reverse("invoices:detail", args=[account.slug, invoice.pk])
        assert f'href="{detail}">{invoice.number}</a>' in html
        assert invoice.contact.display_name in html
    assert "The tax rate GST 15% cannot be used in Xero" in html
    assert f'href="{taxes.fix_url}" class="fix-link"' in html
    assert "and 0 more" not in html


@pytest.mark.django_db
def test_the_integration_and_activity_pages_link_to_the_failures(failing, account, admin_user):
    client = client_for(admin_user)
    for page in ("xero_sync:integrations", "xero_sync:activity"):
        html = client.get(reverse(page, args=[account.slug])).content.decode()
        assert f'href="{failures_url(account)}"' in html, page


@pytest.mark.django_db
def test_retry_all_moves_exactly_that_cause_to_pending_and_queues_each_push(
    failing, account, admin_user, django_capture_on_commit_callbacks
):
    _, _, (tax_a, tax_b, untaxed) = failing
    with django_capture_on_commit_callbacks() as queued:
        page = retry_all(client_for(admin_user), account, "unmapped_tax")
    assert "Sending 2 invoices to Xero again." in page.content.decode()
    assert states([tax_a, tax_b, untaxed]) == {
        tax_a.pk: (InvoiceSyncState.PENDING, "unmapped_tax"),
        tax_b.pk: (InvoiceSyncState.PENDING, "unmapped_tax"),
        untaxed.pk: (InvoiceSyncState.FAILED, "line_tax"),
    }
    assert queued  # the push is queued, to go after commit


@pytest.mark.django_db
def test_after_mapping_the_tax_retry_all_gets_those_invoices_into_xero(
    failing, account, admin_user, xero, tasks_inline, other_account, outsider
):
    connection, gst, (tax_a, tax_b, untaxed) = failing
    # Another account with the same kind of failure is not touched by this account's retry.
    connect(xero, other_account, outsider, org=HARBOUR)
    their_gst = tax_rate_make(other_account, "GST 15%", ("GST", Decimal(15), False))
    (theirs,) = issue_failing(other_account, tasks_inline, unmapped=their_gst, unmapped_count=1)
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    with tasks_inline():
        page = retry_all(client_for(admin_user), account, "unmapped_tax")
    assert "Sending 2 invoices to Xero again." in page.content.decode()
    assert states([tax_a, tax_b, untaxed, theirs]) == {
        tax_a.pk: (InvoiceSyncState.SYNCED, ""),
        tax_b.pk: (InvoiceSyncState.SYNCED, ""),
        untaxed.pk: (InvoiceSyncState.FAILED, "line_tax"),
        theirs.pk: (InvoiceSyncState.FAILED, "unmapped_tax"),
    }
    in_xero = {i["InvoiceNumber"] for i in xero.invoices(connection.tenant_id)}
    assert in_xero == {tax_a.number, tax_b.number}
    # The page now shows only what is left.
    assert [g.cause for g in page.context["groups"]] == ["line_tax"]


@pytest.mark.django_db
def test_retry_all_with_nothing_left_says_so(failing, account, admin_user):
    page = retry_all(client_for(admin_user), account, "number_taken")
    assert "No failed invoices of that kind are left to retry." in page.content.decode()


@pytest.mark.django_db
def test_the_page_takes_the_same_queries_however_many_failures_and_caps_each_group(
    failing, account, admin_user, tasks_inline
):
    _, gst, _ = failing
    client = client_for(admin_user)
    client.get(failures_url(account))  # the first visit may write the session
    with CaptureQueriesContext(db_connection) as few:
        client.get(failures_url(account))
    # 53 with the unmapped rate in all, and another untaxed one.
    issue_failing(account, tasks_inline, unmapped=gst, unmapped_count=51, untaxed=1)
    with CaptureQueriesContext(db_connection) as many:
        page = client.get(failures_url(account))
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    groups = {g.cause: g for g in page.context["groups"]}
    assert (groups["unmapped_tax"].count, len(groups["unmapped_tax"].syncs)) == (53, 50)
    assert (groups["line_tax"].count, len(groups["line_tax"].syncs)) == (2, 2)
    assert "and 3 more" in page.content.decode()


@pytest.mark.django_db
def test_staff_get_403_and_other_accounts_404(failing, account, outsider):
    staff = client_for(user_create(account=account, role=Role.STAFF))
    retry = reverse("xero_sync:failures_retry", args=[account.slug])
    assert staff.get(failures_url(account)).status_code == 403
    assert staff.post(retry, {"cause": "unmapped_tax"}).status_code == 403
    stranger = client_for(outsider)
    assert stranger.get(failures_url(account)).status_code == 404
    assert stranger.post(retry, {"cause": "unmapped_tax"}).status_code == 404
    assert InvoiceSync.objects.filter(state=InvoiceSyncState.FAILED).count() == 3


@pytest.mark.django_db
def test_retry_all_with_a_cause_no_column_can_hold_retries_nothing(failing, account, admin_user):
    """A NUL byte in `cause` was a 500 (PostgreSQL refuses NUL in text)."""
    for cause in ("unmapped\x00tax", "x" * 1000):
        response = retry_all(client_for(admin_user), account, cause)
        assert response.status_code == 200
        assert "No failed invoices of that kind are left to retry." in response.content.decode()
    assert {state for state, _ in states(failing[2]).values()} == {InvoiceSyncState.FAILED}
