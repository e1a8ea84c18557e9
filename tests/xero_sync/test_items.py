"""Products as Xero items: a product on an invoice line is created in Xero just in time (one
PUT /Items a batch, under a stored idempotency key) or linked to Xero's item of the same code,
never duplicated; its lines carry the ItemCode. Items made in Xero come in as products (at
connection and on "Refresh items from Xero"), an odd record held, never fatal."""

import json
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
from invoices.models import EventSource, Product
from invoices.services import LineInput, invoice_create, invoice_issue, product_create
from xero_sync.client.shapes import ItemBody
from xero_sync.connection.calls import xero_client_for
from xero_sync.invoices.batch import batch_claim
from xero_sync.invoices.drain import invoices_drain
from xero_sync.invoices.items_link import items_link
from xero_sync.models import (
    InvoiceSync,
    InvoiceSyncState,
    QuarantinedRecord,
    QuarantineKind,
    XeroItem,
)

from ..factories import client_for, contact_make
from ..support.exchanges import API, Exchanges
from ..support.invoices import due_in, in_xero

ITEMS = f"{API}/Items"


def product_line(product, quantity="2") -> LineInput:
    return LineInput(
        description=product.description or product.name,
        quantity=Decimal(quantity),
        unit_price=product.unit_price,
        tax_rate=product.tax_rate,
        product=product,
    )


def issued(account, *lines):
    contact = Contact.objects.filter(account=account, email="ruth@x.example").first()
    contact = contact or contact_make(
        account, first_name="Ruth", last_name="Tane", email="ruth@x.example"
    )
    invoice = invoice_create(
        account=account, contact=contact, name="Gas work", lines=list(lines), due_date=due_in(20)
    )
    return invoice_issue(invoice=invoice)


def items_coded(xero, connection, code: str) -> list[dict]:
    items = xero.state(connection.tenant_id, "items")["Items"]
    return [i for i in items if i["Code"].lower() == code.lower()]


def synced(invoice) -> InvoiceSync:
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.SYNCED, (sync.state, sync.error)
    return sync


@pytest.mark.django_db
def test_a_product_line_creates_its_item_once_and_every_line_sends_its_code(
    ready, xero, account, tasks_inline
):
    connection, gst = ready
    product = product_create(
        account=account,
        code="GAS-CERT",
        name="Gas certificate",
        description="Gas safety certificate",
        unit_price=Decimal("120.00"),
        tax_rate=gst,
    )
    free_text = LineInput(
        description="Parking", quantity=Decimal(1), unit_price=Decimal(8), tax_rate=gst
    )
    log = Exchanges(xero)
    with tasks_inline():
        first = issued(account, product_line(product), free_text)
    (made,) = items_coded(xero, connection, "GAS-CERT")
    assert made["Name"] == "Gas certificate" and made["IsSold"] is True
    sales = made["SalesDetails"]
    assert (Decimal(str(sales["UnitPrice"])), sales["TaxType"], sales["AccountCode"]) == (
        Decimal("120.00"),
        "OUTPUT2",
        connection.sales_account_code,
    )
    link = XeroItem.objects.get(connection=connection, product=product)
    assert (link.xero_item_id, link.code) == (made["ItemID"], "GAS-CERT")
    synced(first)
    theirs = in_xero(xero, connection, first)
    coded, plain = theirs["LineItems"]
    assert coded["ItemCode"] == "GAS-CERT" and coded["Item"]["ItemID"] == made["ItemID"]
    assert "ItemCode" not in plain
    assert Decimal(str(theirs["Total"])) == first.total == Decimal("285.20")
    # The create went under an idempotency key, as every Xero write does.
    (put,) = xero.requests(method="PUT", path=ITEMS)
    assert put["headers"]["idempotency-key"].startswith("crm-items-")
    # A second invoice with the product sends its code and creates nothing.
    with tasks_inline():
        second = issued(account, product_line(product, "1"))
    synced(second)
    assert in_xero(xero, connection, second)["LineItems"][0]["ItemCode"] == "GAS-CERT"
    assert len(xero.requests(method="PUT", path=ITEMS)) == 1
    assert len(items_coded(xero, connection, "GAS-CERT")) == 1
    # Every request and answer, as the official spec has them.
    log.validated(
        expect=[
            ("PUT", ITEMS, 200),
            ("POST", f"{API}/Invoices", 200),
            ("POST", f"{API}/Invoices", 200),
        ]
    )


