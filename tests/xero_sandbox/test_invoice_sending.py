"""The invoice's own link and email from Xero: an online invoice URL for approved sales invoices,
and Xero's invoice email, recorded as an event the control API lists."""

import urllib3

from tests.xero_sandbox.conftest import invoice_body, messages

NOT_SENDABLE = (
    "The invoice must be of Type ACCREC and a valid Status for sending "
    "(SUBMITTED, AUTHORISED or PAID)."
)


def made(raw, contact_id, status="AUTHORISED", **fields) -> dict:
    code, invoice = raw.invoice(invoice_body(contact_id, status=status) | fields)
    assert code == 200, invoice
    return invoice


def with_email(xero_sandbox, raw) -> dict:
    return next(
        c
        for c in xero_sandbox.contacts(raw.tenant)
        if c.get("EmailAddress") and c["ContactStatus"] == "ACTIVE"
    )


def test_an_approved_invoice_has_one_online_link_showing_it(xero_sandbox, raw):
    invoice = made(raw, with_email(xero_sandbox, raw)["ContactID"])
    path = f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice"
    status, data = raw("GET", path)
    url = data["OnlineInvoices"][0]["OnlineInvoiceUrl"]
    assert status == 200 and url.startswith(f"{xero_sandbox.url}/in/")
    assert raw("GET", path)[1]["OnlineInvoices"][0]["OnlineInvoiceUrl"] == url  # stable
    page = urllib3.request("GET", url)
    assert page.status == 200 and invoice["InvoiceNumber"] in page.data.decode()
    assert "115.00" in page.data.decode()


def test_no_online_link_before_approval_or_for_bills(xero_sandbox, raw):
    who = with_email(xero_sandbox, raw)["ContactID"]
    for invoice in (
        made(raw, who, status="DRAFT"),
        made(raw, who, status="SUBMITTED"),
        made(
            raw,
            who,
            Type="ACCPAY",
            LineItems=[
                {"Description": "x", "UnitAmount": "5", "AccountCode": "429", "TaxType": "INPUT2"}
            ],
        ),
    ):
        status, data = raw("GET", f"/Invoices/{invoice['InvoiceID']}/OnlineInvoice")
        assert status == 400 and messages(data) == [
            "An online invoice is only available for approved sales invoices."
        ]


def test_xeros_invoice_email_is_recorded_with_its_recipients(xero_sandbox, raw):
    person = {"FirstName": "Pat", "EmailAddress": "pat@example.net", "IncludeInEmails": True}
    quiet = {"FirstName": "Sam", "EmailAddress": "sam@example.net", "IncludeInEmails": False}
    contact = xero_sandbox.create_contact(
        raw.tenant,
        Name="Emailed Ltd",
        EmailAddress="accounts@emailed.example",
        ContactPersons=[person, quiet],
    )
    invoice = made(raw, contact["ContactID"])
    assert not invoice.get("SentToContact")
    status, _ = raw("POST", f"/Invoices/{invoice['InvoiceID']}/Email", {})
    assert status == 204
    [email] = xero_sandbox.invoice_emails(raw.tenant)
    assert email["InvoiceID"] == invoice["InvoiceID"]
    assert email["InvoiceNumber"] == invoice["InvoiceNumber"]
    assert email["To"] == ["accounts@emailed.example", "pat@example.net"]
    _, data = raw("GET", f"/Invoices/{invoice['InvoiceID']}")
    assert data["Invoices"][0]["SentToContact"] is True


def test_drafts_and_contacts_without_an_address_are_not_emailed(xero_sandbox, raw):
    draft = made(raw, with_email(xero_sandbox, raw)["ContactID"], status="DRAFT")
    status, data = raw("POST", f"/Invoices/{draft['InvoiceID']}/Email", {})
    assert status == 400 and messages(data) == [NOT_SENDABLE]
    silent = xero_sandbox.create_contact(raw.tenant, Name="No Address Ltd")
    invoice = made(raw, silent["ContactID"])
    status, data = raw("POST", f"/Invoices/{invoice['InvoiceID']}/Email", {})
    assert status == 400 and messages(data) == [
        "The contact has no email address to send the invoice to."
    ]
    submitted = made(raw, with_email(xero_sandbox, raw)["ContactID"], status="SUBMITTED")
    assert raw("POST", f"/Invoices/{submitted['InvoiceID']}/Email", {})[0] == 204
    assert [e["InvoiceID"] for e in xero_sandbox.invoice_emails(raw.tenant)] == [
        submitted["InvoiceID"]
    ]
