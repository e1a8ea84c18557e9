"""Credit notes, allocations and refunds under the rules invoices and payments follow: enabled
currencies and their day rates, money at each currency's places, tax type against the account's
class, discounts, quantities, dates, lock dates, branding themes, items and tracking on lines."""

from decimal import Decimal

import pytest

from tests.xero_sandbox.conftest import credit_note_body, invoice_body, line, messages
from xero_sandbox.handle import ControlError

PERIOD_LOCKED = "The document date cannot be before the period lock date, currently set at "
LOCKED = [PERIOD_LOCKED + "31-Mar-2026"]


@pytest.fixture
def who(xero_sandbox, raw) -> str:
    return xero_sandbox.contacts(raw.tenant)[0]["ContactID"]


def in_currency(who, code, *lines, **fields):
    return credit_note_body(who, *lines) | {"CurrencyCode": code} | fields


def allocate(raw, credit_note, invoice, amount, day="2026-03-06") -> tuple[int, dict]:
    allocation = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": amount, "Date": day}
    path = f"/CreditNotes/{credit_note['CreditNoteID']}/Allocations"
    return raw("PUT", path, {"Allocations": [allocation]})


def refund(raw, credit_note, amount, day="2026-03-09") -> tuple[int, dict]:
    payment = {
        "CreditNote": {"CreditNoteID": credit_note["CreditNoteID"]},
        "Account": {"Code": "090"},
        "Date": day,
        "Amount": amount,
    }
    return raw("PUT", "/Payments", {"Payments": [payment]})


def edit(raw, credit_note_id, **fields) -> tuple[int, list]:
    status, data = raw("POST", f"/CreditNotes/{credit_note_id}", {"CreditNotes": [fields]})
    return status, messages(data)


# currencies ------------------------------------------------------------------------------
def test_a_credit_note_in_a_currency_not_enabled_or_not_xeros_is_refused(xero_sandbox, raw, who):
    assert raw.credit_note(in_currency(who, "EUR"))[1]["errors"] == [
        "Organisation is not subscribed to currency EUR"
    ]
    for code in ("nzd", "ZZZ"):
        status, answer = raw.credit_note(in_currency(who, code))
        assert status == 400 and answer["errors"] == [f"The currency code '{code}' is not valid."]
    status, data = raw(
        "PUT", "/CreditNotes", {"CreditNotes": [in_currency(who, "nzd")]}, summarizeErrors="false"
    )
    # As for invoices: the SDK would abort the whole answer on a CurrencyCode it does not know.
    assert status == 200 and "CurrencyCode" not in data["CreditNotes"][0]
    assert xero_sandbox.credit_notes(raw.tenant) == []
    raw("PUT", "/Currencies", {"Code": "EUR"})
    status, made = raw.credit_note(in_currency(who, "EUR"))
    assert status == 200 and made["CurrencyCode"] == "EUR"


def test_a_foreign_credit_note_takes_the_day_rate_like_an_invoice(xero_sandbox, raw, who):
    _, feed = raw.credit_note(in_currency(who, "USD"))
    assert feed["CurrencyRate"] == Decimal("0.600000")  # 1 NZD = 0.60 USD in the feed
    xero_sandbox.set_rate(raw.tenant, "USD", "0.5812", "2026-03-05")
    _, that_day = raw.credit_note(in_currency(who, "USD"))
    _, sent = raw.credit_note(in_currency(who, "USD", CurrencyRate="0.55"))
    _, base = raw.credit_note(in_currency(who, "NZD", CurrencyRate="2"))
    assert [c["CurrencyRate"] for c in (that_day, sent, base)] == [
        Decimal("0.581200"),
        Decimal("0.550000"),
        Decimal("1.000000"),
    ]
    status, data = raw("POST", f"/CreditNotes/{sent['CreditNoteID']}", {"Reference": "kept"})
    assert data["CreditNotes"][0]["CurrencyRate"] == Decimal("0.550000")


def test_yen_credit_notes_allocations_and_refunds_have_no_decimal_places(raw, who):
    raw("PUT", "/Currencies", {"Code": "JPY"})
    _, invoice = raw.invoice(invoice_body(who, line(unit="2000")) | {"CurrencyCode": "JPY"})
    _, note = raw.credit_note(in_currency(who, "JPY", line(unit="1001")))
    # 15% of 1,001 is 150.15: yen tax is 150, the total 1,151.
    assert (note["LineItems"][0]["TaxAmount"], note["Total"]) == (
        Decimal("150.00"),
        Decimal("1151.00"),
    )
    status, data = allocate(raw, note, invoice, "100.5")
    assert status == 400 and messages(data) == [
        "Allocation amount 100.5 has more decimal places than JPY allows (0)."
    ]
    status, data = refund(raw, note, "100.5")
    assert status == 400 and messages(data) == [
        "Payment amount 100.5 has more decimal places than JPY allows (0)."
    ]
    assert allocate(raw, note, invoice, "100")[0] == 200
    assert refund(raw, note, "51")[0] == 200
    _, data = raw("GET", f"/CreditNotes/{note['CreditNoteID']}")
    assert data["CreditNotes"][0]["RemainingCredit"] == Decimal("1000.00")


