"""Credit notes through the real SDK: numbering, the invoices' tax arithmetic, status rules,
allocations to invoices and refunds, each with the words Xero refuses them in."""

import datetime as dt
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Account,
    Allocations,
    Contact,
    CreditNote,
    CreditNotes,
    CurrencyCode,
    Invoice,
    Invoices,
    Payment,
    PaymentDelete,
    Payments,
)
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from tests.xero_sandbox.conftest import (
    changes,
    sdk_allocation,
    sdk_credit_note,
    sdk_line,
    sdk_refund,
)
from xero_sandbox.accounting import credit_notes as rules
from xero_sandbox.accounting.invoices import ALLOCATED, BAD_STATUS
from xero_sandbox.accounting.payments import EXCEEDS


@pytest.fixture
def contacts(xero_sandbox, tenant):
    return [c["ContactID"] for c in xero_sandbox.contacts(tenant)[:2]]


def make_credit_note(client, contact_id, unit="40.00", status="AUTHORISED", **extra):
    made = client.accounting.create_credit_notes(
        client.tenant_id,
        CreditNotes(credit_notes=[sdk_credit_note(contact_id, unit, status, **extra)]),
    )
    return made.credit_notes[0]


def make_invoice(client, contact_id, unit="100.00", status="AUTHORISED", kind="ACCREC", **extra):
    sales = kind == "ACCREC"
    line = sdk_line(unit, "OUTPUT2", "200") if sales else sdk_line(unit, "INPUT2", "400")
    invoice = Invoice(
        type=kind,
        contact=Contact(contact_id=contact_id),
        date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 31),
        status=status,
        line_items=[line],
        **extra,
    )
    return client.accounting.create_invoices(
        client.tenant_id, Invoices(invoices=[invoice])
    ).invoices[0]


def allocate(client, credit_note_id, *allocations, summarize_errors=None):
    kwargs = {} if summarize_errors is None else {"summarize_errors": summarize_errors}
    return client.accounting.create_credit_note_allocation(
        client.tenant_id, credit_note_id, Allocations(allocations=list(allocations)), **kwargs
    ).allocations


def messages(element) -> list[str]:
    return [e.message for e in element.validation_errors or []]


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(AccountingBadRequestException) as error:
        call(*args, **kwargs)
    return error.value.reason


# --- credit notes ----------------------------------------------------------------------------


def test_sales_credit_notes_are_numbered_and_totalled_like_invoices(client, tenant, contacts):
    made = client.accounting.create_credit_notes(
        tenant,
        CreditNotes(
            credit_notes=[
                sdk_credit_note(contacts[0], "40.00", "DRAFT"),
                sdk_credit_note(contacts[0], "0.10", credit_note_number="CN-0002"),
                sdk_credit_note(contacts[0], "10.00", kind="ACCPAYCREDIT"),
            ]
        ),
    ).credit_notes
    assert [c.credit_note_number for c in made] == ["CN-0001", "CN-0002", ""]
    assert [(c.sub_total, c.total_tax, c.total) for c in made] == [
        (Decimal("40.00"), Decimal("6.00"), Decimal("46.00")),
        (Decimal("0.10"), Decimal("0.02"), Decimal("0.12")),  # 0.015 rounds half up
        (Decimal("10.00"), Decimal("1.50"), Decimal("11.50")),
    ]
    assert [c.remaining_credit for c in made] == [c.total for c in made]
    assert [c.status for c in made] == ["DRAFT", "AUTHORISED", "AUTHORISED"]
    assert made[0].line_items[0].line_item_id and made[0].date == dt.date(2026, 3, 5)
    # The next number allocated skips the one a client chose.
    assert make_credit_note(client, contacts[0]).credit_note_number == "CN-0003"


def test_credit_note_numbers_are_unique_per_element_or_the_whole_call(
    client, tenant, contacts, xero_sandbox
):
    make_credit_note(client, contacts[0], credit_note_number="CN-77")
    batch = CreditNotes(
        credit_notes=[
            sdk_credit_note(contacts[0], credit_note_number="cn-77"),
            sdk_credit_note(contacts[0], credit_note_number="CN-78"),
        ]
    )
    result = client.accounting.create_credit_notes(tenant, batch, summarize_errors=False)
    assert [c.status_attribute_string for c in result.credit_notes] == ["ERROR", "OK"]
    assert messages(result.credit_notes[0]) == [rules.NOT_UNIQUE]
    batch.credit_notes[1].credit_note_number = "CN-79"
    assert refused(client.accounting.create_credit_notes, tenant, batch) == rules.NOT_UNIQUE
    numbers = {c["CreditNoteNumber"] for c in xero_sandbox.credit_notes(tenant)}
    assert numbers == {"CN-77", "CN-78", "CN-79"}  # the valid element was still created


