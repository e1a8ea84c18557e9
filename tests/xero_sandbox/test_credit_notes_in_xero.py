"""Credit notes made, allocated, refunded and voided "in Xero" (control API, SandboxHandle, the
HTML view) and through the API: the CREDITNOTE webhooks they fire, in their own payloads."""

import json
import urllib.parse

import pytest
import urllib3

from tests.xero_sandbox.conftest import api, credit_note_body, invoice_body
from xero_sandbox import contract
from xero_sandbox.accounting import credit_notes as rules
from xero_sandbox.accounting.invoices import ALLOCATED
from xero_sandbox.handle import ControlError


@pytest.fixture
def tenant(xero_sandbox):
    return xero_sandbox.tenant_id()


@pytest.fixture
def contact_id(xero_sandbox, tenant):
    return xero_sandbox.contacts(tenant)[0]["ContactID"]


def kinds(events: list[dict]) -> list[tuple]:
    return [(e["eventCategory"], e["eventType"], e.get("data", {}).get("Status")) for e in events]


def test_a_credit_note_made_allocated_refunded_and_voided_in_xero_fires_webhooks(
    xero_sandbox, receiver, tenant, contact_id
):
    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact_id))  # 115.00
    draft = xero_sandbox.create_credit_note(tenant, credit_note_body(contact_id, status="DRAFT"))
    assert draft["CreditNoteNumber"] == "CN-0001" and draft["RemainingCredit"] == 46.0
    note_id = draft["CreditNoteID"]
    xero_sandbox.edit_credit_note(tenant, note_id, Status="AUTHORISED")
    made = xero_sandbox.allocate_credit_note(tenant, note_id, invoice["InvoiceID"], "30.00")
    refunded = xero_sandbox.refund_credit_note(tenant, note_id, account_code="615")
    assert refunded["Amount"] == 16.0 and refunded["PaymentType"] == "ARCREDITPAYMENT"
    (listed,) = xero_sandbox.payments(tenant)  # Xero shows the credit note as the "Invoice"
    assert (listed["Invoice"]["Type"], listed["Invoice"]["InvoiceID"]) == ("ACCRECCREDIT", note_id)
    assert listed["Account"]["Code"] == "615"
    with pytest.raises(ControlError) as refused:
        xero_sandbox.void_credit_note(tenant, note_id)
    assert refused.value.status == 400 and refused.value.body["errors"] == [ALLOCATED]
    xero_sandbox.remove_allocation(tenant, note_id, made["AllocationID"])
    stored = xero_sandbox.credit_notes(tenant)[0]
    assert (stored["Status"], stored["RemainingCredit"], stored["Allocations"]) == (
        "AUTHORISED",
        30.0,
        [],
    )
    xero_sandbox.flush_webhooks()
    assert kinds(xero_sandbox.webhook_events()) == [  # as emitted
        ("INVOICE", "CREATE", None),
        ("CREDITNOTE", "CREATE", "DRAFT"),
        ("CREDITNOTE", "UPDATE", "AUTHORISED"),
        ("CREDITNOTE", "UPDATE", "AUTHORISED"),  # allocated
        ("INVOICE", "UPDATE", None),
        ("CREDITNOTE", "UPDATE", "PAID"),  # refunded the rest
        ("CREDITNOTE", "UPDATE", "AUTHORISED"),  # allocation removed
        ("INVOICE", "UPDATE", None),
    ]
    assert sorted(kinds(receiver.events()), key=str) == sorted(
        kinds(xero_sandbox.webhook_events()), key=str
    )  # all delivered, credit notes in payloads of their own
    credit_events = [e for e in receiver.events() if e["eventCategory"] == "CREDITNOTE"]
    assert {e["resourceId"] for e in credit_events} == {note_id}
    assert all(e["resourceUrl"].endswith(f"/CreditNotes/{note_id}") for e in credit_events)
    assert {e["data"]["Type"] for e in credit_events} == {"ACCRECCREDIT"}
    for delivery in receiver.received:
        contract.validate_webhook_payload(delivery["raw"])
        categories = {e["eventCategory"] for e in delivery["body"]["events"]}
        assert categories <= {"CREDITNOTE"} or "CREDITNOTE" not in categories


