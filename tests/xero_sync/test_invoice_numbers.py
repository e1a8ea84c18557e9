"""Invoice numbers and Xero: the allocator never hands out a number Xero already holds, a
number Xero refuses as taken is fixed in one click, and a number can be edited until the
invoice reaches Xero."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from invoices.models import Invoice
from invoices.services import invoice_create, invoice_update
from xero_sync.models import InvoiceSync, InvoiceSyncState, XeroInvoiceNumber

from ..factories import client_for, contact_make, invoice_make
from ..support.invoices import in_xero, issue, poll, typed_in_xero


@pytest.mark.django_db
def test_the_allocator_never_hands_out_a_number_xero_already_holds(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    # Typed straight into Xero: 1, 2, 4 (in lower case: Xero compares numbers so) and a run of
    # 6 to 30, longer than the allocator's window.
    numbers = ["INV-0001", "INV-0002", "inv-0004", *(f"INV-{n:04d}" for n in range(6, 31))]
    typed_in_xero(xero, connection.tenant_id, *numbers)
    poll(connection)
    with tasks_inline():
        made = [issue(account, gst, contact_make(account)) for _ in range(3)]
    assert [i.number for i in made] == ["INV-0003", "INV-0005", "INV-0031"]
    syncs = InvoiceSync.objects.filter(invoice__in=made)
    assert {s.state for s in syncs} == {InvoiceSyncState.SYNCED}


@pytest.mark.django_db
def test_a_number_taken_in_xero_is_fixed_in_one_click_with_the_next_free_number(
    ready,
    account,
    xero,
    admin_user,
    tasks_inline,
):
    connection, gst = ready
    # Typed in Xero before any poll saw it: only Xero's answer can tell.
    typed_in_xero(xero, connection.tenant_id, "INV-0001")
    with tasks_inline():
        invoice = issue(account, gst)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert (invoice.number, sync.error_cause) == ("INV-0001", "number_taken")
    # Xero's refusal is remembered: the number is never handed out again.
    assert XeroInvoiceNumber.objects.filter(connection=connection, number="inv-0001").exists()
    client = client_for(admin_user)
    detail = reverse("invoices:detail", args=[account.slug, invoice.pk])
    page = client.get(detail).content.decode()
    assert 'id="sync-renumber"' in page and "Use the next free number" in page
    with tasks_inline():
        response = client.post(
            reverse("xero_sync:invoice_renumber", args=[account.slug, invoice.pk]), follow=True
        )
    assert response.redirect_chain[-1][0] == detail
    assert "Invoice INV-0001 is now INV-0002; sending it to Xero." in response.content.decode()
    invoice.refresh_from_db()
    sync.refresh_from_db()
    assert invoice.number == "INV-0002" and sync.state == InvoiceSyncState.SYNCED, sync.error
    assert in_xero(xero, connection, invoice)["InvoiceNumber"] == "INV-0002"
    assert "Number changed from INV-0001 to INV-0002" in [e.what for e in invoice.events.all()]
    # Once in Xero, there is nothing left to renumber.
    assert 'id="sync-renumber"' not in client.get(detail).content.decode()


def _edit_page(client, account, invoice) -> str:
    return client.get(reverse("invoices:edit", args=[account.slug, invoice.pk])).content.decode()


def _number_input(page: str) -> str:
    found = re.search(r'<input[^>]*name="number"[^>]*>', page)
    assert found, page
    return found.group(0)


@pytest.mark.django_db
def test_the_number_is_editable_until_the_invoice_reaches_xero_and_not_after(
    ready,
    account,
    xero,
    admin_user,
    tasks_inline,
):
    from ..support.invoices import form_data

    connection, gst = ready
    other = invoice_create(account=account, contact=contact_make(account))  # INV-0001
    InvoiceSync.objects.filter(invoice=other).delete()  # as if written before the connection
    typed_in_xero(xero, connection.tenant_id, "INV-0001", "INV-0007")
    poll(connection)
    # INV-0007 was brought in as made in Xero; removed here, Xero alone holds its number.
    Invoice.objects.filter(account=account, number="INV-0007").delete()
    with tasks_inline():
        invoice = issue(account, gst)
    assert invoice.number == "INV-0002"
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED
    # In Xero: the number shows, and cannot change.
    client = client_for(admin_user)
    page = _edit_page(client, account, invoice)
    assert "disabled" in _number_input(page)
    assert "It can no longer change: the invoice is in Xero under this number." in page
    with pytest.raises(ValidationError, match="in Xero under this number"):
        invoice_update(invoice=invoice, number="INV-0100")

    # One that never reached Xero: its number is a field like the others.
    with tasks_inline():
        stuck = invoice_make(account, tax_mode="no_tax")
    InvoiceSync.objects.filter(invoice=stuck).update(
        state=InvoiceSyncState.FAILED, xero_invoice_id="", error_cause="number_taken"
    )
    XeroInvoiceNumber.objects.filter(number=stuck.number.lower()).delete()
    assert "disabled" not in _number_input(_edit_page(client, account, stuck))
    edit = reverse("invoices:edit", args=[account.slug, stuck.pk])
    lines_data = [
        {"id": line.pk, "description": line.description, "unit_price": "100"}
        for line in stuck.lines.all()
    ]

    def post_number(number):
        data = form_data(stuck.contact, *lines_data, number=number, tax_mode="no_tax")
        data["due_date"] = stuck.due_date.isoformat()
        return client.post(edit, data)

    # Refused: a number Xero holds (any case), or another CRM invoice's.
    for taken, why in [
        ("inv-0007", "Xero already has an invoice numbered inv-0007."),
        ("inv-0001", "Another invoice is already numbered inv-0001."),
    ]:
        refused = post_number(taken).content.decode()
        assert why in refused
    with tasks_inline():
        saved = post_number("KP-2026-17")
    assert saved.status_code == 302
    stuck.refresh_from_db()
    assert stuck.number == "KP-2026-17"
    assert InvoiceSync.objects.get(invoice=stuck).state == InvoiceSyncState.SYNCED
    assert in_xero(xero, connection, stuck)["InvoiceNumber"] == "KP-2026-17"


def test_the_invoices_app_never_imports_xero_sync():
    app = Path(__file__).resolve().parents[2] / "invoices"
    imports = re.compile(r"^\s*(from|import)\s+xero_sync\b", re.M)
    assert [p.name for p in app.rglob("*.py") if imports.search(p.read_text())] == []
