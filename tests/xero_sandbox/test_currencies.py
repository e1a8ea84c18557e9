"""Currencies as Xero holds them: the organisation's enabled currencies, adding one, invoices
and payments refused in any other (or in a code Xero does not write), the day rate a foreign
invoice carries, and money at each currency's decimal places."""

from decimal import Decimal

from tests.xero_sandbox.conftest import Raw, invoice_body, line, messages
from xero_sandbox import contract, currency_table, seed


def contact(xero_sandbox, raw) -> str:
    return xero_sandbox.contacts(raw.tenant)[0]["ContactID"]


def in_currency(contact_id, code, **fields):
    return (
        invoice_body(contact_id, line(**fields.pop("line", {}))) | {"CurrencyCode": code} | fields
    )


def test_the_table_holds_exactly_the_specs_currency_codes():
    assert list(currency_table.CODES) == contract.accounting().schema("CurrencyCode")["enum"]


def test_enabled_currencies_list_the_base_first_and_put_adds_one(raw):
    status, data = raw("GET", "/Currencies")
    assert [(c["Code"], c["Description"]) for c in data["Currencies"]] == [
        ("NZD", "New Zealand Dollar"),
        ("AUD", "Australian Dollar"),
        ("USD", "United States Dollar"),
    ]
    status, data = raw("PUT", "/Currencies", {"Code": "EUR", "Description": "Euro"})
    assert status == 200 and data["Currencies"] == [{"Code": "EUR", "Description": "Euro"}]
    assert raw("PUT", "/Currencies", {"Code": "EUR"})[0] == 200  # already there: answered again
    _, data = raw("GET", "/Currencies", where='Code=="EUR"')
    assert [c["Code"] for c in data["Currencies"]] == ["EUR"]


def test_put_refuses_codes_xero_does_not_have(raw):
    for code in ("ZZZ", "eur", None):
        status, data = raw("PUT", "/Currencies", {"Code": code})
        assert status == 400
        assert data["Elements"][0]["ValidationErrors"][0]["Message"] == (
            f"The currency code '{code}' is not valid."
        )
    assert len(raw("GET", "/Currencies")[1]["Currencies"]) == 3


