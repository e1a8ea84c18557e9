import copy
import json

import jsonschema
import pytest

from xero_sandbox import contract

TENANT = {"xero-tenant-id": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58", "Authorization": "Bearer t"}
JSON = {"Content-Type": "application/json; charset=utf-8"}
INVOICE_ID = "430fa14a-f945-44d3-9f97-5df5e28441b8"


def example(path, method, status="200"):
    """The spec's own response example for an operation (a fresh copy)."""
    operation = contract.accounting().spec["paths"][path][method]
    return copy.deepcopy(operation["responses"][status]["content"]["application/json"]["example"])


def check_response(path, body, method="GET", status=200):
    contract.validate_response(
        method, "/api.xro/2.0" + path, status, JSON, json.dumps(body).encode()
    )


def rejected(call, *args):
    with pytest.raises(AssertionError) as info:
        call(*args)
    return str(info.value)


def test_spec_loads_once_per_process():
    assert contract.accounting() is contract.accounting()
    print(f"\naccounting spec loaded in {contract.accounting().load_seconds:.2f}s")


@pytest.mark.parametrize(
    "path", ["/Contacts", "/Invoices", "/Accounts", "/TaxRates", "/Organisation", "/ContactGroups"]
)
def test_the_specs_own_examples_validate(path):
    check_response(path, example(path, "get"))


def test_the_specs_payments_example_is_itself_wrong_in_exactly_two_places():
    # Xero's example quotes two BatchPayment values as strings; the schema says number/boolean.
    message = rejected(check_response, "/Payments", example("/Payments", "get"))
    assert "BatchPayment.TotalAmount: '50.00' is not of type 'number'" in message
    assert "BatchPayment.IsReconciled: 'false' is not of type 'boolean'" in message
    assert message.count("\n  - ") == 2


def test_the_specs_write_examples_validate():
    check_response("/Invoices", example("/Invoices", "put"), method="PUT")
    check_response("/Payments", example("/Payments", "put"), method="PUT")
    check_response("/Contacts", example("/Contacts", "put"), method="PUT")


def test_wrong_type_is_rejected_with_path_and_expectation():
    body = example("/Contacts", "get")
    body["Contacts"][0]["Name"] = 5
    message = rejected(check_response, "/Contacts", body)
    assert "response body Contacts[0].Name: 5 is not of type 'string'" in message
    assert "expected type: 'string'" in message


def test_unknown_enum_value_is_rejected():
    body = example("/Invoices", "get")
    body["Invoices"][0]["Status"] = "WEIRD"
    message = rejected(check_response, "/Invoices", body)
    assert "Invoices[0].Status: 'WEIRD' is not one of" in message


def test_null_enum_is_rejected():
    # The SDK crashes on null enum fields, so must we.
    body = example("/Invoices", "get")
    body["Invoices"][0]["LineAmountTypes"] = None
    assert "Invoices[0].LineAmountTypes" in rejected(check_response, "/Invoices", body)


def test_every_violation_is_listed():
    body = example("/Contacts", "get")
    body["Contacts"][0]["ContactStatus"] = "GONE"
    body["Contacts"][1]["IsSupplier"] = "yes"
    message = rejected(check_response, "/Contacts", body)
    assert "Contacts[0].ContactStatus" in message and "Contacts[1].IsSupplier" in message


def test_missing_required_field_is_rejected():
    # Xero's Contact/Invoice/Payment schemas declare no required fields; Item does (Code).
    body = {"Items": [{"Name": "Widget"}]}
    message = rejected(check_response, "/Items", body)
    assert "'Code' is a required property" in message


def test_response_dates_must_be_ms_json():
    body = example("/Invoices", "get")
    body["Invoices"][0]["Date"] = "2019-03-11"
    assert "Invoices[0].Date: '2019-03-11' is not a 'xero-msdate'" in rejected(
        check_response, "/Invoices", body
    )


def test_undocumented_error_statuses_pass_but_unknown_ones_do_not():
    for status in (401, 403, 404, 429, 500, 503):
        check_response("/Contacts", {"Title": "x"}, status=status)
    assert "Unknown response http status: 418" in rejected(
        check_response, "/Contacts", {}, "GET", 418
    )


def test_documented_400_validation_exception_validates():
    # The 400 is a $ref with no example; this is the shape XERO-FACTS §11 records.
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "InvoiceNumber": "CRM-1",
                "ValidationErrors": [{"Message": "Invoice # must be unique."}],
            }
        ],
    }
    check_response("/Invoices", body, method="PUT", status=400)


def sdk_payment():
    """A payment exactly as xero-python 15.2.0 serialises it (SDK-NOTES §4)."""
    return {
        "Invoice": {"InvoiceID": INVOICE_ID, "HasAttachments": False, "HasErrors": False},
        "Account": {"AccountID": INVOICE_ID, "HasAttachments": False},
        "Date": "/Date(1710374400000)/",
        "Amount": 41.38,
        "Reference": "CRM pay #7",
        "HasAccount": False,
        "HasValidationErrors": False,
    }