def test_api_writes_fire_creditnote_events_and_the_setting_silences_invoice_updates(
    http, xero_sandbox, tenant, contact_id
):
    token = xero_sandbox.token_for(tenant)
    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact_id))
    body = {"CreditNotes": [credit_note_body(contact_id)]}
    made = json.loads(api(http, xero_sandbox, "PUT", "/CreditNotes", token, tenant, body=body).data)
    note_id = made["CreditNotes"][0]["CreditNoteID"]
    xero_sandbox.configure(webhook_on_payment=False)
    allocation = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 5, "Date": "2026-03-06"}
    answer = api(
        http,
        xero_sandbox,
        "PUT",
        f"/CreditNotes/{note_id}/Allocations",
        token,
        tenant,
        body={"Allocations": [allocation]},
    )
    assert answer.status == 200
    assert kinds(xero_sandbox.webhook_events()) == [
        ("INVOICE", "CREATE", None),
        ("CREDITNOTE", "CREATE", "AUTHORISED"),
        ("CREDITNOTE", "UPDATE", "AUTHORISED"),
    ]


def test_refusals_in_xero_use_xeros_words(xero_sandbox, tenant, contact_id):
    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact_id))
    note = xero_sandbox.create_credit_note(tenant, credit_note_body(contact_id))
    with pytest.raises(ControlError) as over:
        xero_sandbox.allocate_credit_note(
            tenant, note["CreditNoteID"], invoice["InvoiceID"], "46.01"
        )
    assert over.value.body["errors"] == [rules.OVER_CREDIT]
    with pytest.raises(ControlError) as beyond:
        xero_sandbox.refund_credit_note(tenant, note["CreditNoteID"], amount="46.01")
    assert beyond.value.body["errors"] == [
        "Payment amount exceeds the amount outstanding on this document"
    ]
    with pytest.raises(ControlError) as unknown:
        xero_sandbox.edit_credit_note(tenant, "00000000-0000-0000-0000-000000000003", Reference="x")
    assert unknown.value.body["errors"] == [rules.NOT_FOUND]


def form_post(http, url, **fields):
    return http.request(
        "POST",
        url,
        body=urllib.parse.urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        redirect=False,
    )


def test_the_html_view_shows_and_works_credit_notes(xero_sandbox, receiver, tenant, contact_id):
    http = urllib3.PoolManager(retries=False)
    invoice = xero_sandbox.create_invoice(tenant, invoice_body(contact_id))
    note = xero_sandbox.create_credit_note(tenant, credit_note_body(contact_id, status="DRAFT"))
    base = f"{xero_sandbox.url}/orgs/{tenant}"
    url = f"{base}/credit-notes/{note['CreditNoteID']}"
    assert form_post(http, url, action="approve").status == 302
    page = http.request("GET", url).data.decode()
    assert 'id="allocate-form"' in page and 'id="refund-form"' in page
    assert invoice["InvoiceNumber"] in page  # offered for allocation
    assert (
        form_post(http, url, action="allocate", invoice=invoice["InvoiceID"], amount="30.00").status
        == 302
    )
    assert (
        form_post(
            http, url, action="refund", amount="6.00", account="090", reference="Cash back"
        ).status
        == 302
    )
    refused = form_post(http, url, action="refund", amount="99.00", account="090")
    assert refused.status == 400 and b"exceeds the amount outstanding" in refused.data
    page = http.request("GET", url).data.decode()
    assert 'id="remaining-credit">10.00<' in page
    assert "30.00" in page and "Cash back" in page and "090 Business Bank Account" in page
    invoice_page = http.request("GET", f"{base}/invoices/{invoice['InvoiceID']}").data.decode()
    assert (
        'id="amount-credited">30.00<' in invoice_page and 'id="amount-due">85.00<' in invoice_page
    )
    assert "CN-0001" in invoice_page
    allocation_id = xero_sandbox.credit_notes(tenant)[0]["Allocations"][0]["AllocationID"]
    assert form_post(http, url, action="remove-allocation", allocation=allocation_id).status == 302
    assert form_post(http, url, action="void").status == 400  # the refund is still there
    home = http.request("GET", base).data.decode()
    assert 'id="credit-notes"' in home and "CN-0001" in home
    xero_sandbox.flush_webhooks()
    assert ("CREDITNOTE", "UPDATE", "AUTHORISED") in kinds(receiver.events())
