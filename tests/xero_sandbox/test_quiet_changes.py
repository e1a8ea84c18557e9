"""Drift on purpose, the sandbox's side: every change "in Xero" can be made quiet, without a
webhook. It still reaches every GET, with UpdatedDateUTC moved, so an If-Modified-Since poll finds
it: what a reconciliation must catch when a webhook never came."""

import datetime as dt
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, Contacts

from tests.xero_sandbox.conftest import credit_note_body, invoice_body, line
from xero_sandbox.handle import ControlError


@pytest.fixture
def client(xero_sandbox, raw):
    return xero_sandbox.sdk(raw.tenant)


@pytest.fixture
def tenant(raw):
    return raw.tenant


@pytest.fixture
def contact_id(xero_sandbox, tenant):
    return xero_sandbox.contacts(tenant)[0]["ContactID"]


class Quiet:
    """Marks a moment, then checks that nothing was emitted since and what a poll sees."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.mark()

    def mark(self) -> dt.datetime:
        self.events = len(self.sandbox.webhook_events())
        since = self.sandbox.clock()["epoch"]
        self.sandbox.advance(seconds=1)
        self.since = dt.datetime.fromtimestamp(since, dt.UTC)
        return self.since

    def no_webhook(self) -> None:
        assert self.sandbox.webhook_events()[self.events :] == []


def test_contacts_changed_quietly_reach_polls_without_a_webhook(xero_sandbox, client, tenant):
    quiet = Quiet(xero_sandbox)
    stored = xero_sandbox.contacts(tenant)
    renamed, archived = stored[1]["ContactID"], stored[2]["ContactID"]
    made = xero_sandbox.create_contact(tenant, Name="Quietly Made Ltd", quiet=True)
    xero_sandbox.edit_contact(tenant, renamed, Name="Quietly Renamed Ltd", quiet=True)
    xero_sandbox.edit_contact(tenant, archived, ContactStatus="ARCHIVED", quiet=True)
    quiet.no_webhook()
    polled = client.accounting.get_contacts(
        tenant, if_modified_since=quiet.since, include_archived=True, page=1
    ).contacts
    assert {c.contact_id: (c.name, c.contact_status) for c in polled} == {
        made["ContactID"]: ("Quietly Made Ltd", "ACTIVE"),
        renamed: ("Quietly Renamed Ltd", "ACTIVE"),
        archived: (stored[2]["Name"], "ARCHIVED"),
    }
    assert all(c.updated_date_utc > quiet.since for c in polled)
    # The same change made aloud tells of itself.
    xero_sandbox.edit_contact(tenant, renamed, Name="Loudly Renamed Ltd")
    assert [e["resourceId"] for e in xero_sandbox.webhook_events()[quiet.events :]] == [renamed]


def invoices_since(client, tenant, quiet) -> dict:
    found = client.accounting.get_invoices(tenant, if_modified_since=quiet.since, page=1)
    return {i.invoice_id: i for i in found.invoices}


def test_invoices_edited_paid_unpaid_and_voided_quietly_reach_polls(
    xero_sandbox, client, raw, tenant, contact_id
):
    _, made = raw.invoice(invoice_body(contact_id))  # 100.00 + 15% = 115.00, aloud
    invoice_id = made["InvoiceID"]
    quiet = Quiet(xero_sandbox)
    xero_sandbox.edit_invoice(tenant, invoice_id, LineItems=[line(unit="200.00")], quiet=True)
    edited = invoices_since(client, tenant, quiet)[invoice_id]
    assert edited.total == Decimal("230.00") and edited.updated_date_utc > quiet.since

    quiet.mark()
    paid = xero_sandbox.pay_invoice(tenant, invoice_id, "30.00", "090", quiet=True)
    assert invoices_since(client, tenant, quiet)[invoice_id].amount_due == Decimal("200.00")
    payments = client.accounting.get_payments(tenant, if_modified_since=quiet.since).payments
    assert [p.payment_id for p in payments] == [paid["PaymentID"]]

    quiet.mark()
    xero_sandbox.delete_payment(tenant, paid["PaymentID"], quiet=True)
    assert invoices_since(client, tenant, quiet)[invoice_id].amount_due == Decimal("230.00")
    (deleted,) = client.accounting.get_payments(tenant, if_modified_since=quiet.since).payments
    assert deleted.status == "DELETED"

    quiet.mark()
    xero_sandbox.void_invoice(tenant, invoice_id, quiet=True)
    assert invoices_since(client, tenant, quiet)[invoice_id].status == "VOIDED"
    quiet.events = 0
    assert [e["eventType"] for e in xero_sandbox.webhook_events()] == ["CREATE"]  # the API's


def test_credit_notes_changed_quietly_reach_polls(xero_sandbox, client, raw, tenant, contact_id):
    _, invoice = raw.invoice(invoice_body(contact_id))
    invoice_id = invoice["InvoiceID"]
    quiet = Quiet(xero_sandbox)
    note = xero_sandbox.create_credit_note(
        tenant, credit_note_body(contact_id, status="DRAFT"), quiet=True
    )
    note_id = note["CreditNoteID"]
    xero_sandbox.edit_credit_note(tenant, note_id, Status="AUTHORISED", quiet=True)
    allocation = xero_sandbox.allocate_credit_note(tenant, note_id, invoice_id, "20.00", quiet=True)
    refund = xero_sandbox.refund_credit_note(tenant, note_id, "6.00", "090", quiet=True)

    def polled():
        found = client.accounting.get_credit_notes(tenant, if_modified_since=quiet.since, page=1)
        return {c.credit_note_id: c for c in found.credit_notes}

    seen = polled()[note_id]
    assert (seen.status, seen.remaining_credit) == ("AUTHORISED", Decimal("20.00"))
    assert invoices_since(client, tenant, quiet)[invoice_id].amount_credited == 20

    quiet.mark()
    xero_sandbox.remove_allocation(tenant, note_id, allocation["AllocationID"], quiet=True)
    xero_sandbox.delete_payment(tenant, refund["PaymentID"], quiet=True)
    assert polled()[note_id].remaining_credit == Decimal("46.00")
    assert invoices_since(client, tenant, quiet)[invoice_id].amount_due == 115

    quiet.mark()
    xero_sandbox.void_credit_note(tenant, note_id, quiet=True)
    assert polled()[note_id].status == "VOIDED"
    quiet.events = 0
    assert [e["eventCategory"] for e in xero_sandbox.webhook_events()] == ["INVOICE"]


def test_a_quiet_change_is_still_refused_as_xero_would(xero_sandbox, client, tenant):
    """Quiet changes keep every rule: only the webhook is left out."""
    first, second = client.accounting.create_contacts(
        tenant, Contacts(contacts=[Contact(name="Quiet One Ltd"), Contact(name="Quiet Two Ltd")])
    ).contacts
    with pytest.raises(ControlError) as refused:
        xero_sandbox.edit_contact(tenant, first.contact_id, Name="Quiet Two Ltd", quiet=True)
    assert "already assigned to another contact" in refused.value.body["errors"][0]
    with pytest.raises(ControlError):
        xero_sandbox.delete_payment(tenant, "00000000-0000-0000-0000-000000000001", quiet=True)
