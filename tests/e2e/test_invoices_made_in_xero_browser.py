"""A sales invoice and a credit note typed into Xero (the sandbox) show in the CRM within
seconds: by webhook, processed by a real worker; and another pair, made with webhooks off, by
the poll (the beat's task, run by the worker). The sandbox's request log shows nothing went
back to Xero."""

import time
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from invoices.models import CreditNote, EventSource, Invoice
from platform_crm.models import Role
from platform_crm.queueing import enqueue
from xero_sync.models import InvoiceSync
from xero_sync.taxes import services as tax_services

from ..browser import log_in, screenshots
from ..factories import account_create, tax_rate_make, user_create
from ..support.xero import point_at_sandbox
from ..xero_sync.conftest import connect

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sales_invoice(customer: dict, reference: str) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": customer["ContactID"]},
        "Date": "2026-11-20",
        "DueDate": "2026-12-20",
        "Reference": reference,
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Gutter clean",
                "Quantity": 3,
                "UnitAmount": 48.65,
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],
    }


def credit_note(customer: dict, reference: str) -> dict:
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": customer["ContactID"]},
        "Date": "2026-11-22",
        "Reference": reference,
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "One gutter not cleaned",
                "Quantity": 1,
                "UnitAmount": 40,
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],  # 46.00
    }


def credited_in_xero(xero, tenant: str, customer: dict, invoice: dict, *, quiet: bool) -> dict:
    """A credit note made in Xero, 30.00 of it set against `invoice` and the rest refunded."""
    note = xero.create_credit_note(tenant, credit_note(customer, "Missed a gutter"), quiet=quiet)
    xero.allocate_credit_note(
        tenant, note["CreditNoteID"], invoice["InvoiceID"], "30.00", quiet=quiet
    )
    xero.refund_credit_note(tenant, note["CreditNoteID"], account_code="090", quiet=quiet)
    return note


def writes_to_xero(xero) -> list[dict]:
    return [r for r in xero.requests(path="/api.xro/2.0/*") if r["method"] in ("PUT", "POST")]