@pytest.mark.django_db
def test_a_code_xero_already_holds_is_linked_to_its_item_never_duplicated(
    ready, xero, account, tasks_inline
):
    """LAB-HR was made in Xero and never imported: Xero refuses the create as a duplicate,
    and the product is linked to Xero's item instead."""
    connection, gst = ready
    product = product_create(
        account=account, code="LAB-HR", name="Labour", unit_price=Decimal(90), tax_rate=gst
    )
    (theirs,) = items_coded(xero, connection, "LAB-HR")
    log = Exchanges(xero)
    with tasks_inline():
        invoice = issued(account, product_line(product))
    synced(invoice)
    assert items_coded(xero, connection, "LAB-HR") == [theirs]  # still the one
    link = XeroItem.objects.get(connection=connection, product=product)
    assert (link.xero_item_id, link.code) == (theirs["ItemID"], "LAB-HR")
    line = in_xero(xero, connection, invoice)["LineItems"][0]
    assert line["ItemCode"] == "LAB-HR" and Decimal(str(line["UnitAmount"])) == Decimal(90)
    log.validated(
        expect=[("PUT", ITEMS, 200), ("GET", ITEMS, 200), ("POST", f"{API}/Invoices", 200)]
    )


@pytest.mark.django_db
def test_a_product_xero_refuses_fails_only_the_invoices_using_it_with_its_page(
    ready, xero, account, tasks_inline
):
    connection, gst = ready
    wrong = product_create(
        account=account,
        code="BAD-ACC",
        name="Odd",
        unit_price=Decimal(5),
        sales_account_code="999",
        tax_rate=gst,
    )
    free_text = LineInput(
        description="Labour", quantity=Decimal(1), unit_price=Decimal(50), tax_rate=gst
    )
    with tasks_inline(), transaction.atomic():  # one batch
        refused = issued(account, product_line(wrong))
        fine = issued(account, free_text)
    synced(fine)
    sync = InvoiceSync.objects.get(invoice=refused)
    assert sync.state == InvoiceSyncState.FAILED and sync.error_cause == "item"
    assert "BAD-ACC" in sync.error and "Account code '999' is not a valid code" in sync.error
    assert sync.fix_url == reverse("invoices:product_edit", args=[account.slug, wrong.pk])
    assert not XeroItem.objects.filter(product=wrong).exists()
    assert items_coded(xero, connection, "BAD-ACC") == []


@pytest.mark.django_db
def test_linking_items_takes_the_same_queries_however_many_invoices_and_products(
    ready, xero, account
):
    """items_link reads a batch's lines and links in a fixed number of queries."""
    connection, gst = ready

    def queries(n: int) -> int:
        with transaction.atomic():
            for k in range(n):
                product = product_create(
                    account=account,
                    code=f"Q{n}-{k}",
                    name="Part",
                    unit_price=Decimal(k + 1),
                    tax_rate=gst,
                )
                issued(account, product_line(product), product_line(product, "3"))
        rows = batch_claim(connection)
        assert len(rows) == n
        client = xero_client_for(connection)
        with CaptureQueriesContext(db_connection) as captured:
            codes = items_link(client, connection, rows)
        assert len(codes) == n
        InvoiceSync.objects.all().delete()  # out of the next round's batch
        return len(captured)

    assert queries(1) == queries(4)


