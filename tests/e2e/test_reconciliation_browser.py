"""In the browser: an admin presses Check now on the Integrations page; the worker compares the
CRM with Xero and the page says they agree. Then drift made in Xero with no webhook (a payment)
and in the CRM (a phone changed with nothing queued, as a data fix would): Check now lists both
with their repair."""

import pytest
from django.utils import timezone

from contacts.models import Contact
from platform_crm.models import Role
from xero_sync.models import InvoiceSync, ReconciliationRun, RunStatus, XeroContact

from ..browser import log_in, screenshots
from ..factories import account_create, contact_make, tax_rate_make, user_create
from ..support.invoices import issue
from ..support.waiting import wait_until
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import connect, run_import

pytestmark = pytest.mark.slow


def check_now(page, base: str, runs_before: int) -> None:
    page.goto(f"{base}/settings/integrations/")
    page.click("#books-check")
    wait_until(
        lambda: ReconciliationRun.objects.filter(status=RunStatus.DONE).count() > runs_before, 60
    )
    page.goto(f"{base}/settings/integrations/")


def test_check_now_says_the_books_agree_then_lists_differences_with_their_repair(
    page, live_server, settings, xero_sandbox, transactional_db, celery_worker
):
    from decimal import Decimal

    from xero_sync.taxes import services as tax_services

    point_at_sandbox(settings, xero_sandbox)
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    connection = connect(xero_sandbox, account, admin)
    run_import(connection, admin)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    invoice = issue(account, gst, contact_make(account, first_name="Ruth", last_name="Tane"))
    wait_until(lambda: InvoiceSync.objects.get(invoice=invoice).state == "synced", 30)

    log_in(page, live_server.url, admin)
    base = f"{live_server.url}/a/{account.slug}"
    check_now(page, base, 0)
    sentence = page.inner_text("#books-sentence")
    assert "CRM and Xero agree: checked just now" in sentence and "0 differences" in sentence
    screenshots(page, "reconcile-01-agree")

    sync = InvoiceSync.objects.get(invoice=invoice)
    xero_sandbox.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount="50.00", quiet=True)
    link = XeroContact.objects.select_related("contact").earliest("pk")
    # No edit recorded and nothing queued: the two sides disagree with no pending work.
    Contact.objects.filter(pk=link.contact_id).update(
        phone="+64 21 555 0199", phone_e164="+64215550199", updated_at=timezone.now()
    )
    check_now(page, base, 1)
    assert "CRM and Xero differ" in page.inner_text("#books-sentence")
    table = page.inner_text("#books-differences")
    assert invoice.number in table and "Brought from Xero" in table
    assert "Left for a person" in table and "555 0199" in table
    screenshots(page, "reconcile-02-differences")