def test_an_allocation_finer_than_a_cent_or_before_1900_is_refused_not_rounded(raw, who):
    _, invoice = raw.invoice(invoice_body(who))
    _, note = raw.credit_note(credit_note_body(who))
    status, data = allocate(raw, note, invoice, "10.005")
    assert status == 400 and messages(data) == [
        "Allocation amount 10.005 has more decimal places than NZD allows (2)."
    ]
    status, data = allocate(raw, note, invoice, "10.00", day="1899-12-31")
    assert status == 400 and messages(data) == ["Date must be on or after 1 January 1900."]
    status, data = allocate(raw, note, invoice, "10.01")
    assert status == 200 and data["Allocations"][0]["Amount"] == Decimal("10.01")


def test_a_foreign_refund_carries_the_day_rate_and_its_value_in_the_bank(xero_sandbox, raw, who):
    _, note = raw.credit_note(in_currency(who, "USD"))  # 46.00 USD
    xero_sandbox.set_rate(raw.tenant, "USD", "0.62", "2026-03-09")
    status, data = refund(raw, note, "31.00")  # from NZD bank account 090
    payment = data["Payments"][0]
    assert (payment["PaymentType"], payment["CurrencyRate"], payment["BankAmount"]) == (
        "ARCREDITPAYMENT",
        Decimal("0.620000"),
        Decimal("50.00"),  # 31 USD at 0.62 USD per NZD
    )


# lines ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"account": "400"},
            "The TaxType code 'OUTPUT2' cannot be used with account code '400'.",
        ),
        ({"DiscountRate": "150"}, "The discount rate '150.00' is invalid."),
        ({"DiscountAmount": "-1"}, "The discount amount '-1.00' is invalid."),
        (
            {"DiscountAmount": "0.001"},
            "DiscountAmount 0.001 has more decimal places than NZD allows (2).",
        ),
        (
            {"quantity": "-1"},
            "The quantity value '-1.0000' is invalid. Quantity must not be less than zero.",
        ),
    ],
    ids=["tax-against-class", "discount-over-100", "negative-discount", "sub-cent", "negative-qty"],
)
def test_credit_note_lines_follow_the_invoices_line_rules(raw, who, fields, message):
    status, answer = raw.credit_note(credit_note_body(who, line(**fields)))
    assert status == 400 and answer["errors"] == [message]


def test_the_switch_for_negative_quantities_holds_for_credit_notes_too(xero_sandbox, raw, who):
    xero_sandbox.configure(allow_negative_quantities=True)
    status, note = raw.credit_note(credit_note_body(who, line(quantity="-1"), status="DRAFT"))
    assert status == 200 and note["Total"] == Decimal("-115.00")


def test_credit_note_lines_take_items_and_tracking(xero_sandbox, raw, who):
    held = xero_sandbox.state(raw.tenant, "tracking_categories")["TrackingCategories"]
    region = next(c for c in held if c["Name"] == "Region")
    tracking = [
        {"Name": "region", "Option": "north"},
        {"Name": "Department", "Option": "Commercial"},
    ]
    item_line = {"ItemCode": "LAB-HR", "Quantity": "2", "Tracking": tracking}
    status, note = raw.credit_note(credit_note_body(who, item_line))
    assert status == 200
    taken = note["LineItems"][0]
    assert (taken["Description"], taken["UnitAmount"], taken["AccountCode"], taken["TaxType"]) == (
        "Labour, per hour",
        Decimal("95.00"),
        "200",
        "OUTPUT2",
    )
    assert taken["Item"]["Code"] == "LAB-HR" and note["Total"] == Decimal("218.50")
    assert taken["Tracking"][0] == {
        "Name": "Region",
        "Option": "North",
        "TrackingCategoryID": region["TrackingCategoryID"],
        "TrackingOptionID": next(o for o in region["Options"] if o["Name"] == "North")[
            "TrackingOptionID"
        ],
    }
    refused = [
        (line(ItemCode="KIT-OLD"), "Item code 'KIT-OLD' is not valid"),  # not sold
        (
            line(Tracking=[*tracking, {"Name": "Project (old)", "Option": "Harbour build"}]),
            "Any LineItem can have a maximum of 2 TrackingCategory elements.",
        ),
        (
            line(Tracking=[{"Name": "Region", "Option": "West Coast"}]),
            "Tracking option 'West Coast' is archived.",
        ),
    ]
    for sent, message in refused:
        assert raw.credit_note(credit_note_body(who, sent))[1]["errors"] == [message]


