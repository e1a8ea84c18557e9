"""What real Xero refuses that the sandbox used to let through: tax type against the account's
class, discounts outside 0-100, negative quantities, due dates before the invoice date, dates
before 1900, lock dates, a plan's cap on approved invoices, and unknown branding themes."""

from decimal import Decimal

import pytest

from tests.xero_sandbox.conftest import invoice_body, line, messages

PERIOD_LOCKED = "The document date cannot be before the period lock date, currently set at "
YEAR_LOCKED = "The document date cannot be before the end of year lock date, currently set at "


@pytest.fixture
def who(xero_sandbox, raw) -> str:
    return xero_sandbox.contacts(raw.tenant)[0]["ContactID"]


def dated(who, day, status="AUTHORISED", number=None, **line_fields):
    due = max(day, "2026-03-31")
    body = invoice_body(who, line(**line_fields), status=status, number=number)
    return body | {"Date": day, "DueDate": due}


def edit(raw, invoice_id, **fields) -> tuple[int, list]:
    status, data = raw("POST", f"/Invoices/{invoice_id}", {"Invoices": [fields]})
    return status, messages(data)


def pay(raw, invoice_id, day, amount="10.00") -> tuple[int, dict]:
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "090"},
        "Date": day,
        "Amount": amount,
    }
    return raw("PUT", "/Payments", {"Payments": [payment]})


def test_a_tax_type_applies_only_to_accounts_of_the_classes_it_allows(raw, who):
    # OUTPUT2 (15% GST on Income) may go on revenue, not on expense account 400 (Advertising).
    status, answer = raw.invoice(invoice_body(who, line(account="400", tax="OUTPUT2")))
    assert status == 400
    assert answer["errors"] == [
        "The TaxType code 'OUTPUT2' cannot be used with account code '400'."
    ]
    assert raw.invoice(invoice_body(who, line(account="400", tax="NONE")))[0] == 200
    assert raw.invoice(invoice_body(who, line(account="260", tax="OUTPUT2")))[0] == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"DiscountRate": "150"}, "The discount rate '150.00' is invalid."),
        ({"DiscountRate": "-5"}, "The discount rate '-5.00' is invalid."),
        ({"DiscountAmount": "-1"}, "The discount amount '-1.00' is invalid."),
        (
            {"DiscountAmount": "0.001"},
            "DiscountAmount 0.001 has more decimal places than NZD allows (2).",
        ),
    ],
    ids=["over-100", "negative-rate", "negative-amount", "fraction-of-a-cent"],
)
def test_discounts_outside_what_xero_takes_are_refused(raw, who, fields, message):
    status, answer = raw.invoice(invoice_body(who, line(**fields)))
    assert status == 400 and answer["errors"] == [message]


def test_a_full_discount_and_no_discount_are_fine(raw, who):
    _, free = raw.invoice(invoice_body(who, line(DiscountRate="100")))
    _, full = raw.invoice(invoice_body(who, line(DiscountRate="0")))
    assert (free["Total"], full["Total"]) == (Decimal("0.00"), Decimal("115.00"))


def test_negative_quantities_are_refused_unless_configured(xero_sandbox, raw, who):
    status, answer = raw.invoice(invoice_body(who, line(quantity="-1")))
    assert answer["errors"] == [
        "The quantity value '-1.0000' is invalid. Quantity must not be less than zero."
    ]
    xero_sandbox.configure(allow_negative_quantities=True)
    status, invoice = raw.invoice(invoice_body(who, line(quantity="-1"), status="DRAFT"))
    assert status == 200 and invoice["Total"] == Decimal("-115.00")


def test_a_due_date_before_the_invoice_date_is_refused_unless_configured(xero_sandbox, raw, who):
    early = invoice_body(who) | {"Date": "2026-03-10", "DueDate": "2026-03-09"}
    status, answer = raw.invoice(early)
    assert answer["errors"] == ["Due Date must not be earlier than the invoice Date."]
    assert raw.invoice(early | {"DueDate": "2026-03-10"})[0] == 200
    xero_sandbox.configure(allow_due_before_date=True)
    assert raw.invoice(early)[0] == 200


def test_dates_before_1900_are_refused(raw, who):
    status, answer = raw.invoice(invoice_body(who) | {"Date": "1899-12-31"})
    assert answer["errors"] == ["Date must be on or after 1 January 1900."]
    status, answer = raw.invoice(
        invoice_body(who, status="DRAFT") | {"Date": "1899-01-01", "DueDate": "1899-01-31"}
    )
    assert answer["errors"] == [
        "Date must be on or after 1 January 1900.",
        "Due Date must be on or after 1 January 1900.",
    ]
    _, invoice = raw.invoice(invoice_body(who))
    status, data = pay(raw, invoice["InvoiceID"], "1899-12-31")
    assert status == 400 and messages(data) == ["Date must be on or after 1 January 1900."]


