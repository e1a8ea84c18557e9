"""The invoice's own link and email from Xero: once Xero approves an invoice its online link is
read when asked for (one call), kept and shown, ready to copy; "Email from Xero" has Xero send
its own email of the invoice, through the worker, once per press (a retry is the same request),
the outcome in the history."""

import urllib.request

import pytest
from django.urls import reverse

from invoices.models import InvoiceEvent
from invoices.services import invoice_create
from xero_sync.models import InvoiceSync, InvoiceSyncState
from xero_sync.organisation.services import currencies_refresh, currency_add, lock_dates_refresh

from ..factories import client_for, contact_make
from ..support.exchanges import API, Exchanges
from ..support.invoices import due_in, issue, lines

EMAIL_PATH = "/api.xro/2.0/Invoices/*/Email"


def page(user, invoice) -> str:
    url = reverse("invoices:detail", args=[invoice.account.slug, invoice.pk])
    return client_for(user).get(url).content.decode()


def press_email(user, invoice):
    url = reverse("xero_sync:invoice_email", args=[invoice.account.slug, invoice.pk])
    return client_for(user).post(url, follow=True)


def history(invoice) -> list[str]:
    return list(InvoiceEvent.objects.filter(invoice=invoice).values_list("what", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_approved_invoice_shows_its_online_link_and_is_emailed_by_xero_once_per_press(
    ready, xero, account, staff_user, celery_worker
):
    connection, gst = ready
    invoice = issue(account, gst)
    sync = celery_worker.wait_for(
        lambda: InvoiceSync.objects.filter(invoice=invoice, state=InvoiceSyncState.SYNCED).first()
    )
    # The link is read when a person asks for it: one call, then kept.
    assert "Get the online link" in page(staff_user, invoice)
    client_for(staff_user).post(
        reverse("xero_sync:invoice_online_link", args=[account.slug, invoice.pk])
    )
    sync.refresh_from_db()
    assert sync.online_invoice_url.startswith(f"{xero.url}/in/")
    html = page(staff_user, invoice)
    assert f'value="{sync.online_invoice_url}"' in html
    assert 'data-copy="xero-online-link"' in html and "Get the online link" not in html
    answered = xero.requests(method="GET", path="/api.xro/2.0/Invoices/*/OnlineInvoice")
    assert [r["status"] for r in answered] == [200]
    # The link opens the invoice in "Xero" (the sandbox's customer view).
    with urllib.request.urlopen(sync.online_invoice_url, timeout=5) as opened:
        assert invoice.number in opened.read().decode()

    # Xero's answer to the first press is lost: the worker's retry is the same request.
    xero.fault("lost_response", method="POST", path=EMAIL_PATH, count=1)
    assert "Xero is emailing the invoice" in press_email(staff_user, invoice).content.decode()
    celery_worker.wait_for(
        lambda: InvoiceSync.objects.get(pk=sync.pk).email_state == "sent", timeout=30
    )
    (sent,) = xero.invoice_emails(connection.tenant_id)
    assert sent["InvoiceID"] == sync.xero_invoice_id and "ruth@x.example" in str(sent["To"])
    assert sent["idempotencyKey"] == f"crm-invoice-email-{sync.pk}-1"
    assert len(xero.requests(method="POST", path=EMAIL_PATH)) == 2
    assert "Emailed to the contact by Xero" in history(invoice)
    assert "Emailed by Xero" in page(staff_user, invoice)
    # A second press is a second email, on purpose.
    press_email(staff_user, invoice)
    celery_worker.wait_for(lambda: len(xero.invoice_emails(connection.tenant_id)) == 2)


@pytest.mark.django_db
def test_a_draft_has_no_link_nor_email_and_no_call_is_made(ready, xero, account, staff_user):
    connection, gst = ready
    draft = invoice_create(
        account=account,
        contact=contact_make(account, first_name="Ana", last_name="Rua", email="ana@x.example"),
        lines=lines(gst),
        due_date=due_in(10),
    )
    xero.clear_requests()
    html = page(staff_user, draft)
    assert "Email from Xero" not in html and "Get the online link" not in html
    response = press_email(staff_user, draft)
    assert "Xero emails an invoice only once it is approved there." in response.content.decode()
    url = reverse("xero_sync:invoice_online_link", args=[account.slug, draft.pk])
    response = client_for(staff_user).post(url, follow=True)
    assert "Xero has an online link only for invoices approved there." in response.content.decode()
    assert xero.requests(path="/api.xro/2.0/*") == []
    assert xero.invoice_emails(connection.tenant_id) == []


@pytest.mark.django_db
def test_xero_refusing_the_email_is_told_in_the_history(
    ready, xero, account, staff_user, tasks_inline
):
    connection, gst = ready
    no_address = contact_make(account, first_name="Wiremu", last_name="Hona")
    with tasks_inline():
        invoice = issue(account, gst, contact=no_address)
    assert InvoiceSync.objects.get(invoice=invoice).state == InvoiceSyncState.SYNCED
    with tasks_inline():
        press_email(staff_user, invoice)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.email_state == "failed"
    assert sync.email_error == "The contact has no email address to send the invoice to."
    assert (
        "Xero did not email the invoice: The contact has no email address to send the invoice to."
        in history(invoice)
    )
    assert [r["status"] for r in xero.requests(method="POST", path=EMAIL_PATH)] == [400]
    assert xero.invoice_emails(connection.tenant_id) == []


@pytest.mark.django_db
def test_the_clients_calls_for_invoice_settings_keep_to_xeros_contract(
    ready, xero, account, staff_user, tasks_inline
):
    """Every request our client makes for issue 17, and every answer, as the spec has them."""
    connection, gst = ready
    log = Exchanges(xero)
    currencies_refresh(connection, force=True)
    lock_dates_refresh(connection, force=True)
    currency_add(connection=connection, code="EUR", user=None)
    with tasks_inline():
        invoice = issue(account, gst, currency="EUR")
    with tasks_inline():
        press_email(staff_user, invoice)
    client_for(staff_user).post(
        reverse("xero_sync:invoice_online_link", args=[account.slug, invoice.pk])
    )
    log.validated(
        expect=[
            ("GET", f"{API}/Currencies", 200),
            ("GET", f"{API}/Organisation", 200),
            ("PUT", f"{API}/Currencies", 200),
            ("POST", f"{API}/Invoices", 200),
            ("POST", f"{API}/Invoices/*/Email", 204),
            ("GET", f"{API}/Invoices/*/OnlineInvoice", 200),
        ]
    )
