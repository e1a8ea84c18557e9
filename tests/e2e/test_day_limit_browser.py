"""An organisation whose Xero day is spent, looked at in headless Chromium at 1280 and 390 px
(screenshots in test-artifacts/pages-day-limit-*.png, with `look()`'s checks): the invoice page
says why its invoice waits and when it goes; Sync activity says how many wait and until when."""

import pytest
from django.template.defaultfilters import date as date_filter

from xero_sync.models import InvoiceSync, InvoiceSyncState
from xero_sync.taxes import services as tax_services

from ..browser import log_in
from ..factories import contact_make
from ..support.invoices import issue_many
from ..support.waiting import wait_until
from . import test_first_hour_pages_browser as first_hour

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

look = first_hour.look
kiwi = first_hour.kiwi


def test_a_spent_day_shows_when_work_resumes_at_1280_and_390(
    page, live_server, xero_sandbox, celery_worker, kiwi
):
    account, admin, connection, gst, _ = kiwi
    base = f"{live_server.url}/a/{account.slug}"
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    # A Starter organisation that has spent today's calls (Xero's word only: nothing is set here).
    spent = xero_sandbox.org_limits(connection.tenant_id)["usage"]["day_used"]
    xero_sandbox.set_org_limits(connection.tenant_id, per_day=spent)
    contact = contact_make(account, first_name="Tui", last_name="Starter")
    (invoice,) = issue_many(account, gst, contact, 1)
    sync = wait_until(
        lambda: InvoiceSync.objects.filter(
            invoice=invoice, state=InvoiceSyncState.PENDING, waiting_for="day"
        ).first(),
        timeout=30,
    )

    log_in(page, live_server.url, admin)
    page.goto(f"{base}/invoices/{invoice.pk}/")
    wait = page.locator("#sync-wait")
    assert "daily allowance of calls for this organisation is used up" in wait.inner_text()
    assert date_filter(sync.next_attempt_at, "j M Y H:i") in wait.inner_text()
    look(page, "day-limit-invoice")

    page.goto(f"{base}/settings/integrations/xero/activity/")
    told = page.locator("#day-limit-wait")
    assert "1 invoice waits until" in told.inner_text()
    assert date_filter(sync.next_attempt_at, "j M H:i") in told.inner_text()
    look(page, "day-limit-activity")