def test_invoices_dated_on_or_before_a_lock_date_cannot_be_approved(xero_sandbox, raw, who):
    xero_sandbox.set_lock_dates(raw.tenant, period="2026-03-31")
    organisation = raw("GET", "/Organisation")[1]["Organisations"][0]
    assert organisation["PeriodLockDate"] == "/Date(1774915200000+0000)/"
    status, answer = raw.invoice(dated(who, "2026-03-31"))
    assert answer["errors"] == [PERIOD_LOCKED + "31-Mar-2026"]
    assert raw.invoice(dated(who, "2026-04-01"))[0] == 200
    # A draft may sit in a locked period; approving it is what Xero refuses.
    status, draft = raw.invoice(dated(who, "2026-03-15", status="DRAFT"))
    assert status == 200
    assert edit(raw, draft["InvoiceID"], Status="AUTHORISED") == (
        400,
        [PERIOD_LOCKED + "31-Mar-2026"],
    )
    xero_sandbox.set_lock_dates(raw.tenant, end_of_year="2026-03-31")
    assert raw.invoice(dated(who, "2026-02-01"))[1]["errors"] == [
        YEAR_LOCKED + "31-Mar-2026",
        PERIOD_LOCKED + "31-Mar-2026",
    ]
    xero_sandbox.set_lock_dates(raw.tenant, period=None, end_of_year=None)
    assert edit(raw, draft["InvoiceID"], Status="AUTHORISED")[0] == 200


def test_approved_invoices_and_payments_in_a_locked_period_stay_as_they_are(xero_sandbox, raw, who):
    _, paid = raw.invoice(dated(who, "2026-03-01"))
    _, payment = pay(raw, paid["InvoiceID"], "2026-03-20")
    _, march = raw.invoice(dated(who, "2026-03-02"))
    _, april = raw.invoice(dated(who, "2026-04-02"))
    xero_sandbox.set_lock_dates(raw.tenant, period="2026-03-31")
    locked = [PERIOD_LOCKED + "31-Mar-2026"]
    assert edit(raw, april["InvoiceID"], Date="2026-03-30") == (400, locked)  # into the lock
    assert edit(raw, march["InvoiceID"], Reference="late change") == (400, locked)
    assert edit(raw, march["InvoiceID"], Status="VOIDED") == (400, locked)
    payment_id = payment["Payments"][0]["PaymentID"]
    status, data = raw("POST", f"/Payments/{payment_id}", {"Status": "DELETED"})
    assert (status, messages(data)) == (400, locked)
    status, data = pay(raw, april["InvoiceID"], "2026-03-31")
    assert (status, messages(data)) == (400, locked)
    assert pay(raw, april["InvoiceID"], "2026-04-01")[0] == 200


def test_a_starter_plan_caps_approved_invoices_per_month(xero_sandbox, raw, who):
    plan = xero_sandbox.set_plan(raw.tenant, approved_invoices_per_month=2, plan_class="STARTER")
    assert plan == {
        "Class": "STARTER",
        "ApprovedInvoicesPerMonth": 2,
        "ApprovedBillsPerMonth": None,
    }
    assert raw("GET", "/Organisation")[1]["Organisations"][0]["Class"] == "STARTER"
    assert raw.invoice(dated(who, "2026-03-02"))[0] == 200
    _, draft = raw.invoice(dated(who, "2026-03-03", status="DRAFT"))
    assert edit(raw, draft["InvoiceID"], Status="AUTHORISED")[0] == 200  # the second
    status, answer = raw.invoice(dated(who, "2026-03-20"))
    assert answer["errors"] == ["You have reached the limit of invoices you can approve"]
    assert raw.invoice(dated(who, "2026-03-20", status="DRAFT"))[0] == 200  # drafts are free
    assert raw.invoice(dated(who, "2026-04-01"))[0] == 200  # another month
    assert edit(raw, draft["InvoiceID"], Reference="edits do not count")[0] == 200
    xero_sandbox.set_plan(raw.tenant, approved_invoices_per_month=None)
    assert raw.invoice(dated(who, "2026-03-20"))[0] == 200


def test_branding_themes_must_exist_and_the_default_applies(xero_sandbox, raw, who):
    themes = {t["Name"]: t for t in raw("GET", "/BrandingThemes")[1]["BrandingThemes"]}
    _, plain = raw.invoice(invoice_body(who))
    assert plain["BrandingThemeID"] == themes["Standard"]["BrandingThemeID"]
    special = themes["Special projects"]["BrandingThemeID"]
    _, chosen = raw.invoice(invoice_body(who) | {"BrandingThemeID": special.upper()})
    assert chosen["BrandingThemeID"] == special
    missing = "00000000-0000-0000-0000-00000000beef"
    status, answer = raw.invoice(invoice_body(who) | {"BrandingThemeID": missing})
    assert answer["errors"] == [f"Branding theme '{missing}' could not be found."]
