"""The invoice's own link and email from Xero: once Xero approves an invoice its online link is
kept and shown, ready to copy; "Email from Xero" has Xero send its own email of the invoice,
through the worker, once per press (a retry is the same request), the outcome in the history."""

import urllib.request

import pytest
from django.urls import reverse

from invoices.models import InvoiceEvent
from invoices.services import invoice_create
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import client_for, contact_make
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
        lambda: InvoiceSync.objects.filter(invoice=invoice).exclude(online_invoice_url="").first()
    )
    answered = xero.requests(method="GET", path="/api.xro/2.0/Invoices/*/OnlineInvoice")
    assert [r["status"] for r in answered] == [200]
    assert sync.online_invoice_url.startswith(xero.api_url.split("/api.xro")[0] + "/in/")
    html = page(staff_user, invoice)
    assert f'value="{sync.online_invoice_url}"' in html
    assert 'data-copy="xero-online-link"' in html
    assert "Online invoice link received from Xero" in history(invoice)
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
def test_a_draft_cannot_be_emailed_and_no_call_is_made(ready, xero, account, staff_user):
    connection, gst = ready
    draft = invoice_create(
        account=account,
        contact=contact_make(account, first_name="Ana", last_name="Rua", email="ana@x.example"),
        lines=lines(gst),
        due_date=due_in(10),
    )
    xero.clear_requests()
    assert "Email from Xero" not in page(staff_user, draft)
    response = press_email(staff_user, draft)
    assert "Xero emails an invoice only once it is approved there." in response.content.decode()
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
