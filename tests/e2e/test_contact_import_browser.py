"""The admin previews and runs the contact import in the browser; a real worker does the work
and the progress bar, polled by htmx, reaches 100%."""

import pytest

from contacts.models import Contact
from demo.data import DEMO_CONTACTS
from platform_crm.models import Role
from xero_sync.models import XeroContact

from ..browser import log_in, screenshot
from ..factories import account_create, contact_make, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import connect

pytestmark = pytest.mark.slow


def test_preview_then_import_with_live_progress(
    page, live_server, settings, xero_sandbox, transactional_db, celery_worker
):
    point_at_sandbox(settings, xero_sandbox)
    account = account_create(name="Kiwi Plumbing")
    for first, last, company, email, phone in DEMO_CONTACTS:
        contact_make(
            account,
            first_name=first,
            last_name=last,
            company_name=company,
            email=email,
            phone=phone,
        )
    admin = user_create(account=account, role=Role.ADMIN)
    connect(xero_sandbox, account, admin)
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/a/{account.slug}/settings/integrations/xero/contacts/")

    page.click("#preview-import")
    page.wait_for_selector("#import-status:has-text('Ready to import')")
    assert page.inner_text("#count-email") == "3" and page.inner_text("#count-phone") == "2"
    assert Contact.objects.filter(account=account).count() == len(DEMO_CONTACTS)
    screenshot(page, "contacts-01-preview")

    page.click("#run-import")
    page.wait_for_selector("#import-status:has-text('Done')")
    assert page.inner_text("#import-percent") == "100%"
    screenshot(page, "contacts-02-imported")
    created = int(page.inner_text("#count-created"))
    assert Contact.objects.filter(account=account).count() == len(DEMO_CONTACTS) + created
    assert XeroContact.objects.filter(contact__account=account).count() == created + 5
