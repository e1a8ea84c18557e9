"""Every endpoint the sandbox serves, driven by the real xero-python SDK, checked against the
official OpenAPI specs: the request exactly as the sandbox received it (from its request log)
and the response exactly as it answered (the log keeps response bodies), plus the webhook
payloads it sends. A failure names the request and every field that broke the contract."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Account,
    Address,
    Allocations,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    Invoice,
    Invoices,
    Payment,
    PaymentDelete,
    Payments,
    Phone,
)

from tests.support.exchanges import API, Exchanges, make_invoice, raises, sdk_invoice, sdk_line
from tests.xero_sandbox.conftest import sdk_allocation, sdk_credit_note, sdk_refund
from xero_sandbox import contract

OTHER_TENANT_NOT_CONNECTED = "Connected to the first org only"


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def log(xero_sandbox, client):
    return Exchanges(xero_sandbox)


@pytest.fixture
def contact_id(xero_sandbox, tenant):
    return xero_sandbox.contacts(tenant)[0]["ContactID"]


def pay(invoice_id, amount, code="090"):
    return Payment(
        invoice=Invoice(invoice_id=invoice_id),
        account=Account(code=code),
        date=dt.date(2026, 3, 14),
        amount=Decimal(amount),
        reference="CRM pay",
    )


# --- the log itself ------------------------------------------------------------------------------


def test_request_log_keeps_the_response_only_when_asked(xero_sandbox, client, tenant):
    client.accounting.get_organisations(tenant)
    plain = xero_sandbox.requests(path="/api.xro/2.0/Organisation")[-1]
    full = xero_sandbox.requests(path="/api.xro/2.0/Organisation", responses=True)[-1]
    assert "response_body" not in plain
    assert plain["response_headers"]["Content-Type"].startswith("application/json")
    assert json.loads(full["response_body"])["Organisations"][0]["OrganisationID"] == tenant
    assert full["response_truncated"] is False


# --- settings ------------------------------------------------------------------------------------


def test_organisation_accounts_and_tax_rates_match_the_spec(client, tenant, log):
    client.accounting.get_organisations(tenant)
    accounts = client.accounting.get_accounts(tenant).accounts
    client.accounting.get_accounts(tenant, if_modified_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client.accounting.get_account(tenant, accounts[0].account_id)
    client.accounting.get_tax_rates(tenant)
    log.validated(
        [
            ("GET", f"{API}/Organisation", 200),
            ("GET", f"{API}/Accounts", 200),
            ("GET", f"{API}/Accounts", 200),
            ("GET", f"{API}/Accounts/*", 200),
            ("GET", f"{API}/TaxRates", 200),
        ]
    )


# --- contacts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page": 1},
        {"page": 2, "page_size": 10},
        {"page": 1, "page_size": 1000},
        {"page": 1, "if_modified_since": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
        {"page": 1, "include_archived": True},
        {"page": 1, "summary_only": True},
        {"search_term": "a"},
        {},
    ],
    ids=[
        "page",
        "page2",
        "pageSize1000",
        "ifModifiedSince",
        "archived",
        "summary",
        "search",
        "bare",
    ],
)
def test_contact_lists_match_the_spec(client, tenant, log, kwargs):
    assert client.accounting.get_contacts(tenant, **kwargs).contacts is not None
    log.validated([("GET", f"{API}/Contacts", 200)])


def test_contacts_by_ids_and_one_contact_match_the_spec(xero_sandbox, client, tenant, log):
    ids = [c["ContactID"] for c in xero_sandbox.contacts(tenant)[:3]]
    assert len(client.accounting.get_contacts(tenant, i_ds=ids).contacts) == 3
    client.accounting.get_contact(tenant, ids[0])
    log.validated([("GET", f"{API}/Contacts", 200), ("GET", f"{API}/Contacts/*", 200)])


def test_contact_writes_match_the_spec(client, tenant, log):
    made = client.accounting.create_contacts(
        tenant,
        Contacts(contacts=[Contact(name="Contract Test Ltd", email_address="a@example.com")]),
        summarize_errors=False,
    ).contacts[0]
    client.accounting.create_contacts(tenant, Contacts(contacts=[Contact(name="Second Ltd")]))
    client.accounting.update_or_create_contacts(
        tenant, Contacts(contacts=[Contact(contact_id=made.contact_id, first_name="Ann")])
    )
    client.accounting.update_contact(
        tenant, made.contact_id, Contacts(contacts=[Contact(last_name="Lee")])
    )
    log.validated(
        [
            ("PUT", f"{API}/Contacts", 200),
            ("PUT", f"{API}/Contacts", 200),
            ("POST", f"{API}/Contacts", 200),
            ("POST", f"{API}/Contacts/*", 200),
        ]
    )


def test_duplicate_contact_name_gives_a_spec_shaped_error(client, tenant, log):
    name = client.accounting.get_contacts(tenant, page=1).contacts[0].name
    error = raises(
        client.accounting.create_contacts, tenant, Contacts(contacts=[Contact(name=name)])
    )
    assert error.status == 400
    log.validated([("PUT", f"{API}/Contacts", 400)])


def test_contact_updates_archiving_and_their_refusals_match_the_spec(client, tenant, log):
    made = client.accounting.create_contacts(
        tenant,
        Contacts(
            contacts=[
                Contact(
                    name="Update Contract Ltd",
                    phones=[Phone(phone_type="MOBILE", phone_number="021 1")],
                    addresses=[Address(address_type="STREET", city="Nelson")],
                ),
                Contact(name="Other Contract Ltd"),
            ]
        ),
    ).contacts
    first, other = made[0].contact_id, made[1].contact_id

    def one(**fields):
        return Contacts(contacts=[Contact(**fields)])

    client.accounting.update_contact(
        tenant, first, one(phones=[Phone(phone_type="DEFAULT", phone_number="03 1")])
    )
    raises(client.accounting.update_contact, tenant, first, one(name="Other Contract Ltd"))
    client.accounting.update_or_create_contacts(
        tenant, one(contact_id=other, contact_status="ARCHIVED")
    )
    raises(client.accounting.create_contacts, tenant, one(name="Other Contract Ltd"))
    raises(client.accounting.update_contact, tenant, other, one(email_address="x@y.nz"))
    client.accounting.update_or_create_contacts(
        tenant,
        Contacts(
            contacts=[
                Contact(contact_id=first, name="Other Contract Ltd"),
                Contact(contact_id=other, contact_status="ACTIVE"),
            ]
        ),
        summarize_errors=False,
    )
    log.validated(
        [
            ("PUT", f"{API}/Contacts", 200),
            ("POST", f"{API}/Contacts/*", 200),
            ("POST", f"{API}/Contacts/*", 400),
            ("POST", f"{API}/Contacts", 200),
            ("PUT", f"{API}/Contacts", 400),
            ("POST", f"{API}/Contacts/*", 400),
            ("POST", f"{API}/Contacts", 200),
        ]
    )


def test_contact_groups_and_membership_match_the_spec(client, tenant, contact_id, log):
    groups = client.accounting.get_contact_groups(tenant).contact_groups
    group_id = groups[0].contact_group_id
    client.accounting.get_contact_group(tenant, group_id)
    client.accounting.create_contact_group_contacts(
        tenant, group_id, Contacts(contacts=[Contact(contact_id=contact_id)])
    )
    client.accounting.delete_contact_group_contact(tenant, group_id, contact_id)
    log.validated(
        [
            ("GET", f"{API}/ContactGroups", 200),
            ("GET", f"{API}/ContactGroups/*", 200),
            ("PUT", f"{API}/ContactGroups/*/Contacts", 200),
            ("DELETE", f"{API}/ContactGroups/*/Contacts/*", 204),
        ]
    )


# --- invoices ------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["create_invoices", "update_or_create_invoices"])
@pytest.mark.parametrize("summarize", [None, False], ids=["default", "summarizeErrorsFalse"])
def test_invoice_batch_writes_match_the_spec(client, tenant, contact_id, log, verb, summarize):
    kwargs = {} if summarize is None else {"summarize_errors": summarize}
    call = getattr(client.accounting, verb)
    call(tenant, Invoices(invoices=[sdk_invoice(contact_id, "CT-1")]), **kwargs)
    method = "PUT" if verb == "create_invoices" else "POST"
    log.validated([(method, f"{API}/Invoices", 200)])


@pytest.mark.parametrize("verb", ["create_invoices", "update_or_create_invoices"])
def test_invoice_validation_exception_matches_the_spec(client, tenant, contact_id, log, verb):
    make_invoice(client, contact_id, "CT-DUP")
    log.mark()
    bad = Invoices(invoices=[sdk_invoice(contact_id, "CT-DUP"), sdk_invoice(contact_id, "CT-NEW")])
    error = raises(getattr(client.accounting, verb), tenant, bad)
    assert error.status == 400
    method = "PUT" if verb == "create_invoices" else "POST"
    row = log.validated([(method, f"{API}/Invoices", 400)])[-1]
    body = json.loads(row["response_body"])
    assert body["Type"] == "ValidationException" and body["Elements"][0]["ValidationErrors"]


@pytest.mark.parametrize("verb", ["create_invoices", "update_or_create_invoices"])
def test_mixed_ok_and_error_invoice_batch_matches_the_spec(client, tenant, contact_id, log, verb):
    make_invoice(client, contact_id, "CT-DUP")
    log.mark()
    batch = Invoices(
        invoices=[
            sdk_invoice(contact_id, "CT-OK"),
            sdk_invoice(contact_id, "CT-DUP"),
            sdk_invoice(contact_id, "CT-BADTAX", lines=[sdk_line(tax="NOSUCHTAX")]),
        ]
    )
    result = getattr(client.accounting, verb)(tenant, batch, summarize_errors=False).invoices
    assert [i.status_attribute_string for i in result] == ["OK", "ERROR", "ERROR"]
    method = "PUT" if verb == "create_invoices" else "POST"
    log.validated([(method, f"{API}/Invoices", 200)])


def test_invoice_edit_and_void_match_the_spec(client, tenant, contact_id, log):
    invoice = make_invoice(client, contact_id, "CT-EDIT")
    edited = Invoice(reference="PO 7", line_items=[sdk_line("250.00")])
    client.accounting.update_invoice(tenant, invoice.invoice_id, Invoices(invoices=[edited]))
    voided = client.accounting.update_invoice(
        tenant, invoice.invoice_id, Invoices(invoices=[Invoice(status="VOIDED")])
    ).invoices[0]
    assert voided.status == "VOIDED"
    log.validated(
        [
            ("PUT", f"{API}/Invoices", 200),
            ("POST", f"{API}/Invoices/*", 200),
            ("POST", f"{API}/Invoices/*", 200),
        ]
    )


def test_invoice_reads_match_the_spec(client, tenant, contact_id, log):
    draft = make_invoice(client, contact_id, "CT-R1", status="DRAFT")
    authorised = make_invoice(client, contact_id, "CT-R2")
    client.accounting.create_payment(tenant, pay(authorised.invoice_id, "10.00"))
    reads = client.accounting
    reads.get_invoices(tenant, page=1)
    reads.get_invoices(tenant, page=1, page_size=1000)
    reads.get_invoices(tenant, i_ds=[draft.invoice_id, authorised.invoice_id])
    reads.get_invoices(tenant, invoice_numbers=["CT-R1", "CT-R2"])
    reads.get_invoices(tenant, statuses=["DRAFT", "AUTHORISED"], page=1)
    reads.get_invoices(tenant, if_modified_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), page=1)
    reads.get_invoices(tenant, summary_only=True, page=1)
    reads.get_invoice(tenant, authorised.invoice_id)
    log.validated([("GET", f"{API}/Invoices", 200)] * 7 + [("GET", f"{API}/Invoices/*", 200)])


# --- payments ------------------------------------------------------------------------------------


def test_payment_writes_reads_and_delete_match_the_spec(client, tenant, contact_id, log):
    invoice = make_invoice(client, contact_id, "CT-PAY")
    batch = Payments(payments=[pay(invoice.invoice_id, "10.00"), pay(invoice.invoice_id, "999")])
    made = client.accounting.create_payments(tenant, batch, summarize_errors=False).payments
    assert [p.status_attribute_string for p in made] == ["OK", "ERROR"]
    client.accounting.create_payments(tenant, Payments(payments=[pay(invoice.invoice_id, "5")]))
    single = client.accounting.create_payment(tenant, pay(invoice.invoice_id, "1.00"))
    payment_id = single.payments[0].payment_id
    client.accounting.get_payments(tenant)
    client.accounting.get_payments(tenant, page=1, page_size=100)
    client.accounting.get_payment(tenant, payment_id)
    deleted = client.accounting.delete_payment(
        tenant, payment_id, PaymentDelete(status="DELETED")
    ).payments[0]
    assert deleted.status == "DELETED"
    log.validated(
        [
            ("PUT", f"{API}/Payments", 200),
            ("PUT", f"{API}/Payments", 200),
            ("POST", f"{API}/Payments", 200),
            ("GET", f"{API}/Payments", 200),
            ("GET", f"{API}/Payments", 200),
            ("GET", f"{API}/Payments/*", 200),
            ("POST", f"{API}/Payments/*", 200),
        ]
    )


def test_payment_validation_exception_matches_the_spec(client, tenant, contact_id, log):
    invoice = make_invoice(client, contact_id, "CT-PAY400")
    log.mark()
    error = raises(
        client.accounting.create_payments,
        tenant,
        Payments(payments=[pay(invoice.invoice_id, "99999")]),
    )
    assert error.status == 400
    log.validated([("PUT", f"{API}/Payments", 400)])


# --- credit notes, allocations, refunds ----------------------------------------------------------


def make_credit_note(client, contact_id, number=None, status="AUTHORISED") -> CreditNote:
    extra = {"credit_note_number": number} if number else {}
    made = client.accounting.create_credit_notes(
        client.tenant_id,
        CreditNotes(credit_notes=[sdk_credit_note(contact_id, status=status, **extra)]),
    )
    return made.credit_notes[0]


@pytest.mark.parametrize("verb", ["create_credit_notes", "update_or_create_credit_notes"])
@pytest.mark.parametrize("summarize", [None, False], ids=["default", "summarizeErrorsFalse"])
def test_credit_note_batch_writes_match_the_spec(client, tenant, contact_id, log, verb, summarize):
    kwargs = {} if summarize is None else {"summarize_errors": summarize}
    batch = CreditNotes(credit_notes=[sdk_credit_note(contact_id), sdk_credit_note(contact_id)])
    getattr(client.accounting, verb)(tenant, batch, idempotency_key="cn-contract", **kwargs)
    method = "PUT" if verb == "create_credit_notes" else "POST"
    log.validated([(method, f"{API}/CreditNotes", 200)])


@pytest.mark.parametrize("verb", ["create_credit_notes", "update_or_create_credit_notes"])
def test_credit_note_errors_match_the_spec(client, tenant, contact_id, log, verb):
    make_credit_note(client, contact_id, "CN-DUP")
    log.mark()
    call = getattr(client.accounting, verb)
    batch = CreditNotes(
        credit_notes=[
            sdk_credit_note(contact_id, credit_note_number="CN-DUP"),
            sdk_credit_note(contact_id, credit_note_number="CN-NEW"),
            CreditNote(type="ACCRECCREDIT", contact=Contact(contact_id=contact_id)),  # no lines
        ]
    )
    result = call(tenant, batch, summarize_errors=False).credit_notes
    assert [c.status_attribute_string for c in result] == ["ERROR", "OK", "ERROR"]
    assert raises(call, tenant, batch).status == 400
    method = "PUT" if verb == "create_credit_notes" else "POST"
    log.validated([(method, f"{API}/CreditNotes", 200), (method, f"{API}/CreditNotes", 400)])


def test_credit_note_edit_approve_and_void_match_the_spec(client, tenant, contact_id, log):
    draft = make_credit_note(client, contact_id, status="DRAFT")
    update = client.accounting.update_credit_note
    edited = CreditNote(reference="Edited", line_items=[sdk_line("25.00")])
    update(tenant, draft.credit_note_id, CreditNotes(credit_notes=[edited]))
    update(
        tenant, draft.credit_note_id, CreditNotes(credit_notes=[CreditNote(status="AUTHORISED")])
    )
    voided = update(
        tenant, draft.credit_note_id, CreditNotes(credit_notes=[CreditNote(status="VOIDED")])
    ).credit_notes[0]
    assert voided.status == "VOIDED"
    assert (
        raises(
            update,
            tenant,
            draft.credit_note_id,
            CreditNotes(credit_notes=[CreditNote(reference="x")]),
        ).status
        == 400
    )
    log.validated(
        [
            ("PUT", f"{API}/CreditNotes", 200),
            ("POST", f"{API}/CreditNotes/*", 200),
            ("POST", f"{API}/CreditNotes/*", 200),
            ("POST", f"{API}/CreditNotes/*", 200),
            ("POST", f"{API}/CreditNotes/*", 400),
        ]
    )


def test_credit_note_reads_match_the_spec(client, tenant, contact_id, log):
    invoice = make_invoice(client, contact_id, "CT-CN")
    note = make_credit_note(client, contact_id)
    make_credit_note(client, contact_id, status="DRAFT")
    client.accounting.create_credit_note_allocation(
        tenant,
        note.credit_note_id,
        Allocations(allocations=[sdk_allocation(invoice.invoice_id, "10")]),
    )
    client.accounting.create_payment(tenant, sdk_refund(note.credit_note_id, "5.00"))
    reads = client.accounting
    reads.get_credit_notes(tenant)
    reads.get_credit_notes(tenant, page=1)
    reads.get_credit_notes(tenant, page=1, page_size=1000, unitdp=4)
    reads.get_credit_notes(tenant, where='Status=="DRAFT"', order="CreditNoteNumber DESC", page=1)
    reads.get_credit_notes(tenant, if_modified_since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), page=1)
    reads.get_credit_note(tenant, note.credit_note_id)
    reads.get_credit_note(tenant, note.credit_note_id, unitdp=4)
    reads.get_invoice(tenant, invoice.invoice_id)  # now listing the credit note allocated to it
    reads.get_invoices(tenant, page=1)
    log.validated(
        [("GET", f"{API}/CreditNotes", 200)] * 5
        + [("GET", f"{API}/CreditNotes/*", 200)] * 2
        + [("GET", f"{API}/Invoices/*", 200), ("GET", f"{API}/Invoices", 200)]
    )


def test_allocations_and_their_deletion_match_the_spec(client, tenant, contact_id, log):
    invoice = make_invoice(client, contact_id, "CT-AL")
    note = make_credit_note(client, contact_id)
    log.mark()
    made = client.accounting.create_credit_note_allocation(
        tenant,
        note.credit_note_id,
        Allocations(
            allocations=[
                sdk_allocation(invoice.invoice_id, "10"),
                sdk_allocation(invoice.invoice_id, "999"),
            ]
        ),
        summarize_errors=False,
        idempotency_key="alloc-contract",
    ).allocations
    assert [a.status_attribute_string for a in made] == ["OK", "ERROR"]
    error = raises(
        client.accounting.create_credit_note_allocation,
        tenant,
        note.credit_note_id,
        Allocations(allocations=[sdk_allocation(invoice.invoice_id, "999")]),
    )
    assert error.status == 400
    deleted = client.accounting.delete_credit_note_allocations(
        tenant, note.credit_note_id, made[0].allocation_id
    )
    assert deleted.is_deleted is True
    missing = raises(
        client.accounting.delete_credit_note_allocations,
        tenant,
        note.credit_note_id,
        made[0].allocation_id,
    )
    assert missing.status == 404
    log.validated(
        [
            ("PUT", f"{API}/CreditNotes/*/Allocations", 200),
            ("PUT", f"{API}/CreditNotes/*/Allocations", 400),
            ("DELETE", f"{API}/CreditNotes/*/Allocations/*", 200),
            ("DELETE", f"{API}/CreditNotes/*/Allocations/*", 404),
        ]
    )


def test_refunds_match_the_spec(client, tenant, contact_id, log):
    note = make_credit_note(client, contact_id)
    log.mark()
    batch = Payments(
        payments=[sdk_refund(note.credit_note_id, "6.00"), sdk_refund(note.credit_note_id, "99")]
    )
    made = client.accounting.create_payments(tenant, batch, summarize_errors=False).payments
    assert [p.status_attribute_string for p in made] == ["OK", "ERROR"]
    single = client.accounting.create_payment(tenant, sdk_refund(note.credit_note_id, "1.00"))
    assert (
        raises(
            client.accounting.create_payment, tenant, sdk_refund(note.credit_note_id, "99")
        ).status
        == 400
    )
    client.accounting.get_payments(tenant, where='PaymentType=="ARCREDITPAYMENT"', page=1)
    client.accounting.get_payment(tenant, single.payments[0].payment_id)
    client.accounting.delete_payment(
        tenant, single.payments[0].payment_id, PaymentDelete(status="DELETED")
    )
    log.validated(
        [
            ("PUT", f"{API}/Payments", 200),
            ("POST", f"{API}/Payments", 200),
            ("POST", f"{API}/Payments", 400),
            ("GET", f"{API}/Payments", 200),
            ("GET", f"{API}/Payments/*", 200),
            ("POST", f"{API}/Payments/*", 200),
        ]
    )


# --- identity: connections -----------------------------------------------------------------------


def test_connections_list_filter_and_delete_match_the_spec(xero_sandbox, log):
    details = xero_sandbox.authorize_details(tenants=[xero_sandbox.tenant_id()])
    client = xero_sandbox.sdk()
    assert client.identity.get_connections()
    client.identity.get_connections(auth_event_id=details["authEventId"])
    connection = client.identity.get_connections()[-1]
    client.identity.delete_connection(connection.id)
    error = raises(client.identity.delete_connection, connection.id)
    assert error.status == 404
    log.validated(
        [
            ("GET", "/connections", 200),
            ("GET", "/connections", 200),
            ("GET", "/connections", 200),
            ("DELETE", "/connections/*", 204),
            ("DELETE", "/connections/*", 404),
        ]
    )


def test_token_response_matches_the_identity_access_token_schema(xero_sandbox):
    token = xero_sandbox.control("POST", "/token", {"scopes": "openid offline_access"})
    contract.validate_schema(
        "AccessToken",
        {k: token[k] for k in ("id_token", "access_token", "expires_in", "token_type")}
        | {"refresh_token": token["refresh_token"]},
        contract=contract.identity(),
    )


# --- errors --------------------------------------------------------------------------------------


def test_unknown_token_gives_a_spec_valid_401(xero_sandbox, tenant, log):
    token = dict(xero_sandbox.token_for(tenant), access_token="not-a-token")
    client = xero_sandbox.sdk(tenant, token=token)
    assert raises(client.accounting.get_contacts, tenant, page=1).status == 401
    assert raises(client.identity.get_connections).status == 401
    log.validated([("GET", f"{API}/Contacts", 401), ("GET", "/connections", 401)])


def test_unconnected_tenant_gives_a_spec_valid_403(xero_sandbox, log):
    first, second = (t["tenantId"] for t in xero_sandbox.tenants()[:2])
    client = xero_sandbox.sdk(first, token=xero_sandbox.token_for(first))
    assert raises(client.accounting.get_invoices, second, page=1).status == 403
    log.validated([("GET", f"{API}/Invoices", 403)])


@pytest.mark.parametrize(
    "call",
    [
        "get_contact",
        "get_contact_group",
        "get_invoice",
        "get_credit_note",
        "get_payment",
        "get_account",
    ],
)
def test_unknown_ids_give_a_spec_valid_404(client, tenant, log, call):
    missing = "00000000-0000-0000-0000-000000000001"
    assert raises(getattr(client.accounting, call), tenant, missing).status == 404
    log.validated([("GET", f"{API}/*/{missing}", 404)])


def test_rate_limit_gives_a_spec_valid_429(xero_sandbox, client, tenant, log):
    xero_sandbox.set_limits(per_minute=1, reset_usage=True)
    client.accounting.get_organisations(tenant)
    error = raises(client.accounting.get_organisations, tenant)
    assert error.status == 429 and error.headers.get("Retry-After")
    log.validated([("GET", f"{API}/Organisation", 200), ("GET", f"{API}/Organisation", 429)])


# --- webhooks ------------------------------------------------------------------------------------


def test_webhook_payloads_match_the_spec(xero_sandbox, receiver, client, tenant, contact_id):
    xero_sandbox.intent_to_receive(rounds=2)
    xero_sandbox.create_contact(tenant, Name="Webhook Contract Ltd")
    xero_sandbox.edit_contact(tenant, contact_id, Name="Renamed For Webhook")
    invoice = make_invoice(client, contact_id, "CT-WH")
    xero_sandbox.pay_invoice(tenant, invoice.invoice_id, amount="10.00", account_code="090")
    note = make_credit_note(client, contact_id)
    client.accounting.create_credit_note_allocation(
        tenant,
        note.credit_note_id,
        Allocations(allocations=[sdk_allocation(invoice.invoice_id, "5")]),
    )
    xero_sandbox.refund_credit_note(tenant, note.credit_note_id, amount="1.00")
    xero_sandbox.flush_webhooks()
    xero_sandbox.send_bad_signature(url=receiver.url)
    assert any(not r["good"] for r in receiver.received)
    for delivery in receiver.received:
        try:
            contract.validate_webhook_payload(delivery["raw"])
        except AssertionError as error:
            raise AssertionError(f"{delivery['raw'][:300]!r}\n{error}") from None
    categories = {(e["eventCategory"], e["eventType"]) for e in receiver.events()}
    assert {
        ("CONTACT", "CREATE"),
        ("CONTACT", "UPDATE"),
        ("INVOICE", "CREATE"),
        ("CREDITNOTE", "CREATE"),
        ("CREDITNOTE", "UPDATE"),
    } <= categories
    assert any(r["body"]["events"] == [] for r in receiver.received)  # intent to receive


def test_logged_response_bodies_are_bounded(monkeypatch):
    from xero_sandbox import sandbox as sandbox_module
    from xero_sandbox.wire import Request, Response

    monkeypatch.setattr(sandbox_module, "RESPONSE_BODY_CAP", 10)
    monkeypatch.setattr(sandbox_module, "RESPONSE_BODIES_BUDGET", 25)
    box = sandbox_module.Sandbox()
    entries = []
    for _ in range(3):
        entry = box.log_request(Request("GET", f"{API}/Contacts", {}, {}))
        box.log_response(entry, Response(body=b"x" * 12))
        entries.append(entry)
    assert entries[-1]["response_body"] == "x" * 10 and entries[-1]["response_truncated"]
    assert entries[0]["response_body"] is None  # evicted: 3 x 10 bytes > 25
    assert entries[1]["response_body"] == "x" * 10


def test_numbers_and_dates_are_written_the_way_xeros_examples_write_them(
    xero_sandbox, client, tenant, contact_id
):
    # Styles the schema cannot express, taken from the spec's own response examples.
    invoice = make_invoice(client, contact_id, "CT-STYLE")
    client.accounting.create_payment(tenant, pay(invoice.invoice_id, "10.00"))
    note = make_credit_note(client, contact_id)
    client.accounting.create_payment(tenant, sdk_refund(note.credit_note_id, "1.00"))
    client.accounting.get_invoice(tenant, invoice.invoice_id)
    client.accounting.get_payments(tenant)
    client.accounting.get_credit_note(tenant, note.credit_note_id)
    rows = xero_sandbox.requests(method="GET", responses=True)
    for row in rows:
        text = row["response_body"]
        assert re.search(r'"DateTimeUTC":"/Date\(\d+\)/"', text), "envelope DateTimeUTC"
        for quantity in re.findall(r'"Quantity":([\d.]+)', text):
            assert re.fullmatch(r"\d+\.\d{4}", quantity), f"Quantity {quantity} not 4 dp"
        for rate in re.findall(r'"CurrencyRate":([\d.]+)', text):
            assert re.fullmatch(r"\d+\.\d{6}", rate), f"CurrencyRate {rate} not 6 dp"
        for plural in ("Invoices", "Payments", "CreditNotes"):
            for entity in json.loads(text).get(plural, []):
                digits = re.search(r"\d+", entity["UpdatedDateUTC"])
                assert digits, entity["UpdatedDateUTC"]
                ms = int(digits.group())
                expected = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
                assert entity["UpdatedDateUTCString"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {r["path"].split("/")[3] for r in rows} == {"Invoices", "Payments", "CreditNotes"}