def test_an_unknown_credit_note_is_xeros_element_error_or_a_404(client, tenant, contacts):
    missing = "00000000-0000-0000-0000-0000000000cc"
    sent = sdk_credit_note(contacts[0], credit_note_id=missing)
    result = client.accounting.update_or_create_credit_notes(
        tenant, CreditNotes(credit_notes=[sent]), summarize_errors=False
    ).credit_notes[0]
    assert messages(result) == [rules.NOT_FOUND]
    with pytest.raises(NotFoundException):
        client.accounting.update_credit_note(tenant, missing, CreditNotes(credit_notes=[sent]))
    with pytest.raises(NotFoundException):
        client.accounting.get_credit_note(tenant, missing)


def test_status_rules_edit_approve_delete_void(client, tenant, contacts):
    update = client.accounting.update_credit_note
    draft = make_credit_note(client, contacts[0], status="DRAFT")
    edited = update(
        tenant,
        draft.credit_note_id,
        CreditNotes(credit_notes=[CreditNote(reference="Edited", line_items=[sdk_line("50.00")])]),
    ).credit_notes[0]
    assert (edited.reference, edited.total, edited.status) == ("Edited", Decimal("57.50"), "DRAFT")
    deleted = update(tenant, draft.credit_note_id, changes(status="DELETED")).credit_notes[0]
    assert deleted.status == "DELETED" and deleted.remaining_credit == 0
    assert (
        refused(
            update,
            tenant,
            draft.credit_note_id,
            changes(reference="x"),
        )
        == BAD_STATUS
    )
    approved = make_credit_note(client, contacts[0], status="SUBMITTED")
    approved = update(tenant, approved.credit_note_id, changes(status="AUTHORISED")).credit_notes[0]
    assert approved.status == "AUTHORISED"
    assert (
        refused(
            update,
            tenant,
            approved.credit_note_id,
            changes(status="DELETED"),
        )
        == BAD_STATUS
    )
    voided = update(tenant, approved.credit_note_id, changes(status="VOIDED")).credit_notes[0]
    assert voided.status == "VOIDED" and voided.remaining_credit == 0


def test_a_credit_note_is_voided_only_without_allocations_or_refunds(client, tenant, contacts):
    invoice = make_invoice(client, contacts[0])
    allocated = make_credit_note(client, contacts[0])
    made = allocate(client, allocated.credit_note_id, sdk_allocation(invoice.invoice_id, "10.00"))
    void = changes(status="VOIDED")
    update = client.accounting.update_credit_note
    assert refused(update, tenant, allocated.credit_note_id, void) == ALLOCATED
    edit = changes(reference="changed")
    assert refused(update, tenant, allocated.credit_note_id, edit) == ALLOCATED
    client.accounting.delete_credit_note_allocations(
        tenant, allocated.credit_note_id, made[0].allocation_id
    )
    assert update(tenant, allocated.credit_note_id, void).credit_notes[0].status == "VOIDED"

    refunded = make_credit_note(client, contacts[0])
    client.accounting.create_payment(tenant, sdk_refund(refunded.credit_note_id, "1.00"))
    assert refused(update, tenant, refunded.credit_note_id, void) == ALLOCATED


