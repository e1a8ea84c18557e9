"""Invoices for the Xero sync tests: the `ready` fixture (connected, GST mapped), invoices
issued in the CRM, invoices typed straight into Xero, the invoice poll, and the invoice form's
POST data."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from invoices.models import Invoice
from invoices.services import LineInput, invoice_create, invoice_issue
from xero_sync.invoices import from_xero
from xero_sync.models import InvoiceSync, XeroConnection
from xero_sync.taxes import services as tax_services

from ..factories import contact_make, tax_rate_make
from ..xero_sync.conftest import connect


def due_in(days: int) -> datetime.date:
    """A due date `days` after today: invoices are issued today, and Xero refuses a due date
    before the issue date, so a fixed date would turn every such test red once it has passed."""
    return timezone.localdate() + datetime.timedelta(days=days)


@pytest.fixture
def ready(xero, account, admin_user):
    """Connected, payment account chosen, GST 15% mapped to OUTPUT2."""
    connection = connect(xero, account, admin_user)
    gst = tax_rate_make(account, "GST 15%", ("GST", Decimal(15), False))
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=admin_user
    )
    return connection, gst


def lines(gst):
    return [
        LineInput(
            description="Call-out", quantity=Decimal(1), unit_price=Decimal("120.00"), tax_rate=gst
        ),
        LineInput(
            description="Washers",
            quantity=Decimal("2.5"),
            unit_price=Decimal("3.3333"),
            discount_rate=Decimal(10),
            tax_rate=gst,
        ),
    ]


def issue(account, gst, contact=None, **fields):
    contact = contact or contact_make(
        account, first_name="Ruth", last_name="Tane", email="ruth@x.example"
    )
    invoice = invoice_create(
        account=account,
        contact=contact,
        name="Bathroom repair",
        lines=lines(gst),
        due_date=due_in(22),
        **fields,
    )
    return invoice_issue(invoice=invoice)


def in_xero(xero, connection, invoice):
    sync = InvoiceSync.objects.get(invoice=invoice)
    found = [
        i for i in xero.invoices(connection.tenant_id) if i["InvoiceID"] == sync.xero_invoice_id
    ]
    return found[0] if found else None


def issue_many(account, gst, contact, count: int) -> list[Invoice]:
    """`count` invoices issued in one transaction, as an import or a recurring run does.
    `contact` may be a list: the invoices then take turns among its contacts."""
    contacts = contact if isinstance(contact, list) else [contact]
    made = []
    with transaction.atomic():
        for n in range(count):
            invoice = invoice_create(
                account=account,
                contact=contacts[n % len(contacts)],
                name=f"Service {n}",
                due_date=due_in(29),
                lines=[
                    LineInput(
                        description="Labour",
                        quantity=Decimal(1),
                        unit_price=Decimal("100.00") + n,
                        tax_rate=gst,
                    )
                ],
            )
            made.append(invoice_issue(invoice=invoice))
    return made


def typed_in_xero(xero, tenant_id: str, *numbers: str) -> None:
    """Sales invoices someone typed straight into Xero, one per number."""
    someone = xero.create_contact(tenant_id, Name="Walk-in customer")
    for number in numbers:
        xero.create_invoice(
            tenant_id,
            {
                "Type": "ACCREC",
                "InvoiceNumber": number,
                "Contact": {"ContactID": someone["ContactID"]},
                "LineItems": [{"Description": "Typed in Xero", "UnitAmount": 10, "Quantity": 1}],
            },
        )


def poll(connection) -> int:
    return from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))


def form_data(contact, *lines, **header):
    """POST data for the invoice form: header fields, then line rows as dicts."""
    data = {
        "contact": contact.pk if contact else "",
        "name": "Kitchen tap",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-21",
        "currency": "NZD",
        "tax_mode": "exclusive",
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": sum(1 for line in lines if line.get("id")),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 1000,
        **header,
    }
    for i, line in enumerate(lines):
        row = {"description": "", "quantity": "1", "unit_price": "", "discount_rate": "0"}
        row.update(line)
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = "" if value is None else value
    return data
