"""A contact's billing address (Xero's POBOX address) both ways: pulled from Xero on import and
update, edited on the contact form, pushed through the contact outbox (Xero replaces the POBOX
address and leaves the STREET one alone), never echoed back, and a part changed in both places
decided by the connection's rule. Every exchange validates against Xero's spec."""

import pytest
from django.urls import reverse

from contacts.models import ContactChange
from contacts.services import contact_update
from xero_sync.contacts import pull, push
from xero_sync.models import ConflictRule, ContactSync, ContactSyncState, XeroContact

from ..factories import client_for, contact_make
from ..support.exchanges import Exchanges
from .conftest import connect, run_import


@pytest.fixture
def aroha(xero, account, admin_user):
    """CRM Aroha, linked by email to Xero's "Aroha Address" whose PO box and street are set."""
    contact = contact_make(account, first_name="Aroha", last_name="Address", email="a@addr.example")
    connection = connect(xero, account, admin_user)
    xero.create_contact(
        connection.tenant_id,
        Name="Aroha Address",
        EmailAddress="a@addr.example",
        Addresses=[
            {"AddressType": "POBOX", "AddressLine1": "PO Box 12", "City": "Nelson",
             "PostalCode": "7040", "Country": "New Zealand"},
            {"AddressType": "STREET", "AddressLine1": "3 Trafalgar St", "City": "Nelson"},
        ],
        quiet=True,
    )  # fmt: skip
    run_import(connection)
    contact.refresh_from_db()
    return connection, contact


def in_xero(xero, connection, contact) -> dict[str, dict]:
    xero_id = XeroContact.objects.get(contact=contact).xero_contact_id
    [theirs] = [c for c in xero.contacts(connection.tenant_id) if c["ContactID"] == xero_id]
    return {a["AddressType"]: a for a in theirs["Addresses"]}


@pytest.mark.django_db
def test_the_address_comes_from_xero_and_shows_on_the_contact(aroha, account, admin_user):
    _, contact = aroha
    assert (contact.address_line1, contact.address_city, contact.address_postal_code) == (
        "PO Box 12",
        "Nelson",
        "7040",
    )
    assert contact.address_country == "New Zealand"
    page = client_for(admin_user).get(reverse("contacts:detail", args=[account.slug, contact.pk]))
    assert "PO Box 12<br>Nelson 7040<br>New Zealand" in page.content.decode()


@pytest.mark.django_db
def test_an_address_edited_on_the_form_reaches_xero_once_and_never_comes_back(
    aroha, account, admin_user, xero
):
    connection, contact = aroha
    exchanges = Exchanges(xero)
    form = client_for(admin_user).post(
        reverse("contacts:edit", args=[account.slug, contact.pk]),
        {
            "first_name": "Aroha",
            "last_name": "Address",
            "email": "a@addr.example",
            "address_line1": "PO Box 99",
            "address_line2": "Stoke",
            "address_city": "Nelson",
            "address_postal_code": "7011",
            "address_country": "New Zealand",
            "is_customer": "on",
        },
    )
    assert form.status_code == 302
    sync = ContactSync.objects.get(contact=contact)
    assert {"address_line1", "address_line2", "address_postal_code"} <= set(sync.dirty)

    push.contacts_push(connection.pk)

    addresses = in_xero(xero, connection, contact)
    assert (addresses["POBOX"]["AddressLine1"], addresses["POBOX"]["AddressLine2"]) == (
        "PO Box 99",
        "Stoke",
    )
    assert addresses["POBOX"]["PostalCode"] == "7011"
    assert addresses["STREET"]["AddressLine1"] == "3 Trafalgar St"  # left alone
    rows = exchanges.validated(expect=[("POST", "/api.xro/2.0/Contacts", 200)])
    [post] = [r for r in rows if r["method"] == "POST"]
    assert '"AddressType": "POBOX"' in post["body"] or '"AddressType":"POBOX"' in post["body"]
    sync.refresh_from_db()
    assert sync.state == ContactSyncState.SYNCED
    # The webhook and the poll bring it back: ours, so nothing changes, nothing goes again.
    history = ContactChange.objects.filter(contact=contact).count()
    connection.refresh_from_db()
    pull.contacts_poll(connection)
    assert ContactChange.objects.filter(contact=contact).count() == history
    assert ContactSync.objects.get(contact=contact).version == sync.version


@pytest.mark.django_db
def test_an_address_changed_in_xero_replaces_the_crms_whole(aroha, xero):
    connection, contact = aroha
    xero_id = XeroContact.objects.get(contact=contact).xero_contact_id
    xero.edit_contact(
        connection.tenant_id,
        xero_id,
        Addresses=[{"AddressType": "POBOX", "AddressLine1": "PO Box 5", "City": "Motueka"}],
    )
    connection.refresh_from_db()
    pull.contacts_poll(connection)
    contact.refresh_from_db()
    assert (contact.address_line1, contact.address_city) == ("PO Box 5", "Motueka")
    assert (contact.address_postal_code, contact.address_country) == ("", "")  # cleared there


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule", "kept"), [(ConflictRule.XERO, "Motueka"), (ConflictRule.CRM, "Richmond")]
)
def test_a_part_changed_in_both_places_follows_the_rule(aroha, xero, rule, kept):
    connection, contact = aroha
    connection.contact_conflict_rule = rule
    connection.save()
    xero_id = XeroContact.objects.get(contact=contact).xero_contact_id
    contact_update(contact=contact, address_city="Richmond")
    xero.edit_contact(
        connection.tenant_id,
        xero_id,
        quiet=True,
        Addresses=[{"AddressType": "POBOX", "AddressLine1": "PO Box 12", "City": "Motueka",
                    "PostalCode": "7040", "Country": "New Zealand"}],
    )  # fmt: skip
    push.contacts_push(connection.pk)
    contact.refresh_from_db()
    assert contact.address_city == kept
    assert in_xero(xero, connection, contact)["POBOX"]["City"] == kept
    [said] = ContactChange.objects.filter(contact=contact, field="conflict").values_list(
        "new_value", flat=True
    )
    assert "Town or city changed in both places: here “Richmond”, in Xero “Motueka”" in said