def test_get_credit_notes_pages_filters_and_orders(client, tenant, contacts, xero_sandbox):
    made = [
        make_credit_note(client, contacts[0], unit=u, status=s)
        for u, s in (("10.00", "DRAFT"), ("20.00", "AUTHORISED"), ("30.00", "AUTHORISED"))
    ]
    get = client.accounting.get_credit_notes
    paged = get(tenant, page=2, page_size=2)
    assert paged.pagination.item_count == 3 and paged.pagination.page_count == 2
    assert [c.credit_note_id for c in paged.credit_notes] == [made[2].credit_note_id]
    assert paged.credit_notes[0].line_items  # line items come with paging
    assert not get(tenant).credit_notes[0].line_items  # unpaged: first page, no lines
    drafts = get(tenant, where='Status=="DRAFT"', page=1).credit_notes
    assert [c.credit_note_id for c in drafts] == [made[0].credit_note_id]
    ordered = get(tenant, order="CreditNoteNumber DESC", page=1).credit_notes
    assert [c.credit_note_number for c in ordered] == ["CN-0003", "CN-0002", "CN-0001"]
    one = get(tenant, where=f'CreditNoteID==Guid("{made[1].credit_note_id}")', page=1)
    assert [c.total for c in one.credit_notes] == [Decimal("23.00")]
    since = dt.datetime.fromtimestamp(xero_sandbox.clock()["epoch"], dt.UTC)
    xero_sandbox.advance(seconds=5)
    client.accounting.update_credit_note(tenant, made[0].credit_note_id, changes(reference="late"))
    later = get(tenant, if_modified_since=since, page=1).credit_notes
    assert [c.credit_note_id for c in later] == [made[0].credit_note_id]
    by_number = client.accounting.get_credit_note(tenant, "CN-0002").credit_notes[0]
    assert by_number.credit_note_id == made[1].credit_note_id


def test_ids_is_not_a_credit_note_filter_unless_configured(
    http, xero_sandbox, client, tenant, contacts
):
    from tests.xero_sandbox.conftest import api

    made = [make_credit_note(client, contacts[0]) for _ in range(2)]
    token = xero_sandbox.token_for(tenant)
    answer = api(
        http,
        xero_sandbox,
        "GET",
        "/CreditNotes",
        token,
        tenant,
        IDs=made[0].credit_note_id,
        page="1",
    )
    assert answer.status == 400 and b"IDs is not a filter of GET /CreditNotes" in answer.data
    xero_sandbox.configure(credit_note_ids="filter")
    answer = api(
        http, xero_sandbox, "GET", "/CreditNotes", token, tenant, IDs=made[0].credit_note_id
    )
    assert answer.status == 200 and answer.data.count(b'"CreditNoteID"') == 1


def test_the_same_idempotency_key_creates_one_credit_note(client, tenant, contacts, xero_sandbox):
    batch = CreditNotes(credit_notes=[sdk_credit_note(contacts[0])])
    first = client.accounting.create_credit_notes(tenant, batch, idempotency_key="cn-key-1")
    again = client.accounting.create_credit_notes(tenant, batch, idempotency_key="cn-key-1")
    assert first.credit_notes[0].credit_note_id == again.credit_notes[0].credit_note_id
    assert len(xero_sandbox.credit_notes(tenant)) == 1


# --- allocations -----------------------------------------------------------------------------


def test_allocations_reduce_the_due_and_the_credit_and_are_listed_on_both(client, tenant, contacts):
    invoice = make_invoice(client, contacts[0])  # 115.00
    first = make_credit_note(client, contacts[0])  # 46.00
    made = allocate(client, first.credit_note_id, sdk_allocation(invoice.invoice_id, "46.00"))[0]
    assert made.amount == Decimal("46.00") and made.allocation_id
    assert made.invoice.invoice_id == invoice.invoice_id
    note = client.accounting.get_credit_note(tenant, first.credit_note_id).credit_notes[0]
    assert (note.status, note.remaining_credit) == ("PAID", Decimal("0.00"))
    assert note.fully_paid_on_date == dt.date(2026, 3, 6)
    assert [(a.allocation_id, a.amount, a.invoice.invoice_id) for a in note.allocations] == [
        (made.allocation_id, Decimal("46.00"), invoice.invoice_id)
    ]
    after = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (after.status, after.amount_credited, after.amount_due) == (
        "AUTHORISED",
        Decimal("46.00"),
        Decimal("69.00"),
    )
    assert [(c.credit_note_id, c.applied_amount) for c in after.credit_notes] == [
        (first.credit_note_id, Decimal("46.00"))
    ]

    second = make_credit_note(client, contacts[0], unit="100.00")  # 115.00
    allocate(client, second.credit_note_id, sdk_allocation(invoice.invoice_id, "69.00"))
    paid = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (paid.status, paid.amount_due, paid.amount_credited) == (
        "PAID",
        Decimal("0.00"),
        Decimal("115.00"),
    )
    assert paid.fully_paid_on_date == dt.date(2026, 3, 6)
    rest = client.accounting.get_credit_note(tenant, second.credit_note_id).credit_notes[0]
    assert (rest.status, rest.remaining_credit) == ("AUTHORISED", Decimal("46.00"))

    client.accounting.delete_credit_note_allocations(
        tenant, first.credit_note_id, made.allocation_id
    )
    undone = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert (undone.status, undone.amount_due, undone.fully_paid_on_date) == (
        "AUTHORISED",
        Decimal("46.00"),
        None,
    )
    assert [c.credit_note_id for c in undone.credit_notes] == [second.credit_note_id]
    back = client.accounting.get_credit_note(tenant, first.credit_note_id).credit_notes[0]
    assert (back.status, back.remaining_credit, back.allocations) == (
        "AUTHORISED",
        Decimal("46.00"),
        [],
    )