@pytest.mark.django_db
def test_items_made_in_xero_come_in_as_products_and_a_refresh_adds_only_whats_new(
    ready, xero, account, staff_user
):
    connection, gst = ready
    mine = product_create(account=account, code="callout", name="Our call-out", unit_price=70)
    refresh = reverse("xero_sync:items_refresh", args=[account.slug])
    log = Exchanges(xero)
    response = client_for(staff_user).post(refresh, follow=True)
    assert "Items from Xero: 2 new products, 1 linked by code" in response.content.decode()
    assert "1 not sold in Xero, left out" in response.content.decode()
    labour = Product.objects.get(account=account, code="LAB-HR")
    assert (labour.name, labour.unit_price, labour.tax_rate, labour.made_in) == (
        "Labour (hour)",
        Decimal("95.0000"),
        gst,  # OUTPUT2 is mapped to GST 15%
        EventSource.XERO,
    )
    assert labour.description == "Labour, per hour" and labour.sales_account_code == "200"
    assert not Product.objects.filter(account=account, code="KIT-OLD").exists()  # not sold
    mine.refresh_from_db()
    assert mine.name == "Our call-out"  # linked, as the CRM has it
    assert XeroItem.objects.get(product=mine).code == "CALLOUT"
    assert Product.objects.filter(account=account).count() == 3  # 2 from Xero, 1 linked
    # The list says which are Xero items.
    products = client_for(staff_user).get(reverse("invoices:products", args=[account.slug]))
    assert products.content.decode().count('title="The Xero item of code ') == 3
    log.validated(expect=[("GET", ITEMS, 200)])
    # Again: nothing new, nothing twice.
    # Someone adds an item in Xero.
    xero_client_for(connection).items_create([ItemBody("NEW-1", "New")], idempotency_key="t-new")
    response = client_for(staff_user).post(refresh, follow=True)
    assert "1 new product, 0 linked by code, 3 already linked" in response.content.decode()
    assert Product.objects.filter(account=account).count() == 4


@pytest.mark.django_db
def test_an_odd_item_is_held_and_the_others_come_in(ready, xero, account, admin_user):
    connection, _ = ready
    items = xero.state(connection.tenant_id, "items")["Items"]
    good = next(i for i in items if i["Code"] == "VALVE-15")
    odd = [
        {"ItemID": "9a7c0e55-0000-4000-8000-000000000001", "Code": "X" * 31, "Name": "Long"},
        {
            "ItemID": "9a7c0e55-0000-4000-8000-000000000002",
            "Code": "NEG",
            "IsSold": True,
            "SalesDetails": {"UnitPrice": -4},
        },
        "not an item",
    ]
    body = json.dumps({"Items": [odd[0], good, odd[1], odd[2]]}, default=str)
    xero.fault("status", method="GET", path=ITEMS, status=200, body=body)
    response = client_for(admin_user).post(
        reverse("xero_sync:items_refresh", args=[account.slug]), follow=True
    )
    assert "1 new product" in response.content.decode()
    assert "3 held on Sync failures" in response.content.decode()
    assert Product.objects.get(account=account).code == "VALVE-15"
    held = QuarantinedRecord.objects.filter(connection=connection, kind=QuarantineKind.ITEM)
    reasons = sorted(h.reason for h in held)
    assert len(reasons) == 3
    assert any("at most 30 fit" in r for r in reasons)
    assert any("negative" in r for r in reasons)


@pytest.mark.django_db
def test_the_setup_last_step_brings_the_items_in(ready, xero, account, admin_user, tasks_inline):
    connection, _ = ready
    with tasks_inline():
        client_for(admin_user).post(
            reverse("xero_sync:setup_contacts", args=[account.slug]),
            {"scope": "all", "customers": "on", "suppliers": "on", "others": "on"},
        )
    assert set(XeroItem.objects.filter(connection=connection).values_list("code", flat=True)) == {
        "LAB-HR",
        "CALLOUT",
        "VALVE-15",
    }


@pytest.mark.django_db
def test_a_lost_answer_to_the_items_create_never_makes_a_second_item(ready, xero, account):
    """The create reached Xero but its answer was lost: the next round sends the same request
    (its stored key), and the item is linked, not made again."""
    connection, gst = ready
    product = product_create(
        account=account, code="FLUE-TEST", name="Flue test", unit_price=Decimal(60), tax_rate=gst
    )
    xero.fault("lost_response", method="PUT", path=ITEMS, count=1)
    invoice = issued(account, product_line(product, "1"))
    invoices_drain(connection.pk)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.PENDING  # Xero's answer was lost: tried again later
    InvoiceSync.objects.filter(pk=sync.pk).update(next_attempt_at=None)
    invoices_drain(connection.pk)
    synced(invoice)
    assert len(items_coded(xero, connection, "FLUE-TEST")) == 1
    keys = [r["headers"]["idempotency-key"] for r in xero.requests(method="PUT", path=ITEMS)]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert in_xero(xero, connection, invoice)["LineItems"][0]["ItemCode"] == "FLUE-TEST"
