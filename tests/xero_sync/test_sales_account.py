"""Choosing the sales account invoice lines are coded to, from the organisation's chart of
accounts in the sandbox (Kiwi Plumbing's seeded chart)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from platform_crm.models import Role
from xero_sync.client import XeroClient
from xero_sync.connection.ledger import can_take_sales, connection_choose_sales_account
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroConnection

from ..factories import client_for, invoice_make, user_create
from .conftest import KIWI, callback, connect, consent, start_connect

SALES_TYPES = {"REVENUE", "SALES", "OTHERINCOME"}


def sales_url(account):
    return reverse("xero_sync:sales_account", args=[account.slug])


@pytest.fixture
def kiwi(xero, account, admin_user):
    return connect(xero, account, admin_user)


@pytest.mark.django_db
def test_lists_the_active_sales_accounts_of_the_chart_with_the_current_one_chosen(
    kiwi, xero, account, admin_user
):
    chart = xero.state(kiwi.tenant_id, "accounts")["Accounts"]
    expected = {
        (a["Code"], a["Name"])
        for a in chart
        if a["Status"] == "ACTIVE" and a["Type"] in SALES_TYPES and a.get("Code")
    }
    page = client_for(admin_user).get(sales_url(account))
    assert page.status_code == 200
    listed = {(a.code, a.name) for a in page.context["choices"]}
    assert listed == expected
    assert {("200", "Sales"), ("205", "Sales - Trade"), ("270", "Interest Income")} <= listed
    assert not {code for code, _ in listed} & {"310", "615", "090"}  # costs, clearing, bank
    html = page.content.decode()
    assert 'value="200" checked' in html
    assert "sales-account-warning" not in html


@pytest.mark.django_db
def test_the_chart_read_for_the_payment_account_is_reused(kiwi, xero, account, admin_user):
    # connect() read the chart on the payment account step; this page needs no second read.
    before = len(xero.requests(method="GET", path="/api.xro/2.0/Accounts"))
    assert before == 1
    client_for(admin_user).get(sales_url(account))
    assert len(xero.requests(method="GET", path="/api.xro/2.0/Accounts")) == before
    client_for(admin_user).get(sales_url(account), {"refresh": 1})
    assert len(xero.requests(method="GET", path="/api.xro/2.0/Accounts")) == before + 1


@pytest.mark.django_db
def test_saving_a_sales_account_codes_the_next_invoice_lines_to_it(
    kiwi, xero, account, admin_user, tasks_inline
):
    client = client_for(admin_user)
    response = client.post(sales_url(account), {"code": "205"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("xero_sync:integrations", args=[account.slug])
    html = response.content.decode()
    assert "Invoice lines will be coded to 205 Sales - Trade." in html
    assert "205 Sales - Trade" in html and f'href="{sales_url(account)}">Change</a>' in html
    assert XeroConnection.objects.get(pk=kiwi.pk).sales_account_code == "205"
    with tasks_inline():
        invoice = invoice_make(account, issue=True, tax_mode="no_tax")
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
    (ours,) = [i for i in xero.invoices(kiwi.tenant_id) if i["InvoiceNumber"] == invoice.number]
    assert [line["AccountCode"] for line in ours["LineItems"]] == ["205"]


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["310", "615", "090", "999", ""])
def test_a_code_that_is_not_an_active_sales_account_is_refused(kiwi, account, admin_user, code):
    page = client_for(admin_user).post(sales_url(account), {"code": code})
    assert page.status_code == 200
    assert "Choose one of the active sales accounts listed." in page.content.decode()
    assert XeroConnection.objects.get(pk=kiwi.pk).sales_account_code == "200"


@pytest.mark.django_db
def test_the_service_refuses_an_account_that_cannot_take_sales(kiwi):
    chart = {a.code: a for a in XeroClient(kiwi).ledger_accounts()}
    for code in ("310", "615", "618"):  # cost of sales, payments clearing, archived clearing
        with pytest.raises(ValueError, match="not an active sales account"):
            connection_choose_sales_account(connection=kiwi, account=chart[code])
    connection_choose_sales_account(connection=kiwi, account=chart["260"])
    assert XeroConnection.objects.get(pk=kiwi.pk).sales_account_code == "260"


@pytest.mark.django_db
def test_a_current_code_missing_from_the_chart_is_warned_about(kiwi, account, admin_user):
    # As if the account had been archived or deleted in Xero since it was chosen.
    XeroConnection.objects.filter(pk=kiwi.pk).update(sales_account_code="999")
    client = client_for(admin_user)
    page = client.get(sales_url(account)).content.decode()
    assert "The current account, 999, is not an active sales account" in page
    integrations = client.get(reverse("xero_sync:integrations", args=[account.slug]))
    assert "Sales account 999 is not an active sales account" in integrations.content.decode()


@pytest.mark.django_db
def test_staff_get_403_and_other_accounts_404(kiwi, account, outsider):
    staff = client_for(user_create(account=account, role=Role.STAFF))
    assert staff.get(sales_url(account)).status_code == 403
    assert staff.post(sales_url(account), {"code": "205"}).status_code == 403
    stranger = client_for(outsider)
    assert stranger.get(sales_url(account)).status_code == 404
    assert stranger.post(sales_url(account), {"code": "205"}).status_code == 404
    assert XeroConnection.objects.get(pk=kiwi.pk).sales_account_code == "200"


def test_only_active_coded_revenue_sales_and_other_income_accounts_take_sales():
    from xero_sync.client import LedgerAccount

    def ledger(type_, status="ACTIVE", code="400"):
        return LedgerAccount("id", code, "An account", type_, status, enable_payments=False)

    assert all(can_take_sales(ledger(t)) for t in SALES_TYPES)
    assert not can_take_sales(ledger("REVENUE", status="ARCHIVED"))
    assert not can_take_sales(ledger("REVENUE", code=""))
    assert not any(can_take_sales(ledger(t)) for t in ("EXPENSE", "CURRENT", "BANK"))


@pytest.mark.django_db
def test_after_reconnecting_the_integration_page_still_names_the_sales_account(
    kiwi, xero, account, admin_user
):
    client = client_for(admin_user)
    integrations = reverse("xero_sync:integrations", args=[account.slug])

    def sales_account_shown() -> list[str]:
        page = client.get(integrations).content.decode()
        found = re.search(r'id="xero-sales-account">(.*?)<a ', page, re.S)
        assert found, page
        return found.group(1).split()

    assert sales_account_shown() == ["200", "Sales"]
    client.post(reverse("xero_sync:disconnect", args=[account.slug]))
    query = start_connect(client, account)
    callback(client, query, consent(xero, query, [KIWI]))
    assert XeroConnection.objects.get(pk=kiwi.pk).is_usable
    assert sales_account_shown() == ["200", "Sales"]
    cache.clear()  # the chart read at connection has long expired
    assert sales_account_shown() == ["200", "Sales"]