def test_an_allocation_is_no_larger_than_the_due_nor_the_remaining_credit(client, tenant, contacts):
    invoice = make_invoice(client, contacts[0])  # 115.00 due
    small = make_credit_note(client, contacts[0])  # 46.00 of credit
    large = make_credit_note(client, contacts[0], unit="200.00")  # 230.00 of credit
    over_credit = allocate(
        client,
        small.credit_note_id,
        sdk_allocation(invoice.invoice_id, "46.01"),
        summarize_errors=False,
    )[0]
    assert messages(over_credit) == [rules.OVER_CREDIT]
    over_due = allocate(
        client,
        large.credit_note_id,
        sdk_allocation(invoice.invoice_id, "115.01"),
        summarize_errors=False,
    )[0]
    assert messages(over_due) == [rules.OVER_DUE]
    zero = allocate(
        client,
        large.credit_note_id,
        sdk_allocation(invoice.invoice_id, "0"),
        summarize_errors=False,
    )[0]
    assert messages(zero) == [rules.NO_AMOUNT]
    untouched = client.accounting.get_invoice(tenant, invoice.invoice_id).invoices[0]
    assert untouched.amount_due == Decimal("115.00") and untouched.amount_credited == 0


def test_no_allocation_across_currencies_contacts_or_kinds(client, tenant, contacts):
    note = make_credit_note(client, contacts[0])
    other_currency = make_invoice(client, contacts[0], currency_code=CurrencyCode.AUD)
    other_contact = make_invoice(client, contacts[1])
    bill = make_invoice(client, contacts[0], kind="ACCPAY")
    result = allocate(
        client,
        note.credit_note_id,
        sdk_allocation(other_currency.invoice_id, "1.00"),
        sdk_allocation(other_contact.invoice_id, "1.00"),
        sdk_allocation(bill.invoice_id, "1.00"),
        summarize_errors=False,
    )
    assert [messages(a) for a in result] == [
        [rules.OTHER_CURRENCY],
        [rules.OTHER_CONTACT],
        [rules.WRONG_TYPE],
    ]
    # Without summarizeErrors one refusal is the whole call's 400, in Xero's words.
    reason = refused(
        allocate, client, note.credit_note_id, sdk_allocation(other_contact.invoice_id, "1.00")
    )
    assert reason == rules.OTHER_CONTACT
    assert client.accounting.get_credit_note(tenant, note.credit_note_id).credit_notes[
        0
    ].remaining_credit == Decimal("46.00")


def test_only_approved_credit_notes_go_to_approved_unpaid_invoices(client, tenant, contacts):
    invoice = make_invoice(client, contacts[0])
    draft_invoice = make_invoice(client, contacts[0], status="DRAFT")
    draft_note = make_credit_note(client, contacts[0], status="DRAFT")
    note = make_credit_note(client, contacts[0])
    assert messages(
        allocate(
            client,
            draft_note.credit_note_id,
            sdk_allocation(invoice.invoice_id, "1"),
            summarize_errors=False,
        )[0]
    ) == [rules.NOT_APPROVED]
    assert messages(
        allocate(
            client,
            note.credit_note_id,
            sdk_allocation(draft_invoice.invoice_id, "1"),
            summarize_errors=False,
        )[0]
    ) == [rules.INVOICE_NOT_APPROVED]
    client.accounting.create_payment(
        tenant,
        Payment(
            invoice=Invoice(invoice_id=invoice.invoice_id),
            account=Account(code="090"),
            date=dt.date(2026, 3, 2),
            amount=Decimal("115.00"),
        ),
    )
    paid_off = allocate(
        client, note.credit_note_id, sdk_allocation(invoice.invoice_id, "1"), summarize_errors=False
    )[0]
    # What Xero answered for a paid invoice (xeroizer#320): both sentences.
    assert messages(paid_off) == [rules.PAID_OFF, rules.OVER_DUE]
    missing = allocate(
        client,
        note.credit_note_id,
        sdk_allocation("00000000-0000-0000-0000-000000000001", "1"),
        summarize_errors=False,
    )[0]
    assert messages(missing) == [rules.NO_INVOICE]