def put_payments(body, query="?summarizeErrors=False"):
    contract.validate_request(
        "PUT",
        f"http://127.0.0.1:8123/api.xro/2.0/Payments{query}",
        {**TENANT, **JSON},
        json.dumps(body).encode(),
    )


def test_sdk_request_with_always_sent_read_only_fields_passes():
    put_payments({"Payments": [sdk_payment()]})


def test_iso_dates_are_accepted_on_write():
    payment = sdk_payment() | {"Date": "2024-03-11"}
    put_payments({"Payments": [payment]})


def test_bad_request_body_is_rejected():
    payment = sdk_payment() | {"Amount": "lots", "Date": "next tuesday"}
    payment["Account"]["Class"] = "ASSET"  # read-only and not on the SDK's always-sent list
    message = rejected(put_payments, {"Payments": [payment]})
    assert "request body Payments[0].Amount: 'lots' is not of type 'number'" in message
    assert "Payments[0].Date: 'next tuesday' is not a 'xero-msdate'" in message
    assert "Payments[0].Account.Class: Tried to write read-only property" in message


def test_delete_payment_body_needs_status():
    url = f"/api.xro/2.0/Payments/{INVOICE_ID}"
    contract.validate_request("POST", url, {**TENANT, **JSON}, b'{"Status": "DELETED"}')
    assert "'Status' is a required property" in rejected(
        contract.validate_request, "POST", url, {**TENANT, **JSON}, b"{}"
    )


def test_query_parameters_and_headers():
    # openapi-core casts booleans case-insensitively, so the SDK's "True"/"False" pass.
    url = "/api.xro/2.0/Contacts?page=2&pageSize=1000&includeArchived=True&IDs=" + INVOICE_ID
    contract.validate_request("GET", url, {"XERO-TENANT-ID": "t"}, b"")
    message = rejected(
        contract.validate_request,
        "GET",
        "/api.xro/2.0/Contacts?page=x&includeArchived=maybe",
        {},
        b"",
    )
    assert "query parameter page" in message
    assert "query parameter includeArchived" in message
    assert "Missing required header parameter: xero-tenant-id" in message


def test_connections_paths_ignore_case():
    identity = contract.identity()
    example_body = identity.spec["paths"]["/Connections"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]  # the spec stores this example as a JSON string
    for path in ("/connections", "/Connections"):
        contract.validate_request("GET", path + "?authEventId=" + INVOICE_ID, TENANT, b"")
        contract.validate_response("GET", path, 200, JSON, example_body.encode())
    contract.validate_request("DELETE", "/connections/" + INVOICE_ID, TENANT, b"")
    contract.validate_response("DELETE", "/connections/" + INVOICE_ID, 204, {}, b"")
    assert "authEventId" in rejected(
        contract.validate_request, "GET", "/connections?authEventId=nope", TENANT, b""
    )


def test_unknown_path_is_rejected():
    assert "not an Accounting or Identity API path" in rejected(
        contract.validate_request, "GET", "/somewhere", TENANT, b""
    )


def webhook(**changes):
    event = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{INVOICE_ID}",
        "resourceId": INVOICE_ID,
        "eventDateUtc": "2024-06-21T01:15:39.902",
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": INVOICE_ID,
        "tenantType": "ORGANISATION",
    } | changes
    body = {"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "S0m"}
    return json.dumps(body).encode()


def test_webhook_payloads():
    contract.validate_webhook_payload(webhook())
    intent = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "x"}
    contract.validate_webhook_payload(json.dumps(intent).encode())
    message = rejected(contract.validate_webhook_payload, webhook(eventCategory="PAYMENT"))
    assert "events[0].eventCategory" in message
    assert "resourceId" in rejected(contract.validate_webhook_payload, webhook(resourceId="x"))


def test_sequence_zero_is_only_forgiven_for_intent_to_receive():
    body = json.loads(webhook())
    body["firstEventSequence"] = 0
    assert "firstEventSequence: 0 is less than the minimum" in rejected(
        contract.validate_webhook_payload, json.dumps(body).encode()
    )


def test_every_relaxation_is_named_and_explained():
    names = [r.name for r in contract.RELAXATIONS]
    assert len(names) == len(set(names))
    assert all(
        r.why and r.direction in {"request", "response", "webhook"} for r in contract.RELAXATIONS
    )


def test_no_relaxation_forgives_an_ordinary_type_error():
    error = jsonschema.ValidationError(
        "5 is not of type 'string'",
        validator="type",
        validator_value="string",
        instance=5,
        path=["Contacts", 0, "HasAttachments"],
    )
    assert not any(r.forgives(error) for r in contract.RELAXATIONS)