def test_invoices_made_in_xero_arrive_by_webhook_and_by_poll_and_nothing_is_echoed(
    page, live_server, settings, xero_sandbox, celery_worker
):
    xero = xero_sandbox
    point_at_sandbox(settings, xero)
    settings.XERO_INVOICE_URL = f"{xero.url}/orgs/{{tenant_id}}/invoices/{{invoice_id}}"
    account = account_create(name="Kiwi Plumbing")
    admin = user_create(account=account, role=Role.ADMIN)
    staff = user_create(account=account, role=Role.STAFF)
    connection = connect(xero, account, admin)
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    tenant = connection.tenant_id
    xero.webhooks(url=f"{live_server.url}/xero/webhooks/", key=settings.XERO_WEBHOOK_KEY)
    xero.clear_requests()

    # By webhook: typed in Xero (a new customer too), then credited there in part and the
    # rest refunded; Xero tells us; the worker brings both in.
    customer = xero.create_contact(tenant, Name="Rangi Gardens")
    by_webhook = xero.create_invoice(tenant, sales_invoice(customer, "Webhook gutters"))
    note_by_webhook = credited_in_xero(xero, tenant, customer, by_webhook, quiet=False)
    started = time.monotonic()
    xero.flush_webhooks()
    invoice = celery_worker.wait_for(
        lambda: Invoice.objects.filter(account=account, number=by_webhook["InvoiceNumber"]).first(),
        timeout=30,
    )
    celery_worker.wait_for(
        lambda: CreditNote.objects.filter(
            invoice=invoice, number=note_by_webhook["CreditNoteNumber"], refund_amount=16
        ).first(),
        timeout=30,
    )
    webhook_seconds = time.monotonic() - started
    assert webhook_seconds < 10, webhook_seconds
    log_in(page, live_server.url, staff)
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/{invoice.pk}/")
    expect(page.locator("#made-in-xero")).to_have_text("Made in Xero")
    expect(page.locator("#sync-state")).to_have_text("In Xero")
    expect(page.locator("#invoice-status")).to_have_text("Partially paid")  # 30.00 credited
    expect(page.locator("body")).to_contain_text("Rangi Gardens")
    expect(page.locator("body")).to_contain_text(str(D(str(by_webhook["Total"]))))
    credit_row = page.locator(f'[data-credit-note="{note_by_webhook["CreditNoteNumber"]}"]')
    expect(credit_row).to_contain_text("46.00")
    expect(credit_row.locator(".credit-note-by")).to_have_text("In Xero")
    expect(page.locator("#amount-credited")).to_have_text("30.00")
    [owed] = [i for i in xero.invoices(tenant) if i["InvoiceID"] == by_webhook["InvoiceID"]]
    expect(page.locator("#amount-due")).to_have_text(f"{D(str(owed['AmountDue'])):.2f} NZD")
    screenshots(page, "made-in-xero-invoice")

    # By poll: webhooks off for this pair (quiet); the beat's poll finds both.
    by_poll = xero.create_invoice(tenant, sales_invoice(customer, "Polled gutters"), quiet=True)
    note_by_poll = credited_in_xero(xero, tenant, customer, by_poll, quiet=True)
    quiet_ids = {by_poll["InvoiceID"], note_by_poll["CreditNoteID"]}
    assert not any(e.get("resourceId") in quiet_ids for e in xero.webhook_events()), (
        "a quiet change must send no webhook"
    )
    started = time.monotonic()
    enqueue("xero_sync.tasks.invoices_poll_task")
    polled = celery_worker.wait_for(
        lambda: Invoice.objects.filter(account=account, number=by_poll["InvoiceNumber"]).first(),
        timeout=30,
    )
    polled_note = celery_worker.wait_for(
        lambda: CreditNote.objects.filter(
            invoice=polled, number=note_by_poll["CreditNoteNumber"]
        ).first(),
        timeout=30,
    )
    poll_seconds = time.monotonic() - started
    assert poll_seconds < 10, poll_seconds
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/")
    expect(page.locator("body")).to_contain_text(polled.number)
    page.goto(f"{live_server.url}/a/{account.slug}/invoices/{polled.pk}/")
    expect(page.locator("#made-in-xero")).to_have_text("Made in Xero")
    credit_row = page.locator(f'[data-credit-note="{polled_note.number}"]')
    expect(credit_row.locator(".credit-note-by")).to_have_text("In Xero")
    expect(page.locator("#amount-credited")).to_have_text("30.00")
    screenshots(page, "made-in-xero-credit-note")

    # Both are Xero's to the cent, on one contact, and nothing went back to Xero.
    for made, crm in ((by_webhook, invoice), (by_poll, polled)):
        crm.refresh_from_db()
        assert (crm.subtotal, crm.total_tax, crm.total) == (
            D(str(made["SubTotal"])),
            D(str(made["TotalTax"])),
            D(str(made["Total"])),
        )
        assert InvoiceSync.objects.get(invoice=crm).xero_invoice_id == made["InvoiceID"]
        [owed] = [i for i in xero.invoices(tenant) if i["InvoiceID"] == made["InvoiceID"]]
        assert (crm.amount_credited, crm.amount_due) == (
            D(str(owed["AmountCredited"])),
            D(str(owed["AmountDue"])),
        )
    for made in (note_by_webhook, note_by_poll):
        note = CreditNote.objects.get(number=made["CreditNoteNumber"])
        assert note.made_in == EventSource.XERO
        assert (note.total, note.amount_allocated, note.refund_amount) == (
            D("46.00"),
            D("30.00"),
            D("16.00"),
        )
    assert invoice.contact_id == polled.contact_id
    time.sleep(1)  # a push queued by mistake would have gone out by now
    assert writes_to_xero(xero) == []
    assert len(xero.invoices(tenant)) == 2 and len(xero.credit_notes(tenant)) == 2


def test_past_invoices_are_previewed_then_brought_in_with_a_progress_bar(
    page, live_server, settings, xero_sandbox, celery_worker
):
    xero = xero_sandbox
    point_at_sandbox(settings, xero)
    xero.seed(
        [
            {
                "name": "Past Books Ltd",
                "n_contacts": 40,
                "n_invoices": 120,
                "n_credit_notes": 20,
                "seed": 3,
            }
        ]
    )
    account = account_create(name="Past Books")
    admin = user_create(account=account, role=Role.ADMIN)
    connection = connect(xero, account, admin, org="Past Books Ltd")
    gst = tax_rate_make(account, "GST 15%", ("GST", D(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin
    )
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}/a/{account.slug}/settings/integrations/")
    page.click("#past-invoices-link")
    page.fill("#id_since", "2000-01-01")
    page.click("#preview-past")
    expect(page.locator("#past-status")).to_have_text("Ready to import", timeout=30_000)
    expect(page.locator("#past-contacts")).not_to_have_text("0")
    screenshots(page, "past-invoices-preview")
    would = int(page.locator("#past-brought-in").inner_text())
    notes_would = int(page.locator("#past-credit-notes-brought-in").inner_text())
    assert notes_would > 0
    expect(page.locator("#past-credit-notes-total")).to_contain_text("NZD")
    page.click("#past-previewed")
    expect(page.locator("#past-status")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#past-bar")).to_have_attribute("value", "100")
    screenshots(page, "past-invoices-done")
    brought = int(page.locator("#past-brought-in").inner_text())
    held = int(page.locator("#past-held").inner_text())
    assert brought + held == would and brought > 0
    assert Invoice.objects.filter(account=account).count() == brought
    notes = int(page.locator("#past-credit-notes-brought-in").inner_text())
    assert notes == notes_would == CreditNote.objects.filter(invoice__account=account).count()