def test_deleting_an_unknown_allocation_is_a_404(client, tenant, contacts):
    note = make_credit_note(client, contacts[0])
    with pytest.raises(NotFoundException):
        client.accounting.delete_credit_note_allocations(
            tenant, note.credit_note_id, "00000000-0000-0000-0000-000000000002"
        )


# --- refunds ---------------------------------------------------------------------------------


def test_a_refund_is_a_payment_against_the_credit_note(client, tenant, contacts, xero_sandbox):
    note = make_credit_note(client, contacts[0])  # 46.00
    first = client.accounting.create_payment(
        tenant, sdk_refund(note.credit_note_id, "6.00")
    ).payments[0]
    assert first.payment_type == "ARCREDITPAYMENT"
    # Xero shows the credit note refunded under Payment.Invoice (the spec's examples).
    assert (first.invoice.type, first.invoice.invoice_id, first.invoice.invoice_number) == (
        "ACCRECCREDIT",
        note.credit_note_id,
        "CN-0001",
    )
    partly = client.accounting.get_credit_note(tenant, note.credit_note_id).credit_notes[0]
    assert (partly.status, partly.remaining_credit) == ("AUTHORISED", Decimal("40.00"))
    assert [(p.payment_id, p.amount) for p in partly.payments] == [
        (first.payment_id, Decimal("6.00"))
    ]
    batch = Payments(
        payments=[
            sdk_refund(note.credit_note_id, "40.01"),
            sdk_refund(note.credit_note_id, "40.00", "615"),
        ]
    )
    results = client.accounting.create_payments(tenant, batch, summarize_errors=False).payments
    assert [p.status_attribute_string for p in results] == ["ERROR", "OK"]
    assert messages(results[0]) == [EXCEEDS]
    done = client.accounting.get_credit_note(tenant, note.credit_note_id).credit_notes[0]
    assert (done.status, done.remaining_credit, done.fully_paid_on_date) == (
        "PAID",
        Decimal("0.00"),
        dt.date(2026, 3, 9),
    )
    listed = {p.payment_id: p.payment_type for p in client.accounting.get_payments(tenant).payments}
    assert set(listed.values()) == {"ARCREDITPAYMENT"} and len(listed) == 2
    client.accounting.delete_payment(tenant, results[1].payment_id, PaymentDelete(status="DELETED"))
    back = client.accounting.get_credit_note(tenant, note.credit_note_id).credit_notes[0]
    assert (back.status, back.remaining_credit, back.fully_paid_on_date) == (
        "AUTHORISED",
        Decimal("40.00"),
        None,
    )


def test_a_refund_beyond_the_remaining_credit_or_of_a_draft_is_refused(client, tenant, contacts):
    note = make_credit_note(client, contacts[0])
    invoice = make_invoice(client, contacts[0])
    allocate(client, note.credit_note_id, sdk_allocation(invoice.invoice_id, "40.00"))
    assert (
        refused(client.accounting.create_payment, tenant, sdk_refund(note.credit_note_id, "6.01"))
        == EXCEEDS
    )
    draft = make_credit_note(client, contacts[0], status="DRAFT")
    assert (
        refused(client.accounting.create_payment, tenant, sdk_refund(draft.credit_note_id, "1.00"))
        == "Payments can only be made against Authorised documents"
    )
    left = client.accounting.get_credit_note(tenant, note.credit_note_id).credit_notes[0]
    assert left.remaining_credit == Decimal("6.00") and left.payments == []
