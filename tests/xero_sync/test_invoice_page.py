"""The Xero parts of the invoice page: the badge polls while the invoice is being sent and
stops once the sync settles; staff whose fix is on an admin page are told whom to ask and
what; "Fix it" on an invoice Xero can no longer change leads to Void and reissue; and the
confirmations of void, void and reissue and delete payment say what happens in Xero."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoices.services import payment_record
from platform_crm.models import Role
from xero_sync.invoices import drain as invoice_drain
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import client_for, tax_rate_make, user_create
from ..support.invoices import issue
from .conftest import connect

pytestmark = pytest.mark.django_db


def badge_url(account, invoice) -> str:
    return reverse("xero_sync:invoice_badge", args=[account.slug, invoice.pk])


def detail(user, account, invoice) -> str:
    url = reverse("invoices:detail", args=[account.slug, invoice.pk])
    return client_for(user).get(url).content.decode()


def test_the_badge_polls_while_sending_and_stops_once_the_sync_settles(
    ready,
    account,
    staff_user,
):
    connection, gst = ready
    invoice = issue(account, gst)  # no worker here: the push waits in the outbox
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.PENDING
    page = detail(staff_user, account, invoice)
    assert "Sending to Xero…" in page
    assert f'hx-get="{badge_url(account, invoice)}" hx-trigger="every 1s"' in page

    client = client_for(staff_user)
    still = client.get(badge_url(account, invoice)).content.decode()
    assert "Sending to Xero…" in still and "hx-trigger" in still

    invoice_drain.invoices_drain(connection.pk)
    settled = client.get(badge_url(account, invoice)).content.decode()
    assert "In Xero" in settled and "Open in Xero" in settled
    assert "hx-get" not in settled and "hx-trigger" not in settled  # polling stops
    assert settled.lstrip().startswith('<section class="card sync-badge"')  # the badge alone


def test_staff_whose_fix_is_an_admin_page_are_told_whom_to_ask_and_what(
    xero, account, admin_user, staff_user
):
    admin_user.first_name, admin_user.last_name = "Mere", "Admin"
    admin_user.save()
    second = user_create(account=account, role=Role.ADMIN, username="hemi")
    connection = connect(xero, account, admin_user)
    unmapped = tax_rate_make(account, "Levy 2%", ("Levy", Decimal(2), False))
    invoice = issue(account, unmapped)
    invoice_drain.invoices_drain(connection.pk)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.error_cause == "unmapped_tax" and sync.fix_needs_admin

    page = detail(staff_user, account, invoice)
    assert 'id="sync-fix"' not in page  # no link to a page that answers 403
    assert f"Only an admin of {account.name} can fix this." in page
    assert f"<strong>hemi</strong> ({second.email}) or <strong>Mere Admin</strong>" in page
    assert admin_user.email in page
    assert "to map the invoice&#x27;s tax rate to a Xero tax rate" in page
    # The admin gets the link, and it is a page they can open.
    page = detail(admin_user, account, invoice)
    assert f'<a href="{sync.fix_url}" id="sync-fix">Fix it</a>' in page
    assert client_for(admin_user).get(sync.fix_url).status_code == 200


def test_an_admin_page_a_staff_member_opens_anyway_names_the_admins(
    account, admin_user, staff_user
):
    response = client_for(staff_user).get(reverse("xero_sync:tax_mapping", args=[account.slug]))
    assert response.status_code == 403
    page = response.content.decode()
    assert f"This page is for the admins of {account.name}. Ask" in page
    assert admin_user.email in page


def test_fix_it_on_an_invoice_xero_cannot_change_leads_to_void_and_reissue(
    ready,
    account,
    xero,
    staff_user,
):
    from invoices.services import invoice_update
    from xero_sync.invoices.from_xero import invoices_poll

    from ..support.invoices import lines

    connection, gst = ready
    invoice = issue(account, gst)
    invoice_drain.invoices_drain(connection.pk)
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount=Decimal("30.00"))
    invoices_poll(connection)
    changed = lines(gst)[:1]
    invoice_update(invoice=invoice, lines=changed)
    invoice_drain.invoices_drain(connection.pk)
    sync.refresh_from_db()
    assert sync.error_cause == "xero_locked"
    reissue = reverse("invoices:reissue", args=[account.slug, invoice.pk])
    assert sync.fix_url == reissue  # not the invoice page itself
    page = detail(staff_user, account, invoice)
    assert f'href="{reissue}" id="sync-reissue"' in page
    # The confirmation says what happens on both sides, payments in Xero included.
    asked = client_for(staff_user).get(reissue).content.decode()
    assert "Its 1 payment (30.00 NZD) move to the copy" in asked
    assert f"The payments on {invoice.number} are deleted in {connection.tenant_name}" in asked
    assert "recorded against it to" in asked and connection.payment_account_name in asked


def test_confirmations_say_what_happens_in_xero(
    ready,
    account,
    staff_user,
):
    connection, gst = ready
    org = connection.tenant_name
    invoice = issue(account, gst)
    client = client_for(staff_user)
    void = reverse("invoices:void", args=[account.slug, invoice.pk])
    page = client.get(void).content.decode()
    assert f"Invoice {invoice.number} has not reached {org}, so nothing changes there" in page

    invoice_drain.invoices_drain(connection.pk)
    page = client.get(void).content.decode()
    assert f"{invoice.number} is voided in {org} too" in page

    payment = payment_record(invoice=invoice, amount=Decimal("10.00"), by=staff_user)
    delete = reverse("invoices:payment_delete", args=[account.slug, payment.pk])
    page = client.get(delete).content.decode()
    assert f"This payment has not reached {org}; it will not be sent there." in page
    invoice_drain.invoices_drain(connection.pk)
    invoice.refresh_from_db()
    page = client.get(delete).content.decode()
    assert f"This payment is in {org}: it is deleted there too" in page
    assert f"owing {invoice.amount_due + Decimal(10)} NZD again" in page
