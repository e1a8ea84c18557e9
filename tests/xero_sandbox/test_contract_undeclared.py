"""The opt-in "undeclared-fields" tightening of contract.validate_response and its two named
exceptions (fields the spec's own examples carry, and 400 Elements echoing the element)."""

import json

import pytest

from xero_sandbox import contract

JSON = {"Content-Type": "application/json; charset=utf-8"}
ENVELOPE = {
    "Id": "e0b1c1d4-2f7a-4a69-9d3f-0a9cb5b8f2a1",
    "Status": "OK",
    "ProviderName": "x",
    "DateTimeUTC": "/Date(1552432238623)/",
}


def check(path, body, status=200, method="GET"):
    contract.validate_response(
        method,
        "/api.xro/2.0" + path,
        status,
        JSON,
        json.dumps(body).encode(),
        undeclared_fields=True,
    )


def test_an_invented_field_is_named_with_its_path_and_owner():
    body = {**ENVELOPE, "Contacts": [{"Name": "A"}, {"Name": "B", "Nickname": "b"}]}
    with pytest.raises(AssertionError) as info:
        check("/Contacts", body)
    assert "Contacts[1].Nickname: 'Nickname' is not declared on Contact" in str(info.value)


def test_invented_fields_pass_without_the_tightening():
    body = {**ENVELOPE, "Contacts": [{"Name": "B", "Nickname": "b"}]}
    contract.validate_response("GET", "/api.xro/2.0/Contacts", 200, JSON, json.dumps(body).encode())


def test_xero_example_extras_envelope_and_date_strings_are_allowed():
    invoice = {"InvoiceID": ENVELOPE["Id"], "DateString": "2026-03-01T00:00:00"}
    check(
        "/Invoices", {**ENVELOPE, "Invoices": [dict(invoice, DueDateString="2026-03-31T00:00:00")]}
    )


def test_example_extras_are_allowed_only_on_their_own_schema():
    with pytest.raises(AssertionError, match="'DateString' is not declared on Contact"):
        check("/Contacts", {**ENVELOPE, "Contacts": [{"DateString": "2026-03-01T00:00:00"}]})


def test_element_echo_in_a_400_is_not_walked():
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"InvoiceNumber": "X", "ValidationErrors": [{"Message": "m"}]}],
    }
    check("/Invoices", body, status=400, method="PUT")
