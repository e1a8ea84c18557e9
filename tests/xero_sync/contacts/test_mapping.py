"""The mapping of one Xero contact (its JSON) into CRM terms: pure, no database, no sandbox.
Names are realistic Xero contacts: people with and without a company, companies known only by
Name, and a person whose Name only repeats their own name. The table tests read Xero's own
JSON: the examples of the official accounting spec (xero_sandbox/specs), as they are there."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contacts.models import Contact
from xero_sync.contacts.mapping import (
    ContactFilter,
    changes_from_xero,
    same_name,
    xero_values,
)
from xero_sync.inbound import normalise

ID = "1f0e3c5a-0000-4000-8000-000000000001"


def values(**raw):
    return xero_values({"ContactID": ID, **raw}, region="NZ")


@pytest.mark.parametrize(
    ("raw", "first", "last", "company"),
    [
        # A company known only by its Name: no made-up person.
        ({"Name": "Te Awamutu Coffee Co. (2)"}, "", "", "Te Awamutu Coffee Co. (2)"),
        ({"Name": "Alpine Catering"}, "", "", "Alpine Catering"),
        # A person whose Name is their own name (with punctuation, another order or case).
        ({"Name": "Fetu T.", "FirstName": "Fetu", "LastName": "T"}, "Fetu", "T", ""),
        ({"Name": "Wu, Chloe", "FirstName": "Chloe", "LastName": "Wu"}, "Chloe", "Wu", ""),
        ({"Name": "AROHA NGATA", "FirstName": "Aroha", "LastName": "Ngata"}, "Aroha", "Ngata", ""),
        # A person at a company.
        (
            {"Name": "Wu Design Studio", "FirstName": "Chloe", "LastName": "Wu"},
            "Chloe",
            "Wu",
            "Wu Design Studio",
        ),
        # Only a first name, or only a last name: still a person.
        ({"Name": "Mere", "FirstName": "Mere"}, "Mere", "", ""),
        ({"Name": "Tuilagi Roofing", "LastName": "Tuilagi"}, "", "Tuilagi", "Tuilagi Roofing"),
    ],
)
def test_people_and_companies(raw, first, last, company):
    found = values(**raw)
    assert (found.first_name, found.last_name, found.company_name) == (first, last, company)
    assert found.is_company == (not first and not last)


def test_same_name_ignores_case_punctuation_and_order():
    assert same_name("Wu, Chloe", "Chloe Wu")
    assert same_name("Fetu T.", "Fetu T")
    assert not same_name("Wu Design Studio", "Chloe Wu")
    assert not same_name("", "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"Name": "Nul\x00Name"}, "NulName"),
        ({"Name": "Tab\tand\nnewline"}, "Tab and newline"),
        ({"Name": "Lone \ud800 surrogate"}, "Lone \ufffd surrogate"),
        ({"Name": "x" * 300}, "x" * 254 + normalise.ELLIPSIS),
        ({"Name": 12345}, "12345"),
        ({"Name": {"not": "a string"}}, ""),
    ],
)
def test_text_from_xero_fits_the_column(raw, expected):
    assert values(**raw).company_name == expected


def test_a_phone_written_longer_than_fifty_characters_is_kept_as_typed():
    phone = {
        "PhoneType": "DEFAULT",
        "PhoneCountryCode": "64",
        "PhoneAreaCode": "021",
        "PhoneNumber": "5 5 5 0 1 7 7 " + "-" * 37,
    }
    found = values(Name="Dashes Ltd", Phones=[phone])
    assert found.phone == "+64 021 5 5 5 0 1 7 7 " + "-" * 37  # 59 characters, all kept
    assert found.phone_e164 == "+64215550177"


@pytest.mark.parametrize(
    "raw",
    [
        {"ContactID": None, "Name": "No id"},
        {"Name": "No id at all"},
        {"ContactID": "x" * 65, "Name": "An id longer than any Xero id"},
        "not an object",
    ],
)
def test_a_contact_without_a_usable_id_cannot_be_stored(raw):
    with pytest.raises(normalise.Unstorable):
        xero_values(raw, region="NZ")


def test_odd_shapes_never_raise():
    found = values(
        Name="Odd Shapes Ltd",
        Phones="not a list",
        ContactStatus=None,
        IsCustomer="true",
        UpdatedDateUTC="/Date(99999999999999999)/",
        EmailAddress=["a@b.c"],
    )
    assert (found.phone, found.archived, found.is_customer) == ("", False, True)
    assert (found.updated_at, found.email) == (None, "")


# --- Xero's own JSON: the spec's examples --------------------------------------------------------
SPEC_CONTACTS = json.loads(
    (Path(__file__).parent / "xero_contacts_from_the_spec.json").read_text(encoding="utf-8")
)


def spec_contact(example: str) -> dict:
    return SPEC_CONTACTS[example]


@pytest.mark.parametrize(
    ("example", "person", "company", "email", "phone", "e164", "customer", "supplier", "updated"),
    [
        (
            "GET /Contacts, Contacts[0]",
            ("Katherine", "Warren"),
            "",  # Name only repeats her name: she is not a company
            "kat.warren@clampett.com",
            "(626) 847-1294",
            "+16268471294",
            True,
            True,
            datetime(2017, 8, 21, 20, 49, 4, 227000, tzinfo=UTC),
        ),
        (
            "GET /Contacts, Contacts[1]",
            ("Lisa", "Parker"),
            "",
            "lparker@parkerandco.com",
            "(510) 266-3583",
            "+15102663583",
            False,
            False,
            datetime(2017, 8, 21, 20, 49, 6, 760000, tzinfo=UTC),
        ),
        (
            # No FirstName or LastName (null): a company named by its Name, and the MOBILE
            # phone is the first usable one (DEFAULT, DDI and FAX are empty).
            "PUT /Contacts, Contacts[0]",
            ("", ""),
            "Foo9987",
            "sid32476@blah.com",
            "415 555-1212",
            "+14155551212",
            False,
            False,
            datetime(2019, 3, 1, 0, 15, 21, 43000, tzinfo=UTC),
        ),
        (
            # A person at a company; DEFAULT wins over DDI and MOBILE, FAX is never used, and
            # the country code Xero holds beats the organisation's region.
            "GET /Contacts/{ContactNumber}, Contacts[0]",
            ("Blake", "Kohler"),
            "Acme Parts Co.",
            "bk@krave.co",
            "+1 604 408-0914",
            "+16044080914",
            True,
            True,
            datetime(2019, 3, 1, 17, 2, 57, 193000, tzinfo=UTC),
        ),
        (
            # Known to Xero only by Name: no made-up person, even though it reads like one.
            "POST /Invoices/{InvoiceID}, Invoices[0].Contact",
            ("", ""),
            "Luke Skywalker",
            "",
            "",
            "",
            True,
            False,
            datetime(2019, 3, 11, 18, 41, 31, 573000, tzinfo=UTC),
        ),
        (
            # A group's member summary: no status, flags or dates at all.
            "GET /ContactGroups/{ContactGroupID}, ContactGroups[0].Contacts[0]",
            ("", ""),
            "Noel Gallagher",
            "",
            "",
            "",
            False,
            False,
            None,
        ),
    ],
)
def test_xero_contacts_from_the_spec_in_crm_terms(
    example, person, company, email, phone, e164, customer, supplier, updated
):
    raw = spec_contact(example)
    found = xero_values(raw, region="US")
    assert found.contact_id == raw["ContactID"]
    assert (found.first_name, found.last_name) == person
    assert found.company_name == company
    assert (found.email, found.phone, found.phone_e164) == (email, phone, e164)
    assert (found.is_customer, found.is_supplier) == (customer, supplier)
    assert (found.archived, found.merged_to, found.updated_at) == (False, "", updated)
    assert found.payload == raw  # kept as Xero sent it


@pytest.mark.parametrize(
    ("status", "merged_to", "archived"),
    [
        ("ACTIVE", None, False),
        ("ARCHIVED", None, True),
        ("GDPRREQUEST", None, True),
        ("ARCHIVED", "4e1753b9-018a-4775-b6aa-1bc7871cfee3", True),
    ],
)
def test_status_and_merges_from_xero(status, merged_to, archived):
    raw = {**spec_contact("GET /Contacts, Contacts[1]"), "ContactStatus": status}
    if merged_to:
        raw["MergedToContactID"] = merged_to
    found = xero_values(raw, region="US")
    assert (found.archived, found.merged_to) == (archived, merged_to or "")


KATHERINE = "GET /Contacts, Contacts[0]"  # a customer and a supplier
LISA = "GET /Contacts, Contacts[1]"  # neither yet
GROUP = frozenset({"5cc8cf28-567e-4d43-b287-687cfcaec47c"})  # Katherine's group


@pytest.mark.parametrize(
    ("example", "the_filter", "admitted"),
    [
        (KATHERINE, ContactFilter(group_member_ids=None), True),
        (LISA, ContactFilter(group_member_ids=None), True),
        (KATHERINE, ContactFilter(group_member_ids=GROUP), True),
        (LISA, ContactFilter(group_member_ids=GROUP), False),
        (KATHERINE, ContactFilter(group_member_ids=None, customers=False), True),  # a supplier
        (KATHERINE, ContactFilter(None, customers=False, suppliers=False), False),
        (LISA, ContactFilter(group_member_ids=None, others=False), False),
        (LISA, ContactFilter(group_member_ids=None, customers=False, suppliers=False), True),
        (KATHERINE, ContactFilter(group_member_ids=frozenset()), False),
    ],
)
def test_the_filter_admits_what_the_admin_chose(example, the_filter, admitted):
    assert the_filter.admits(xero_values(spec_contact(example), region="US")) is admitted


def crm_contact(**fields) -> Contact:
    """A CRM contact in memory (never saved: the mapping reads its fields only)."""
    defaults = {"is_customer": False, "is_supplier": False, "is_archived": False}
    return Contact(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("crm", "example", "expected"),
    [
        (
            # Found by email written in capitals: names, phone and both flags come from Xero;
            # the email stays as the CRM wrote it.
            {"email": "KAT.WARREN@CLAMPETT.COM"},
            KATHERINE,
            [
                ("first_name", "", "Katherine"),
                ("last_name", "", "Warren"),
                ("phone", "", "(626) 847-1294"),
                ("address_city", "", "Palo Alto"),
                ("address_region", "", "CA"),
                ("address_postal_code", "", "94020"),
                ("address_country", "", "United States"),
                ("is_customer", False, True),
                ("is_supplier", False, True),
            ],
        ),
        (
            # The same phone written another way is no change; a Xero flag that is off never
            # takes one away.
            {
                "first_name": "Lisa",
                "last_name": "Parker",
                "email": "lparker@parkerandco.com",
                "phone": "+1 510-266-3583",
                "phone_e164": "+15102663583",
                "address_city": "Anchorage",
                "address_region": "AK",
                "address_postal_code": "99501",
                "address_country": "United States",
                "is_customer": True,
            },
            LISA,
            [],
        ),
        (
            # Xero's empty company never blanks the CRM's; its address comes whole (the
            # street it leaves empty is emptied here too).
            {
                "first_name": "Lisa",
                "last_name": "Parker",
                "company_name": "Parker & Co",
                "address_line1": "1 Old Road",
                "address_city": "Anchorage",
            },
            LISA,
            [
                ("email", "", "lparker@parkerandco.com"),
                ("phone", "", "(510) 266-3583"),
                ("address_line1", "1 Old Road", ""),
                ("address_region", "", "AK"),
                ("address_postal_code", "", "99501"),
                ("address_country", "", "United States"),
            ],
        ),
        (
            # A CRM contact archived here comes back when Xero says it is active; Xero's empty
            # address never blanks the CRM's.
            {
                "company_name": "Foo9987",
                "email": "sid32476@blah.com",
                "address_city": "Wellington",
                "is_archived": True,
            },
            "PUT /Contacts, Contacts[0]",
            [("phone", "", "415 555-1212"), ("is_archived", True, False)],
        ),
        (
            # A person Xero knows by their name alone does not become a company.
            {"first_name": "Luke", "last_name": "Skywalker", "is_customer": True},
            "POST /Invoices/{InvoiceID}, Invoices[0].Contact",
            [],
        ),
    ],
)
def test_what_xero_changes_on_a_crm_contact(crm, example, expected):
    values = xero_values(spec_contact(example), region="US")
    assert changes_from_xero(crm_contact(**crm), values) == expected


def test_the_billing_address_is_xeros_pobox_address_cut_to_fit_and_odd_shapes_are_held():
    found = values(
        Name="Address Ltd",
        Addresses=[
            {"AddressType": "STREET", "AddressLine1": "9 Street Side"},
            {
                "AddressType": "POBOX",
                "AddressLine1": "PO Box 77\x00",
                "AddressLine2": "x" * 600,
                "City": "Ōtautahi\nChristchurch",
                "PostalCode": 8011,
                "Country": "New Zealand",
            },
        ],
    )
    assert found.address["address_line1"] == "PO Box 77"
    assert len(found.address["address_line2"]) == 500  # cut to the column, never refused
    assert found.address["address_line2"].endswith("…")
    assert found.address["address_city"] == "Ōtautahi Christchurch"
    assert found.address["address_postal_code"] == "8011"
    assert found.address["address_region"] == ""
    assert values(Name="No Address Ltd").address == {}
    for odd in ("PO Box 1", [{"AddressType": "POBOX", "City": {"Name": "x"}}]):
        with pytest.raises(normalise.Unstorable):
            values(Name="Odd Address Ltd", Addresses=odd)
