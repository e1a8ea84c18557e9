"""Items: the price list Xero keeps, and what an invoice line takes from its ItemCode."""

from decimal import Decimal

from tests.xero_sandbox.conftest import invoice_body, line, messages


def contact(xero_sandbox, raw) -> str:
    return xero_sandbox.contacts(raw.tenant)[0]["ContactID"]


def test_items_are_listed_and_read_by_id_or_code(raw):
    _, data = raw("GET", "/Items")
    by_code = {i["Code"]: i for i in data["Items"]}
    assert by_code["LAB-HR"]["SalesDetails"]["UnitPrice"] == Decimal("95.00")
    assert by_code["KIT-OLD"]["IsSold"] is False
    for key in (by_code["LAB-HR"]["ItemID"], "LAB-HR"):
        status, one = raw("GET", f"/Items/{key}")
        assert status == 200 and one["Items"][0]["Name"] == "Labour (hour)"
    _, sold = raw("GET", "/Items", where="IsSold==true", order="Code DESC")
    assert [i["Code"] for i in sold["Items"]] == ["VALVE-15", "LAB-HR", "CALLOUT"]
    assert raw("GET", "/Items/NOPE")[0] == 404


def test_items_are_created_updated_and_codes_stay_unique(raw):
    new = {
        "Code": "GAS-CERT",
        "Name": "Gas certificate",
        "Description": "Gas safety certificate",
        "SalesDetails": {"UnitPrice": "120.125", "AccountCode": "260", "TaxType": "OUTPUT2"},
    }
    status, data = raw("PUT", "/Items", {"Items": [new]}, unitdp="4")
    made = data["Items"][0]
    assert status == 200 and made["SalesDetails"]["UnitPrice"] == Decimal("120.1250")
    assert made["IsSold"] is True and made["StatusAttributeString"] == "OK"
    status, data = raw("PUT", "/Items", {"Items": [{"Code": "GAS-CERT"}]})
    assert status == 400 and messages(data) == [
        "Price List Item with Code 'GAS-CERT' already exists"
    ]
    # POST matches by Code; IsSold false empties the sales side (spec Item.IsSold).
    status, data = raw("POST", "/Items", {"Items": [{"Code": "GAS-CERT", "IsSold": False}]})
    updated = data["Items"][0]
    assert updated["ItemID"] == made["ItemID"] and updated["SalesDetails"] == {}
    assert "Description" not in updated
    status, data = raw("POST", f"/Items/{made['ItemID']}", {"Items": [{"Code": "GAS-2"}]})
    assert status == 200 and data["Items"][0]["Code"] == "GAS-2"


def test_item_details_must_name_valid_accounts_and_tax_types(raw):
    bad = [
        {"Code": "A", "SalesDetails": {"AccountCode": "999"}},
        {"Code": "B", "SalesDetails": {"AccountCode": "400", "TaxType": "OUTPUT2"}},
        {"Code": "C" * 31},
        {"Name": "no code"},
    ]
    status, data = raw("PUT", "/Items", {"Items": bad}, summarizeErrors="false")
    assert [messages(i) for i in data["Items"]] == [
        ["Account code '999' is not a valid code for this document."],
        ["The TaxType code 'OUTPUT2' cannot be used with account code '400'."],
        ["Item Code must be 30 characters or less."],
        ["Item Code must be specified."],
    ]


def test_an_item_line_takes_what_it_leaves_out_from_the_item(xero_sandbox, raw):
    lines = [
        {"ItemCode": "LAB-HR", "Quantity": "2"},
        {"ItemCode": "CALLOUT", "Description": "Call-out, Sunday", "UnitAmount": "90"},
    ]
    status, invoice = raw.invoice(invoice_body(contact(xero_sandbox, raw), *lines))
    first, second = invoice["LineItems"]
    assert status == 200
    assert (first["Description"], first["UnitAmount"], first["AccountCode"], first["TaxType"]) == (
        "Labour, per hour",
        Decimal("95.00"),
        "200",
        "OUTPUT2",
    )
    assert first["Item"]["Code"] == "LAB-HR" and first["LineAmount"] == Decimal("190.00")
    assert (second["Description"], second["UnitAmount"]) == ("Call-out, Sunday", Decimal("90.00"))
    assert invoice["SubTotal"] == Decimal("280.00")


def test_unknown_and_unsold_item_codes_are_refused(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    for code in ("NOPE", "KIT-OLD"):
        status, answer = raw.invoice(invoice_body(who, {"ItemCode": code}))
        assert status == 400 and answer["errors"][0] == f"Item code '{code}' is not valid"
    status, _ = raw.invoice(invoice_body(who, line(ItemCode="VALVE-15")))
    assert status == 200
