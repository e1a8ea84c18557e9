"""The mapping of one Xero contact (its JSON) into CRM terms: pure, no database, no sandbox.
Names are realistic Xero contacts: people with and without a company, companies known only by
Name, and a person whose Name only repeats their own name."""

import pytest

from xero_sync import normalise
from xero_sync.contact_sync import same_name, xero_values

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
