"""In the browser: an import where Xero sends one record the CRM cannot store and one contact
that looks like a CRM contact twice. Everything else comes in; the import says what was held;
Sync failures shows both, and the admin decides the duplicate. The contact list files a
company known only by its name under that name."""

import json

import pytest

from contacts.models import Contact
from demo.data import DEMO_CONTACTS
from platform_crm.models import Role
from xero_sync.models import DuplicateResolution, PossibleDuplicate

from ..browser import log_in, screenshots
from ..factories import account_create, contact_make, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import KIWI, connect

pytestmark = pytest.mark.slow


def test_held_records_and_a_possible_duplicate_are_shown_and_decided(
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
    tenant = xero_sandbox.tenant_id(KIWI)
    xero_sandbox.create_contact(tenant, Name="Alpine Catering", EmailAddress="hi@alpine.example")
    contacts = xero_sandbox.contacts(tenant)
    unreadable = {"Name": "Contact Xero sent without an id", "ContactStatus": "ACTIVE"}
    body = {
        "Contacts": [*contacts, unreadable],
        "pagination": {"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": len(contacts) + 1},
    }
    xero_sandbox.fault(
        "status",
        method="GET",
        path="/api.xro/2.0/Contacts",
        status=200,
        body=json.dumps(body),
        count=None,
    )
    log_in(page, live_server.url, admin)
    base = f"{live_server.url}/a/{account.slug}"
    page.goto(f"{base}/settings/integrations/xero/contacts/")
    page.click("#run-import")
    page.wait_for_selector("#import-status:has-text('Done')")
    assert page.inner_text("#count-duplicates") == "1" and page.inner_text("#count-held") == "1"
    screenshots(page, "held-01-import")

    page.click("#import-held a")
    page.wait_for_selector("#held-records")
    assert "Contact Xero sent without an id" in page.inner_text("#held-records")
    assert "without a ContactID" in page.inner_text("#held-records")
    assert "Chloe Wu" in page.inner_text("#possible-duplicates")
    screenshots(page, "held-02-sync-failures")

    page.click("#possible-duplicates button[value=same]")
    page.wait_for_selector("#no-duplicates")
    held = PossibleDuplicate.objects.get()
    assert held.resolution == DuplicateResolution.KEPT_ONE
    assert Contact.objects.filter(account=account, sort_name="chloe wu").count() == 1
    screenshots(page, "held-03-decided")

    page.goto(f"{base}/contacts/")
    names = page.locator("table.list tbody tr td:first-child").all_inner_texts()
    first_b = next(i for i, name in enumerate(names) if name.startswith("B"))
    assert names.index("Alpine Catering") < first_b  # filed under A, not under C
    assert names == sorted(names, key=str.casefold)
    screenshots(page, "held-04-contacts")
