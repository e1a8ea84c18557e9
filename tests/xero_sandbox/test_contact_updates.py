"""Contact updates by ContactID, the sandbox's side: POST /Contacts and POST /Contacts/{ContactID}
through the real SDK, Xero's rules on names among active and archived contacts, phones and addresses
replaced by type, archiving and restoring, batches with summarizeErrors and Idempotency-Key, and the
CONTACT webhooks that result."""

import json

import pytest
from xero_python.accounting import Address, Contact, Contacts, Phone
from xero_python.exceptions import AccountingBadRequestException

from tests.xero_sandbox.conftest import api, messages
from xero_sandbox.accounting.contacts import ARCHIVED_MATCH, duplicate_name
from xero_sandbox.handle import ControlError


@pytest.fixture
def two(xero_sandbox, client):
    """Two fresh active contacts made through the API: (first, second) as the SDK answers them."""
    made = client.accounting.create_contacts(
        client.tenant_id,
        Contacts(contacts=[Contact(name="Alpha Updates Ltd"), Contact(name="Beta Updates Ltd")]),
    ).contacts
    return made[0], made[1]


def update(client, contact_id, **fields):
    """POST /Contacts/{ContactID}, as the SDK's update_contact sends it."""
    return client.accounting.update_contact(
        client.tenant_id, contact_id, Contacts(contacts=[Contact(**fields)])
    ).contacts[0]


def refused(call, *args, **kwargs) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        call(*args, **kwargs)
    return messages(error.value.error_data)


def contact_events(xero_sandbox) -> list[tuple]:
    return [
        (e["eventType"], e["resourceId"])
        for e in xero_sandbox.webhook_events()
        if e["eventCategory"] == "CONTACT"
    ]


def test_updates_by_contact_id_change_the_contact_and_fire_contact_update(
    xero_sandbox, client, two
):
    first, second = two
    xero_sandbox.advance(seconds=2)
    renamed = update(client, first.contact_id, name="Alpha Renamed Ltd", email_address="a@x.nz")
    assert (renamed.name, renamed.email_address) == ("Alpha Renamed Ltd", "a@x.nz")
    client.accounting.update_or_create_contacts(
        client.tenant_id,
        Contacts(contacts=[Contact(contact_id=second.contact_id, first_name="Bea")]),
    )
    got = client.accounting.get_contact(client.tenant_id, first.contact_id).contacts[0]
    assert got.name == "Alpha Renamed Ltd" and got.updated_date_utc > first.updated_date_utc
    # The same values again change nothing: no webhook, UpdatedDateUTC stays.
    again = update(client, first.contact_id, name="Alpha Renamed Ltd")
    assert again.updated_date_utc == got.updated_date_utc
    assert contact_events(xero_sandbox) == [
        ("CREATE", first.contact_id),
        ("CREATE", second.contact_id),
        ("UPDATE", first.contact_id),
        ("UPDATE", second.contact_id),
    ]


def test_a_rename_onto_another_active_name_is_refused_naming_it(xero_sandbox, client, two):
    first, second = two
    assert refused(update, client, first.contact_id, name="Beta Updates Ltd") == [
        duplicate_name("Beta Updates Ltd")
    ]
    # Any case: Xero's names compare without case (UNVERIFIED; the stricter reading).
    assert refused(update, client, first.contact_id, name="  beta updates LTD ") == [
        duplicate_name("beta updates LTD")
    ]
    # A contact may change the case of its own name.
    assert update(client, first.contact_id, name="ALPHA UPDATES LTD").name == "ALPHA UPDATES LTD"
    batch = client.accounting.update_or_create_contacts(
        client.tenant_id,
        Contacts(
            contacts=[
                Contact(contact_id=first.contact_id, name="Beta Updates Ltd"),
                Contact(contact_id=second.contact_id, email_address="b@x.nz"),
            ]
        ),
        summarize_errors=False,
    ).contacts
    assert [c.status_attribute_string for c in batch] == ["ERROR", "OK"]
    assert batch[0].validation_errors[0].message == duplicate_name("Beta Updates Ltd")
    assert contact_events(xero_sandbox)[-1] == ("UPDATE", second.contact_id)
    stored = {c["ContactID"]: c for c in xero_sandbox.contacts(client.tenant_id)}
    assert stored[first.contact_id]["Name"] == "ALPHA UPDATES LTD"


