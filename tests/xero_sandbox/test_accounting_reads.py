"""Organisation, accounts, tax rates, contacts and contact groups through the real SDK."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, Contacts
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from tests.xero_sandbox.conftest import api


@pytest.fixture
def client(xero_sandbox):
    return xero_sandbox.sdk()


def test_organisation_accounts_and_tax_rates_deserialise(client):
    org = client.accounting.get_organisations(client.tenant_id).organisations[0]
    assert org.organisation_id == client.tenant_id
    accounts = client.accounting.get_accounts(client.tenant_id).accounts
    assert any(a.type.value == "BANK" for a in accounts)
    rates = {r.tax_type: r for r in client.accounting.get_tax_rates(client.tenant_id).tax_rates}
    assert rates["OUTPUT2"].effective_rate == Decimal("15.0000")
    # 15% + 2% compound: 15 + 2 x 1.15 = 17.3
    assert rates["TAX002"].effective_rate == Decimal("17.3000")
    assert len(rates["TAX002"].tax_components) == 2


def test_contacts_page_through_sdk_with_pagination(client, xero_sandbox):
    total = len(
        [c for c in xero_sandbox.contacts(client.tenant_id) if c["ContactStatus"] == "ACTIVE"]
    )
    seen = []
    page = 1
    while True:
        result = client.accounting.get_contacts(client.tenant_id, page=page, page_size=10)
        seen += [c.contact_id for c in result.contacts]
        assert result.pagination.item_count == total
        if len(result.contacts) < 10:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total


def test_page_size_is_capped_at_1000_and_unpaged_call_returns_first_page(http, xero_sandbox):
    xero_sandbox.seed(orgs=[{"name": "Big Ltd", "n_contacts": 1200}])
    tenant = xero_sandbox.tenant_id("Big Ltd")
    token = xero_sandbox.token_for(tenant)
    body = json.loads(
        api(http, xero_sandbox, "GET", "/Contacts", token, tenant, page="1", pageSize="5000").data
    )
    assert body["pagination"]["pageSize"] == 1000 and len(body["Contacts"]) == 1000
    unpaged = json.loads(api(http, xero_sandbox, "GET", "/Contacts", token, tenant).data)
    assert len(unpaged["Contacts"]) == 100


def test_archived_summary_ids_search_and_modified_since(client, xero_sandbox):
    tenant = client.tenant_id
    stored = xero_sandbox.contacts(tenant)
    target = stored[0]
    xero_sandbox.edit_contact(tenant, target["ContactID"], ContactStatus="ARCHIVED")
    active = client.accounting.get_contacts(tenant, page=1, page_size=1000).contacts
    assert target["ContactID"] not in {c.contact_id for c in active}
    everything = client.accounting.get_contacts(
        tenant, page=1, page_size=1000, include_archived=True
    )
    assert target["ContactID"] in {c.contact_id for c in everything.contacts}

    summary = client.accounting.get_contacts(tenant, page=1, summary_only=True).contacts
    assert summary[0].addresses is None and summary[0].name

    picked = [c["ContactID"] for c in stored[1:3]]
    by_id = client.accounting.get_contacts(tenant, i_ds=picked, page=1).contacts
    assert sorted(c.contact_id for c in by_id) == sorted(picked)

    name = stored[1]["Name"]
    found = client.accounting.get_contacts(tenant, search_term=name[:6].lower(), page=1).contacts
    assert stored[1]["ContactID"] in {c.contact_id for c in found}

    since = xero_sandbox.clock()["epoch"]
    xero_sandbox.advance(seconds=5)
    xero_sandbox.edit_contact(tenant, stored[2]["ContactID"], FirstName="Changed")
    changed = client.accounting.get_contacts(
        tenant, if_modified_since=dt.datetime.fromtimestamp(since, dt.UTC), page=1
    ).contacts
    assert [c.contact_id for c in changed] == [stored[2]["ContactID"]]


def test_single_contact_and_unknown_id_is_404(client, xero_sandbox):
    contact = xero_sandbox.contacts(client.tenant_id)[0]
    got = client.accounting.get_contact(client.tenant_id, contact["ContactID"]).contacts[0]
    assert got.name == contact["Name"] and got.updated_date_utc.tzinfo
    with pytest.raises(NotFoundException):
        client.accounting.get_contact(client.tenant_id, "00000000-0000-0000-0000-000000000000")


def test_create_update_and_unique_active_names(client, xero_sandbox):
    tenant = client.tenant_id
    created = client.accounting.create_contacts(
        tenant, Contacts(contacts=[Contact(name="Brand New Ltd", email_address="a@b.example")])
    ).contacts[0]
    assert created.contact_id and created.contact_status == "ACTIVE"
    updated = client.accounting.update_or_create_contacts(
        tenant,
        Contacts(contacts=[Contact(contact_id=created.contact_id, name="Brand New Limited")]),
    ).contacts[0]
    assert updated.name == "Brand New Limited" and updated.email_address == "a@b.example"
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.create_contacts(
            tenant, Contacts(contacts=[Contact(name="brand new limited")])
        )
    assert (
        "The contact name brand new limited is already assigned to another contact"
        in error.value.reason
    )
    mixed = client.accounting.create_contacts(
        tenant,
        Contacts(contacts=[Contact(name="Brand New Limited"), Contact(name="Other Co")]),
        summarize_errors=False,
    ).contacts
    assert [c.status_attribute_string for c in mixed] == ["ERROR", "OK"]


def test_contact_groups_list_without_members_single_with_members(client, xero_sandbox):
    groups = client.accounting.get_contact_groups(client.tenant_id).contact_groups
    assert groups and all(not g.contacts for g in groups)
    stored = xero_sandbox.state(client.tenant_id, "contact_groups")["ContactGroups"]
    expected = next(g for g in stored if g["Contacts"])
    one = client.accounting.get_contact_group(
        client.tenant_id, expected["ContactGroupID"]
    ).contact_groups[0]
    assert {c.contact_id for c in one.contacts} == set(expected["Contacts"])