def test_an_invoice_in_a_currency_not_enabled_is_refused_in_xeros_words(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    status, answer = raw.invoice(in_currency(who, "EUR"))
    assert status == 400
    assert answer["errors"] == ["Organisation is not subscribed to currency EUR"]
    raw("PUT", "/Currencies", {"Code": "EUR"})
    status, invoice = raw.invoice(in_currency(who, "EUR"))
    assert status == 200 and invoice["CurrencyCode"] == "EUR"


def test_lower_case_and_made_up_codes_are_refused_and_not_echoed(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    for code in ("nzd", "ZZZ", "Usd"):
        status, answer = raw.invoice(in_currency(who, code))
        assert status == 400 and answer["errors"] == [f"The currency code '{code}' is not valid."]
    status, data = raw(
        "PUT", "/Invoices", {"Invoices": [in_currency(who, "nzd")]}, summarizeErrors="false"
    )
    # The SDK aborts a whole answer on an enum value it does not know: the echo leaves it out.
    assert status == 200 and "CurrencyCode" not in data["Invoices"][0]
    assert xero_sandbox.invoices(raw.tenant) == []


def test_a_foreign_invoice_takes_the_day_rate_the_sandbox_keeps(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    _, feed = raw.invoice(in_currency(who, "USD"))
    assert feed["CurrencyRate"] == Decimal("0.600000")  # 1 NZD = 0.60 USD in the feed
    xero_sandbox.set_rate(raw.tenant, "USD", "0.5812", "2026-03-01")
    _, same_day = raw.invoice(in_currency(who, "USD", Date="2026-03-01"))
    _, day_before = raw.invoice(in_currency(who, "USD", Date="2026-02-28"))
    assert (same_day["CurrencyRate"], day_before["CurrencyRate"]) == (
        Decimal("0.581200"),
        Decimal("0.600000"),
    )
    _, sent = raw.invoice(in_currency(who, "USD", CurrencyRate="0.55"))
    assert sent["CurrencyRate"] == Decimal("0.550000")
    _, base = raw.invoice(in_currency(who, "NZD", CurrencyRate="2"))
    assert base["CurrencyRate"] == Decimal("1.000000")
    assert xero_sandbox.rates(raw.tenant)["rates"] == [
        {"Code": "USD", "Date": "2026-03-01", "Rate": 0.5812}
    ]


def test_moving_a_foreign_invoice_to_another_day_takes_that_days_rate(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    xero_sandbox.set_rate(raw.tenant, "AUD", "1.0900", "2026-03-10")
    _, made = raw.invoice(in_currency(who, "AUD", Status="DRAFT"))
    assert made["CurrencyRate"] == Decimal("0.909091")  # the feed: 0.60 / 0.66
    status, data = raw(
        "POST", f"/Invoices/{made['InvoiceID']}", {"Invoices": [{"Date": "2026-03-12"}]}
    )
    assert status == 200 and data["Invoices"][0]["CurrencyRate"] == Decimal("1.090000")
    _, data = raw("POST", f"/Invoices/{made['InvoiceID']}", {"Invoices": [{"Reference": "r"}]})
    assert data["Invoices"][0]["CurrencyRate"] == Decimal("1.090000")


def test_a_currency_without_a_quote_needs_a_rate(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    raw("PUT", "/Currencies", {"Code": "XCD"})
    status, answer = raw.invoice(in_currency(who, "XCD"))
    assert answer["errors"] == [
        "No exchange rate is available for XCD on 2026-03-01; send a CurrencyRate."
    ]
    assert raw.invoice(in_currency(who, "XCD", CurrencyRate="1.62"))[0] == 200
    xero_sandbox.set_rate(raw.tenant, "XCD", "1.61")
    assert raw.invoice(in_currency(who, "XCD"))[1]["CurrencyRate"] == Decimal("1.610000")


def test_yen_amounts_have_no_decimal_places(xero_sandbox, raw):
    who = contact(xero_sandbox, raw)
    raw("PUT", "/Currencies", {"Code": "JPY"})
    _, invoice = raw.invoice(in_currency(who, "JPY", line={"unit": "1001"}))
    line_ = invoice["LineItems"][0]
    # 15% of 1,001 is 150.15: yen tax is 150, the total 1,151.
    assert (line_["LineAmount"], line_["TaxAmount"]) == (Decimal("1001.00"), Decimal("150.00"))
    assert (invoice["TotalTax"], invoice["Total"]) == (Decimal("150.00"), Decimal("1151.00"))
    pay = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    status, data = raw("PUT", "/Payments", {"Payments": [pay | {"Amount": "100.5"}]})
    assert status == 400 and data["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Payment amount 100.5 has more decimal places than JPY allows (0)."
    )
    assert raw("PUT", "/Payments", {"Payments": [pay | {"Amount": "100"}]})[0] == 200


def test_a_payment_finer_than_a_cent_is_refused_not_rounded(xero_sandbox, raw):
    _, invoice = raw.invoice(invoice_body(contact(xero_sandbox, raw)))
    pay = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
    status, data = raw("PUT", "/Payments", {"Payments": [pay | {"Amount": "10.005"}]})
    assert status == 400 and data["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Payment amount 10.005 has more decimal places than NZD allows (2)."
    )
    assert xero_sandbox.invoices(raw.tenant)[0]["AmountPaid"] == 0
    status, data = raw("PUT", "/Payments", {"Payments": [pay | {"Amount": "10.01"}]})
    assert status == 200 and data["Payments"][0]["Amount"] == Decimal("10.01")


def test_a_foreign_payment_carries_the_day_rate_and_its_value_in_the_bank(xero_sandbox, raw):
    _, invoice = raw.invoice(in_currency(contact(xero_sandbox, raw), "USD"))
    assert invoice["Total"] == Decimal("115.00")
    xero_sandbox.set_rate(raw.tenant, "USD", "0.62", "2026-03-14")
    pay = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},  # an NZD bank account
        "Date": "2026-03-14",
        "Amount": "50.00",
    }
    status, data = raw("PUT", "/Payments", {"Payments": [pay]})
    payment = data["Payments"][0]
    assert (payment["CurrencyRate"], payment["BankAmount"]) == (
        Decimal("0.620000"),
        Decimal("80.65"),  # 50 USD at 0.62 USD per NZD
    )


def test_a_payment_into_an_account_in_a_third_currency_is_refused(xero_sandbox, http):
    org = seed.build_org(name="Three Currencies Ltd", n_contacts=2, currencies=("USD", "AUD"))
    for account in org["Accounts"]:
        if account["Code"] in ("091", "090"):
            account["CurrencyCode"] = {"091": "AUD", "090": "NZD"}[account["Code"]]
    raw = Raw(http, xero_sandbox, xero_sandbox.seed(data=[org])[0]["tenantId"])
    _, invoice = raw.invoice(in_currency(contact(xero_sandbox, raw), "USD"))
    pay = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": "5.00"}
    status, data = raw("PUT", "/Payments", {"Payments": [pay | {"Account": {"Code": "091"}}]})
    assert status == 400 and messages(data) == [
        "The account's currency AUD must be the invoice's currency USD or the base currency NZD."
    ]
    assert raw("PUT", "/Payments", {"Payments": [pay | {"Account": {"Code": "090"}}]})[0] == 200