def test_an_archived_contact_still_reserves_its_name(xero_sandbox, client, two):
    first, second = two
    archived = update(client, first.contact_id, contact_status="ARCHIVED")
    assert archived.contact_status == "ARCHIVED"
    assert contact_events(xero_sandbox)[-1] == ("UPDATE", first.contact_id)  # wh L143
    # Neither a new contact nor a rename may take the archived contact's name.
    assert refused(
        client.accounting.create_contacts,
        client.tenant_id,
        Contacts(contacts=[Contact(name="alpha updates ltd")]),
    ) == [ARCHIVED_MATCH]
    assert refused(update, client, second.contact_id, name="Alpha Updates Ltd") == [ARCHIVED_MATCH]
    # Restoring it under its own name takes nothing.
    restored = update(client, first.contact_id, contact_status="ACTIVE")
    assert restored.contact_status == "ACTIVE"
    assert contact_events(xero_sandbox)[-1] == ("UPDATE", first.contact_id)


def test_archived_names_are_free_when_so_configured(xero_sandbox, client, two):
    first, second = two
    update(client, first.contact_id, contact_status="ARCHIVED")
    xero_sandbox.configure(archived_contact_names="free")
    taken = update(client, second.contact_id, name="Alpha Updates Ltd")
    assert taken.name == "Alpha Updates Ltd"
    # Now the archived one cannot come back under that name: an active contact holds it.
    assert refused(update, client, first.contact_id, contact_status="ACTIVE") == [
        duplicate_name("Alpha Updates Ltd")
    ]


def test_an_archived_contact_is_edited_only_by_restoring_it(xero_sandbox, client, two):
    first, _ = two
    update(client, first.contact_id, contact_status="ARCHIVED")
    assert refused(update, client, first.contact_id, email_address="new@x.nz") == [ARCHIVED_MATCH]
    # Archiving it again changes nothing and is no error.
    assert update(client, first.contact_id, contact_status="ARCHIVED").contact_status == "ARCHIVED"
    back = update(client, first.contact_id, contact_status="ACTIVE", email_address="new@x.nz")
    assert (back.contact_status, back.email_address) == ("ACTIVE", "new@x.nz")
    update(client, first.contact_id, contact_status="ARCHIVED")
    xero_sandbox.configure(edit_archived_contacts=True)
    assert update(client, first.contact_id, email_address="late@x.nz").email_address == "late@x.nz"
    # In Xero a person edits an archived contact as they like.
    xero_sandbox.edit_contact(client.tenant_id, first.contact_id, FirstName="Ann")


def phones(contact) -> dict:
    return {p.phone_type: p.phone_number for p in contact.phones}