# dates, lock dates, branding themes ------------------------------------------------------
def test_credit_note_dates_follow_the_invoices_rules(xero_sandbox, raw, who):
    status, answer = raw.credit_note(credit_note_body(who) | {"Date": "1899-12-31"})
    assert answer["errors"] == ["Date must be on or after 1 January 1900."]
    early = credit_note_body(who) | {"Date": "2026-03-10", "DueDate": "2026-03-09"}
    assert raw.credit_note(early)[1]["errors"] == [
        "Due Date must not be earlier than the invoice Date."
    ]
    xero_sandbox.configure(allow_due_before_date=True)
    assert raw.credit_note(early)[0] == 200


def test_credit_notes_dated_on_or_before_a_lock_date_are_not_approved_or_changed(
    xero_sandbox, raw, who
):
    _, approved = raw.credit_note(credit_note_body(who))  # 5 March
    xero_sandbox.set_lock_dates(raw.tenant, period="2026-03-31")
    assert raw.credit_note(credit_note_body(who))[1]["errors"] == LOCKED
    assert raw.credit_note(credit_note_body(who) | {"Date": "2026-04-01"})[0] == 200
    status, draft = raw.credit_note(credit_note_body(who, status="DRAFT"))
    assert status == 200  # a draft may sit in a locked period
    assert edit(raw, draft["CreditNoteID"], Status="AUTHORISED") == (400, LOCKED)
    assert edit(raw, approved["CreditNoteID"], Status="VOIDED") == (400, LOCKED)
    with pytest.raises(ControlError) as refused:  # "in Xero" too
        xero_sandbox.void_credit_note(raw.tenant, approved["CreditNoteID"])
    assert refused.value.body == {"errors": LOCKED}


def test_allocations_and_refunds_in_a_locked_period_stay_as_they_are(xero_sandbox, raw, who):
    _, invoice = raw.invoice(invoice_body(who) | {"Date": "2026-03-01"})
    _, note = raw.credit_note(credit_note_body(who))
    _, made = allocate(raw, note, invoice, "10.00", day="2026-03-06")
    _, refunded = refund(raw, note, "5.00", day="2026-03-09")
    xero_sandbox.set_lock_dates(raw.tenant, period="2026-03-31")
    allocation_id = made["Allocations"][0]["AllocationID"]
    path = f"/CreditNotes/{note['CreditNoteID']}/Allocations/{allocation_id}"
    status, data = raw("DELETE", path)
    assert (status, messages(data)) == (400, LOCKED)
    with pytest.raises(ControlError) as refused:
        xero_sandbox.remove_allocation(raw.tenant, note["CreditNoteID"], allocation_id)
    assert refused.value.body == {"errors": LOCKED}
    payment_id = refunded["Payments"][0]["PaymentID"]
    status, data = raw("POST", f"/Payments/{payment_id}", {"Status": "DELETED"})
    assert (status, messages(data)) == (400, LOCKED)
    status, data = allocate(raw, note, invoice, "1.00", day="2026-03-31")
    assert (status, messages(data)) == (400, LOCKED)
    status, data = refund(raw, note, "1.00", day="2026-03-31")
    assert (status, messages(data)) == (400, LOCKED)
    assert allocate(raw, note, invoice, "1.00", day="2026-04-01")[0] == 200
    assert refund(raw, note, "1.00", day="2026-04-01")[0] == 200
    _, data = raw("GET", f"/CreditNotes/{note['CreditNoteID']}")
    assert data["CreditNotes"][0]["RemainingCredit"] == Decimal("29.00")  # 46 - 10 - 5 - 1 - 1


def test_a_plan_cap_on_approved_invoices_leaves_credit_notes_alone(xero_sandbox, raw, who):
    xero_sandbox.set_plan(raw.tenant, approved_invoices_per_month=0)
    assert raw.invoice(invoice_body(who))[1]["errors"] == [
        "You have reached the limit of invoices you can approve"
    ]
    assert raw.credit_note(credit_note_body(who))[0] == 200


def test_credit_notes_take_the_default_branding_theme_and_refuse_unknown_ones(raw, who):
    themes = {t["Name"]: t for t in raw("GET", "/BrandingThemes")[1]["BrandingThemes"]}
    _, plain = raw.credit_note(credit_note_body(who))
    assert plain["BrandingThemeID"] == themes["Standard"]["BrandingThemeID"]
    missing = "00000000-0000-0000-0000-00000000beef"
    status, answer = raw.credit_note(credit_note_body(who) | {"BrandingThemeID": missing})
    assert answer["errors"] == [f"Branding theme '{missing}' could not be found."]
