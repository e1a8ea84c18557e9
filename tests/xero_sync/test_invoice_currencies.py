"""Currencies on invoices sent to Xero: the form offers the organisation's enabled currencies
and the account's own; the pre-flight refuses any other before any call, and Xero refuses it
when sent anyway; an admin may add the currency to Xero from the failure, on purpose; the
invoice page shows Xero's exchange rate; money keeps each currency's decimal places."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from invoices.services import LineInput, invoice_create, invoice_issue, payment_record
from xero_sync.models import InvoiceSync, InvoiceSyncState, OrganisationSettings
from xero_sync.organisation.services import currency_add

from ..factories import client_for, contact_make
from ..support.invoices import due_in, in_xero, issue, poll
from .conftest import HARBOUR, connect

API = "/api.xro/2.0/*"


def currency_choices(user, account) -> list[str]:
    form = client_for(user).get(reverse("invoices:new", args=[account.slug])).context["form"]
    return [code for code, _ in form.fields["currency"].choices]


def failed(invoice) -> InvoiceSync:
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED, (sync.state, sync.error)
    return sync


def page(user, invoice) -> str:
    url = reverse("invoices:detail", args=[invoice.account.slug, invoice.pk])
    return client_for(user).get(url).content.decode()


@pytest.mark.django_db
def test_the_form_offers_the_organisations_currencies_and_the_accounts_own(
    xero, account, admin_user
):
    form = client_for(admin_user).get(reverse("invoices:new", args=[account.slug])).context["form"]
    assert not hasattr(form.fields["currency"], "choices")  # not connected: any three letters
    connect(xero, account, admin_user)
    assert currency_choices(admin_user, account) == ["NZD", "AUD", "USD"]
    # Read once, then kept like the chart of accounts: the next form asks Xero nothing.
    xero.clear_requests()
    assert currency_choices(admin_user, account) == ["NZD", "AUD", "USD"]
    assert xero.requests(path=API) == []


@pytest.mark.django_db
def test_an_organisation_with_only_its_base_currency_offers_it_alone(xero, account, admin_user):
    connect(xero, account, admin_user, org=HARBOUR)
    assert currency_choices(admin_user, account) == ["NZD"]


@pytest.mark.django_db
def test_a_currency_xero_does_not_use_fails_before_any_call_in_plain_words(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    currency_choices(admin_user, account)  # the form read the organisation's currencies
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, gst, currency="EUR")
    sync = failed(invoice)
    assert sync.error_cause == "currency"
    assert sync.error.startswith(
        f"Xero's organisation does not use EUR, the currency of invoice {invoice.number}. "
        "It takes invoices in NZD, AUD, USD."
    )
    assert xero.requests(path=API) == []
    assert "Add EUR to Xero and retry" in page(admin_user, invoice)


@pytest.mark.django_db
def test_sent_anyway_xero_refuses_it_and_the_currencies_are_read_again(
    ready, xero, account, tasks_inline
):
    connection, gst = ready  # the currencies were never read: the pre-flight cannot know
    with tasks_inline():
        invoice = issue(account, gst, currency="EUR")
    sync = failed(invoice)
    assert sync.error_cause == "currency" and "does not use EUR" in sync.error
    invoices_sent = xero.requests(method="POST", path="/api.xro/2.0/Invoices")
    assert [r["status"] for r in invoices_sent] == [200]  # refused in the element's errors
    assert xero.invoices(connection.tenant_id) == []
    stored = OrganisationSettings.objects.get(connection=connection)
    assert stored.currencies == ["NZD", "AUD", "USD"] and stored.base_currency == "NZD"


@pytest.mark.django_db
def test_an_admin_adds_the_currency_from_the_failure_and_the_invoice_goes(
    ready, xero, account, admin_user, staff_user, tasks_inline
):
    connection, gst = ready
    currency_choices(admin_user, account)
    with tasks_inline():
        invoice = issue(account, gst, currency="EUR")
    failed(invoice)
    url = reverse("xero_sync:invoice_add_currency", args=[account.slug, invoice.pk])
    assert client_for(staff_user).post(url).status_code == 403  # admins only
    assert "Only an admin" in page(staff_user, invoice)
    assert "EUR" not in [
        c["Code"] for c in xero.state(connection.tenant_id, "currencies")["Currencies"]
    ]
    with tasks_inline():
        response = client_for(admin_user).post(url)
    assert response.status_code == 302
    enabled = xero.state(connection.tenant_id, "currencies")["Currencies"]
    assert [c["Code"] for c in enabled][-1] == "EUR"
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED
    assert in_xero(xero, connection, invoice)["CurrencyCode"] == "EUR"
    assert "EUR" in currency_choices(admin_user, account)
    adds = xero.requests(method="PUT", path="/api.xro/2.0/Currencies")
    assert len(adds) == 1 and adds[0]["status"] == 200


@pytest.mark.django_db
def test_the_invoice_page_shows_xeros_exchange_rate_once_xero_has_one(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    xero.set_rate(connection.tenant_id, "USD", "0.612345")
    currency_choices(admin_user, account)  # reads the organisation: NZD is its base
    with tasks_inline():
        invoice = issue(account, gst, currency="USD")
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED
    assert in_xero(xero, connection, invoice)["CurrencyRate"] == 0.612345
    assert sync.xero_currency_rate == Decimal("0.612345")
    assert "Xero's exchange rate: 1 NZD = 0.612345 USD" in page(admin_user, invoice)
    # A rate changed in Xero reaches the page with the poll.
    xero.edit_invoice(connection.tenant_id, sync.xero_invoice_id, CurrencyRate=0.7)
    poll(connection)
    sync.refresh_from_db()
    assert sync.xero_currency_rate == Decimal("0.700000")


@pytest.mark.django_db
def test_an_invoice_in_the_base_currency_shows_no_rate(
    ready, xero, account, admin_user, tasks_inline
):
    connection, gst = ready
    currency_choices(admin_user, account)
    with tasks_inline():
        invoice = issue(account, gst)
    assert InvoiceSync.objects.get(invoice=invoice).xero_currency_rate == Decimal(1)
    assert "exchange rate" not in page(admin_user, invoice)


@pytest.mark.django_db
def test_yen_are_whole_and_the_totals_match_xero(ready, xero, account, admin_user, tasks_inline):
    connection, gst = ready
    currency_add(connection=connection, code="JPY", user=admin_user)
    with tasks_inline():
        invoice = invoice_issue(
            invoice=invoice_create(
                account=account,
                contact=contact_make(account, first_name="Ken", last_name="Sato"),
                currency="JPY",
                due_date=due_in(14),
                lines=[
                    LineInput(
                        description="Pipe",
                        quantity=Decimal("3"),
                        unit_price=Decimal("333.5"),
                        tax_rate=gst,
                    ),
                    LineInput(
                        description="Fittings",
                        quantity=Decimal("1"),
                        unit_price=Decimal("1001"),
                        discount_rate=Decimal("12.5"),
                        tax_rate=gst,
                    ),
                ],
            )
        )
    invoice.refresh_from_db()
    # 1,000.50 -> 1,001 and 875.875 -> 876; tax 150.15 -> 150 and 131.4 -> 131.
    assert [line.line_amount for line in invoice.lines.order_by("position")] == [1001, 876]
    assert (invoice.subtotal, invoice.total_tax, invoice.total) == tuple(
        map(Decimal, (1877, 281, 2158))
    )
    ours = in_xero(xero, connection, invoice)
    assert (ours["SubTotal"], ours["TotalTax"], ours["Total"]) == (1877, 281, 2158)
    with pytest.raises(ValidationError, match="whole JPY"):
        payment_record(invoice=invoice, amount=Decimal("10.50"))
