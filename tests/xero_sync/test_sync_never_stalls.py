"""One odd record from Xero, or one refusal inside a drain, never stops an organisation's sync (each
case against the sandbox through the real SDK)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from invoices.services import payment_record
from xero_sync.client import XeroClient
from xero_sync.client.errors import BadAnswer, XeroError
from xero_sync.contacts import pull
from xero_sync.invoices import drain as invoice_drain
from xero_sync.invoices import from_xero
from xero_sync.invoices import outbox as invoice_outbox
from xero_sync.models import (
    ImportStatus,
    InvoiceSync,
    InvoiceSyncState,
    QuarantinedRecord,
    QuarantineKind,
    XeroConnection,
    XeroContact,
)
from xero_sync.taxes import services as tax_services

from ..factories import client_for, contact_make
from ..support.contacts import contacts_page_answer
from ..support.invoices import in_xero, issue
from .conftest import KIWI, connect, run_import

DASHES = "5 5 5 0 1 7 7 " + "-" * 37  # 51 characters, as typed in Xero


def odd_contacts(xero, tenant):
    """The two contacts that stopped every import and poll: a phone written with spaces and
    dashes, and a Name holding a NUL byte."""
    dashes = xero.create_contact(
        tenant,
        Name="Dash Phones Ltd",
        Phones=[{"PhoneType": "DEFAULT", "PhoneAreaCode": "021", "PhoneNumber": DASHES}],
    )
    nul = xero.create_contact(tenant, Name="Nul\x00 Byte Ltd")
    return dashes, nul


def stored(xero_contact: dict) -> Contact:
    return XeroContact.objects.get(xero_contact_id=xero_contact["ContactID"]).contact


@pytest.mark.django_db
def test_one_odd_contact_never_stops_the_import_or_the_poll(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    tenant = xero.tenant_id(KIWI)
    dashes, nul = odd_contacts(xero, tenant)
    run = run_import(connection)
    assert run.status == ImportStatus.DONE and run.percent == 100
    assert run.created == len([c for c in xero.contacts(tenant) if c["ContactStatus"] == "ACTIVE"])
    assert stored(dashes).phone == f"021 {DASHES}"  # the whole phone, as typed
    assert stored(nul).company_name == "Nul Byte Ltd"
    # The poll, too, goes past them and applies the changes around them.
    xero.edit_contact(tenant, nul["ContactID"], EmailAddress="nul\x00@x.example")
    other = next(c for c in xero.contacts(tenant) if c["Name"] == "Aroha Ngata")
    xero.edit_contact(tenant, other["ContactID"], EmailAddress="aroha@new.example")
    before = XeroConnection.objects.get(pk=connection.pk).contacts_synced_until
    assert before is not None
    pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
    assert stored(other).email == "aroha@new.example"
    assert stored(nul).email == "nul@x.example"
    after = XeroConnection.objects.get(pk=connection.pk).contacts_synced_until
    assert after is not None and after > before
    assert not QuarantinedRecord.objects.exists()


@pytest.mark.django_db
def test_a_contact_that_cannot_be_stored_is_quarantined_and_its_page_goes_on(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    tenant = xero.tenant_id(KIWI)
    no_id = {"Name": "No Id Holdings", "ContactStatus": "ACTIVE"}
    not_an_object = "a string where a contact should be"
    body = contacts_page_answer(xero, tenant, no_id, not_an_object)
    xero.fault("status", method="GET", path="/api.xro/2.0/Contacts", status=200, body=body)
    run = run_import(connection)
    assert run.status == ImportStatus.DONE
    active = [c for c in xero.contacts(tenant) if c["ContactStatus"] == "ACTIVE"]
    assert run.created == len(active) and run.quarantined == 2
    held = QuarantinedRecord.objects.filter(connection=connection).order_by("label")
    assert [(h.kind, h.source, h.resolved_at) for h in held] == [
        (QuarantineKind.CONTACT, "import", None)
    ] * 2
    assert [h.label for h in held] == ["", "No Id Holdings"]
    assert "without a ContactID" in held[1].reason
    assert json.loads(held[1].raw) == no_id


@pytest.mark.django_db
def test_a_record_the_database_refuses_is_found_and_quarantined_alone(xero, account, admin_user):
    """A value the mapper lets through but PostgreSQL refuses costs that record only: the page
    is applied in halves down to it."""
    connection = connect(xero, account, admin_user)
    tenant = xero.tenant_id(KIWI)
    # A merge target too odd to be a Xero id makes this record unreadable; its neighbours are
    # fine. (The mapper refuses it before the database does; both end the same way.)
    odd = {"ContactID": "odd-1", "Name": "Odd Merge", "MergedToContactID": "x" * 80}
    xero.fault(
        "status",
        method="GET",
        path="/api.xro/2.0/Contacts",
        status=200,
        body=contacts_page_answer(xero, tenant, odd),
    )
    run = run_import(connection)
    assert run.status == ImportStatus.DONE and run.quarantined == 1
    (held,) = QuarantinedRecord.objects.all()
    assert held.xero_id == "odd-1" and "at most 64 fit" in held.reason


@pytest.mark.django_db
def test_a_long_payment_reference_never_stops_payments_coming_back(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        first = issue(account, gst)
        second = issue(account, gst, contact_make(account, first_name="Second", last_name="One"))
    first_id = InvoiceSync.objects.get(invoice=first).xero_invoice_id
    second_id = InvoiceSync.objects.get(invoice=second).xero_invoice_id
    long_reference = "Bank ref " + "0123456789" * 40  # Xero sets no maximum
    xero.control(
        "POST",
        f"/orgs/{connection.tenant_id}/invoices/{first_id}/payments",
        {"Amount": "10.00", "Reference": long_reference},
    )
    xero.pay_invoice(connection.tenant_id, second_id, amount=Decimal("20.00"))
    with tasks_inline():
        from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
    first.refresh_from_db()
    second.refresh_from_db()
    (payment,) = first.payments.all()
    assert payment.amount == Decimal("10.00") and len(payment.reference) == 255
    assert payment.reference.startswith("Paid in Xero (Bank ref 0123456789")
    assert payment.reference.endswith("…)")
    assert second.amount_paid == Decimal("20.00")
    # The webhook path takes the same way.
    xero.control(
        "POST",
        f"/orgs/{connection.tenant_id}/invoices/{second_id}/payments",
        {"Amount": "1.00", "Reference": long_reference},
    )
    with tasks_inline():
        from_xero.invoice_update_from_xero(connection, second_id)
    second.refresh_from_db()
    assert second.amount_paid == Decimal("21.00")


@pytest.mark.django_db
def test_an_invoice_xero_sends_oddly_is_quarantined_and_the_rest_of_the_poll_goes_on(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount=Decimal("5.00"))
    ours = in_xero(xero, connection, invoice)
    odd_payment = {"PaymentID": "p-odd", "Amount": "1e400", "Status": "AUTHORISED"}
    ours["Payments"] = [*ours.get("Payments", []), odd_payment]
    page = {
        "Invoices": [
            {"InvoiceNumber": "NO-ID", "Type": "ACCREC"},  # no InvoiceID
            ours,
        ]
    }
    xero.fault(
        "status", method="GET", path="/api.xro/2.0/Invoices", status=200, body=json.dumps(page)
    )
    with tasks_inline():
        from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("5.00")  # the readable payment arrived
    held = {(h.kind, h.label) for h in QuarantinedRecord.objects.all()}
    assert held == {
        (QuarantineKind.INVOICE, "NO-ID"),
        (QuarantineKind.PAYMENT, f"Payment on invoice {invoice.number}"),
    }
    payment = QuarantinedRecord.objects.get(kind=QuarantineKind.PAYMENT)
    assert payment.parent_xero_id == sync.xero_invoice_id and "out of range" in payment.reason
    # Seen again on the next poll: one listing, counted twice.
    xero.fault(
        "status", method="GET", path="/api.xro/2.0/Invoices", status=200, body=json.dumps(page)
    )
    with tasks_inline():
        from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
    assert QuarantinedRecord.objects.get(kind=QuarantineKind.INVOICE).times_seen == 2


VALIDATION_400 = json.dumps(
    {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Email address must be valid."}]}],
    }
)


@pytest.mark.django_db
def test_a_refused_contact_fails_its_invoices_with_xeros_words_and_is_not_repeated(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    mail.outbox.clear()
    xero.fault(
        "status", method="PUT", path="/api.xro/2.0/Contacts", status=400, body=VALIDATION_400
    )
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert (sync.state, sync.error_cause, sync.outcome_unknown) == (
        InvoiceSyncState.FAILED,
        "contact",
        False,
    )
    assert "Email address must be valid." in sync.error
    assert len(mail.outbox) == 1
    # The next drain finds nothing to do: the PUT is not sent again.
    xero.clear_requests()
    with tasks_inline():
        invoice_drain.invoices_drain(connection.pk)
    assert xero.requests(method="PUT", path="/api.xro/2.0/Contacts") == []


@pytest.mark.django_db
def test_a_refused_invoice_request_fails_its_rows_never_leaves_them_unknown(
    ready,
    account,
    xero,
    tasks_inline,
):
    xero.fault(
        "status", method="POST", path="/api.xro/2.0/Invoices", status=400, body=VALIDATION_400
    )
    with tasks_inline():
        invoice = issue(account, ready[1])
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED and not sync.outcome_unknown
    assert "Email address must be valid." in sync.error


@pytest.mark.django_db
def test_an_answer_the_sdk_cannot_read_is_a_typed_error(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    # xero-python's own parsing (the connections list is still read through its models).
    bad_date = json.dumps([{"id": "c1", "tenantId": "t1", "createdDateUtc": "yesterday-ish"}])
    xero.fault("status", method="GET", path="/connections", status=200, body=bad_date)
    with pytest.raises(BadAnswer, match="could not be read"):
        XeroClient(connection).connections()
    # Read as JSON by us, an odd date is simply not read: the chart still comes.
    bad_date = json.dumps(
        {"Accounts": [{"AccountID": "a", "Code": "200", "UpdatedDateUTC": "/Date(abc)/"}]}
    )
    xero.fault("status", method="GET", path="/api.xro/2.0/Accounts", status=200, body=bad_date)
    assert [a.code for a in XeroClient(connection).ledger_accounts()] == ["200"]
    for body in ("<html>maintenance</html>", "[1, 2]", "[" * 100_000):
        xero.fault("status", method="GET", path="/api.xro/2.0/Contacts", status=200, body=body)
        with pytest.raises(XeroError):
            XeroClient(connection).contacts_page(1)
    xero.fault("status", method="GET", path="/api.xro/2.0/Contacts", status=400, body="not json")
    with pytest.raises(XeroError):
        XeroClient(connection).contacts_page(1)


@pytest.mark.django_db
def test_a_tax_rate_beyond_its_column_is_quarantined_and_the_others_refresh(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    rates = XeroClient(connection).tax_rates()
    huge = {**rates[0], "TaxType": "HUGE", "Name": "Huge rate", "EffectiveRate": 123456.7}
    body = json.dumps({"TaxRates": [*rates, huge]}, default=str)
    xero.fault("status", method="GET", path="/api.xro/2.0/TaxRates", status=200, body=body)
    stored_rates = tax_services.xero_tax_rates_refresh(connection)
    assert len(stored_rates) == len(rates)
    (held,) = QuarantinedRecord.objects.all()
    assert (held.kind, held.xero_id, held.label) == (QuarantineKind.TAX_RATE, "HUGE", "Huge rate")


@pytest.mark.django_db
def test_retry_after_a_fix_is_a_new_request_not_a_replayed_refusal(
    ready,
    account,
    xero,
    tasks_inline,
):
    """Refused for a sales account Xero does not have; the admin picks another and presses
    Retry: a new body is a new key (Xero would replay the first refusal for a day)."""
    connection, gst = ready
    XeroConnection.objects.filter(pk=connection.pk).update(sales_account_code="999")
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "sales_account"
    XeroConnection.objects.filter(pk=connection.pk).update(sales_account_code="200")
    with tasks_inline():
        invoice_outbox.invoice_sync_retry(sync)
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
    posts = xero.requests(method="POST", path="/api.xro/2.0/Invoices")
    keys = [r["headers"].get("idempotency-key") for r in posts]
    assert len(set(keys)) == len(keys) == 2


def sales_account_in_xero(xero, tenant: str, status: str) -> None:
    """Archive (or restore) the Sales account 200 "in Xero", everything else kept."""
    org = xero.state(tenant)
    for account in org["Accounts"]:
        if account.get("Code") == "200":
            account["Status"] = status
    xero.seed(
        data=[{key: org[key] for key in ("Organisation", "Contacts", "Accounts", "TaxRates")}]
    )


@pytest.mark.django_db
def test_retry_with_the_same_body_after_a_fix_in_xero_is_a_new_request(
    ready,
    account,
    xero,
    tasks_inline,
):
    """Refused because the sales account is archived in Xero; someone restores it there and
    presses Retry: the body is the same, the request is new (a person's Retry is in the key)."""
    connection, gst = ready
    sales_account_in_xero(xero, connection.tenant_id, "ARCHIVED")
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "sales_account"
    sales_account_in_xero(xero, connection.tenant_id, "ACTIVE")
    with tasks_inline():
        invoice_outbox.invoice_sync_retry(sync)
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
    posts = xero.requests(method="POST", path="/api.xro/2.0/Invoices")
    bodies = {r["body"] for r in posts}
    keys = {r["headers"].get("idempotency-key") for r in posts}
    assert len(posts) == 2 and len(bodies) == 1 and len(keys) == 2


@pytest.mark.django_db
def test_the_group_filter_stays_true_as_contacts_join_and_leave_groups(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    tenant = xero.tenant_id(KIWI)
    vip = next(
        g
        for g in xero.state(tenant, "contact_groups")["ContactGroups"]
        if g["Name"] == "VIP customers"
    )
    # Not in the group at the import: left out by the filter.
    joining = xero.create_contact(tenant, Name="Newly VIP Ltd", EmailAddress="vip@new.example")
    run_import(connection, groups=[vip["ContactGroupID"]])
    assert not XeroContact.objects.filter(xero_contact_id=joining["ContactID"]).exists()
    leaving = vip["Contacts"][0]
    sdk = xero.sdk(tenant)
    sdk.accounting.create_contact_group_contacts(
        tenant, vip["ContactGroupID"], {"Contacts": [{"ContactID": joining["ContactID"]}]}
    )
    sdk.accounting.delete_contact_group_contact(tenant, vip["ContactGroupID"], leaving)
    # Joining a group changes nothing Xero's If-Modified-Since sees: only the poll's look at
    # the groups finds it. (Here the contact itself last changed long before the last poll.)
    XeroConnection.objects.filter(pk=connection.pk).update(
        contacts_synced_until=timezone.now() + timedelta(hours=1)
    )
    xero.clear_requests()
    pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
    assert stored(joining).company_name == "Newly VIP Ltd"
    (by_id,) = by_ids(xero)
    assert by_id["query"]["IDs"] == joining["ContactID"]
    left = XeroContact.objects.get(xero_contact_id=leaving)
    assert left.outside_filter_since is not None and not left.contact.is_archived
    page = client_for(admin_user).get(
        reverse("contacts:detail", args=[account.slug, left.contact_id])
    )
    assert "No longer in the Xero contact groups chosen for import" in page.content.decode()
    # Back in the group: the mark goes.
    sdk.accounting.create_contact_group_contacts(
        tenant, vip["ContactGroupID"], {"Contacts": [{"ContactID": leaving}]}
    )
    xero.clear_requests()
    pull.contacts_poll(XeroConnection.objects.get(pk=connection.pk))
    left.refresh_from_db()
    assert left.outside_filter_since is None
    assert by_ids(xero) == []  # nobody new joined: no contact was fetched by id


def by_ids(xero):
    return [r for r in xero.requests(path="/api.xro/2.0/Contacts") if "IDs" in r["query"]]


@pytest.mark.django_db
def test_what_we_send_matches_the_spec_booleans_and_no_answer_only_fields(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    xero.clear_requests()
    with tasks_inline():
        invoice = issue(account, gst)
        payment_record(invoice=invoice, amount=Decimal("10.00"))
    run_import(XeroConnection.objects.get(pk=connection.pk))
    sent = xero.requests(path="/api.xro/2.0/*")
    flags = [
        value
        for request in sent
        for key, value in request["query"].items()
        if key in ("summarizeErrors", "includeArchived")
    ]
    assert flags and set(flags) <= {"true", "false"}
    writes = [r for r in sent if r["method"] in ("PUT", "POST")]
    assert {r["path"] for r in writes} == {
        "/api.xro/2.0/Contacts",
        "/api.xro/2.0/Invoices",
        "/api.xro/2.0/Payments",
    }
    for request in writes:
        for field in ("HasAttachments", "HasErrors", "HasValidationErrors", "HasAccount"):
            assert f'"{field}"' not in request["body"], (request["path"], field)