def test_phones_and_addresses_replace_the_stored_ones_by_type(xero_sandbox, client):
    made = client.accounting.create_contacts(
        client.tenant_id,
        Contacts(
            contacts=[
                Contact(
                    name="Slots Ltd",
                    phones=[
                        Phone(phone_type="MOBILE", phone_number="021 555 1212"),
                        Phone(phone_type="DEFAULT", phone_number="09 555 0100"),
                    ],
                    addresses=[Address(address_type="POBOX", city="Auckland")],
                )
            ]
        ),
    ).contacts[0]
    # Every standard slot is there, empty until set (the spec's PUT /Contacts example).
    assert phones(made) == {
        "DEFAULT": "09 555 0100",
        "DDI": "",
        "FAX": "",
        "MOBILE": "021 555 1212",
    }
    assert {a.address_type: a.city for a in made.addresses} == {
        "STREET": "",
        "POBOX": "Auckland",
    }
    changed = update(
        client,
        made.contact_id,
        phones=[Phone(phone_type="MOBILE", phone_number="027 555 9999", phone_area_code="")],
        addresses=[Address(address_type="STREET", address_line1="1 Queen St", city="Auckland")],
    )
    assert phones(changed) == {
        "DEFAULT": "09 555 0100",
        "DDI": "",
        "FAX": "",
        "MOBILE": "027 555 9999",
    }
    by_type = {a.address_type: a for a in changed.addresses}
    assert (by_type["STREET"].address_line1, by_type["POBOX"].city) == ("1 Queen St", "Auckland")
    # A phone sent replaces the stored one of its type whole: fields left out are emptied.
    raw = client.accounting.get_contact(client.tenant_id, made.contact_id).contacts[0]
    mobile = next(p for p in raw.phones if p.phone_type == "MOBILE")
    assert (mobile.phone_area_code, mobile.phone_country_code) == ("", "")
    # An OFFICE phone is added beside the standard four.
    office = update(client, made.contact_id, phones=[Phone(phone_type="OFFICE", phone_number="1")])
    assert list(phones(office)) == ["DEFAULT", "DDI", "FAX", "MOBILE", "OFFICE"]


def test_a_phone_or_address_of_no_known_type_is_refused(http, xero_sandbox, client):
    token = xero_sandbox.token_for(client.tenant_id)
    body = {
        "Contacts": [
            {
                "Name": "Typeless Ltd",
                "Phones": [{"PhoneNumber": "1"}],
                "Addresses": [{"AddressType": "HOME", "City": "X"}],
            }
        ]
    }
    answer = api(http, xero_sandbox, "PUT", "/Contacts", token, client.tenant_id, body)
    assert answer.status == 400
    assert messages(json.loads(answer.data)) == [
        "PhoneType 'None' is not valid; use one of DEFAULT, DDI, MOBILE, FAX, OFFICE.",
        "AddressType 'HOME' is not valid; use one of POBOX, STREET.",
    ]


def test_a_batch_of_updates_with_an_idempotency_key_is_applied_once(http, xero_sandbox, two):
    first, second = two
    tenant = xero_sandbox.tenant_id()
    token = xero_sandbox.token_for(tenant)
    body = {
        "Contacts": [
            {"ContactID": first.contact_id, "EmailAddress": "one@x.nz"},
            {"ContactID": second.contact_id, "ContactStatus": "ARCHIVED"},
        ]
    }
    key = {"Idempotency-Key": "contacts-batch-1"}
    answers = [
        api(
            http,
            xero_sandbox,
            "POST",
            "/Contacts",
            token,
            tenant,
            body,
            key,
            summarizeErrors="false",
        )
        for _ in range(2)
    ]
    assert [a.status for a in answers] == [200, 200] and answers[0].data == answers[1].data
    updates = [e for e in contact_events(xero_sandbox) if e[0] == "UPDATE"]
    assert updates == [("UPDATE", first.contact_id), ("UPDATE", second.contact_id)]
    stored = {c["ContactID"]: c for c in xero_sandbox.contacts(tenant)}
    assert stored[second.contact_id]["ContactStatus"] == "ARCHIVED"
    assert stored[first.contact_id]["EmailAddress"] == "one@x.nz"


def test_an_unknown_contact_id_is_an_element_error(xero_sandbox, client):
    missing = "00000000-0000-0000-0000-0000000000ab"
    assert refused(update, client, missing, name="Nobody") == ["The contact could not be found."]
    with pytest.raises(ControlError) as error:
        xero_sandbox.edit_contact(client.tenant_id, missing, Name="Nobody")
    assert error.value.body["errors"] == ["The contact could not be found."]
