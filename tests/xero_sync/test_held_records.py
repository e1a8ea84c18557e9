"""What a sync holds back for a person is shown where they look (Sync failures, Sync activity,
/ops/health/) and can be seen to there: Retry a record Xero sent oddly, decide a possible
duplicate."""

import json

import pytest
from django.urls import reverse

from contacts.models import Contact
from platform_crm.models import Role
from xero_sync.models import (
    DuplicateResolution,
    PossibleDuplicate,
    QuarantinedRecord,
    XeroContact,
)

from ..factories import client_for, contact_make, user_create
from ..support.contacts import contacts_page_answer
from .conftest import KIWI, connect, run_import


@pytest.fixture
def connected(xero, account, admin_user):
    return connect(xero, account, admin_user)


def failures_page(user, account) -> str:
    return client_for(user).get(reverse("xero_sync:failures", args=[account.slug])).content.decode()


@pytest.mark.django_db
def test_a_held_contact_is_listed_and_retry_stores_it_once_xero_sends_it_well(
    connected, xero, account, admin_user, tasks_inline
):
    tenant = xero.tenant_id(KIWI)
    good = xero.create_contact(tenant, Name="Fixed Later Ltd")
    broken = {**good, "MergedToContactID": "not-an-id-" + "x" * 70}
    xero.fault(
        "status",
        method="GET",
        path="/api.xro/2.0/Contacts",
        status=200,
        body=contacts_page_answer(xero, tenant, broken),
    )
    run_import(connected)
    record = QuarantinedRecord.objects.get()
    page = failures_page(admin_user, account)
    assert "Fixed Later Ltd" in page and "at most 64 fit" in page and "by the import" in page
    # Xero now sends it as it should: Retry fetches it and stores it.
    retry = reverse("xero_sync:quarantine_retry", args=[account.slug, record.pk])
    with tasks_inline():
        response = client_for(admin_user).post(retry)
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.resolved_at is not None and record.resolution == "Stored by a later sync"
    assert XeroContact.objects.get(xero_contact_id=good["ContactID"]).contact.company_name == (
        "Fixed Later Ltd"
    )
    assert "Everything Xero sent was stored." in failures_page(admin_user, account)


@pytest.mark.django_db
def test_held_records_count_on_activity_and_ops_health_and_only_for_their_account(
    connected, xero, account, admin_user, other_account
):
    tenant = xero.tenant_id(KIWI)
    xero.fault(
        "status",
        method="GET",
        path="/api.xro/2.0/Contacts",
        status=200,
        body=contacts_page_answer(xero, tenant, {"Name": "No id"}, {"Name": "Nor this"}),
    )
    run_import(connected)
    activity = client_for(admin_user).get(reverse("xero_sync:activity", args=[account.slug]))
    page = activity.content.decode()
    assert '2 records</strong> · <span class="problem-what">Sent by Xero but could not' in page
    ops = user_create(account=account, username="ops-person")
    ops.is_superuser = True
    ops.save()
    health = client_for(ops).get(reverse("ops:health")).content.decode()
    row = health[health.index(f'id="account-{account.slug}"') :]
    assert '<td class="num quarantined">2</td>' in row[: row.index("</tr>")]
    # Another account's admin sees none of it, and cannot retry it.
    stranger = user_create(account=other_account, role=Role.ADMIN)
    record = QuarantinedRecord.objects.first()
    assert record is not None
    retry = reverse("xero_sync:quarantine_retry", args=[other_account.slug, record.pk])
    assert client_for(stranger).post(retry).status_code == 404
    assert "No id" not in failures_page(stranger, other_account)


@pytest.mark.django_db
def test_a_possible_duplicate_is_decided_by_an_admin(connected, xero, account, admin_user):
    chloe = contact_make(
        account,
        first_name="Chloe",
        last_name="Wu",
        email="chloe@wu-design.example",
        phone="09 555 0103",
    )
    run_import(connected)
    duplicate = PossibleDuplicate.objects.get(contact=chloe)
    page = failures_page(admin_user, account)
    assert "Possible duplicates" in page and "Chloe Wu" in page
    resolve = reverse("xero_sync:duplicate_resolve", args=[account.slug, duplicate.pk])
    # "Same contact": nothing is created, and later syncs leave the Xero contact alone.
    client_for(admin_user).post(resolve, {"decision": "same"})
    duplicate.refresh_from_db()
    assert duplicate.resolution == DuplicateResolution.KEPT_ONE
    before = Contact.objects.filter(account=account).count()
    run_import(connected)
    assert Contact.objects.filter(account=account).count() == before
    assert not PossibleDuplicate.objects.filter(resolved_at=None).exists()


@pytest.mark.django_db
def test_a_possible_duplicate_can_become_a_contact_of_its_own(connected, xero, account, admin_user):
    chloe = contact_make(
        account,
        first_name="Chloe",
        last_name="Wu",
        email="chloe@wu-design.example",
        phone="09 555 0103",
    )
    run_import(connected)
    duplicate = PossibleDuplicate.objects.get(contact=chloe)
    resolve = reverse("xero_sync:duplicate_resolve", args=[account.slug, duplicate.pk])
    client_for(admin_user).post(resolve, {"decision": "separate"})
    link = XeroContact.objects.get(xero_contact_id=duplicate.xero_contact_id)
    assert link.contact != chloe and link.contact.sort_name == "chloe wu"
    assert json.loads(json.dumps(link.payload))["ContactID"] == duplicate.xero_contact_id
    duplicate.refresh_from_db()
    assert duplicate.resolution == DuplicateResolution.CREATED
    # Deciding twice changes nothing.
    client_for(admin_user).post(resolve, {"decision": "same"})
    duplicate.refresh_from_db()
    assert duplicate.resolution == DuplicateResolution.CREATED
