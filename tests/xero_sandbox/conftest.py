"""Helpers for the sandbox's own tests: a webhook receiver, the SDK client and tenant, raw HTTP
(`raw`: one tenant's calls with Decimal answers), invoice builders, and the SDK's credit notes,
allocations and refunds."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
from xero_python.accounting import (
    Account,
    Allocation,
    Contact,
    CreditNote,
    CreditNotes,
    Invoice,
    LineItem,
    Payment,
)

import xero_sandbox.pytest_plugin  # noqa: F401 (fixtures come via tests/conftest.py)


class Receiver:
    """A webhook endpoint that verifies signatures like the product must (200 / 401)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.received: list[dict] = []
        self.fail_next = 0  # answer 500 to this many good deliveries first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = base64.b64encode(
                    hmac.new(receiver.key.encode(), raw, hashlib.sha256).digest()
                )
                good = hmac.compare_digest(
                    expected.decode(), self.headers.get("x-xero-signature", "")
                )
                status = 200 if good else 401
                if good and receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                receiver.received.append(
                    {"good": good, "status": status, "raw": raw, "body": json.loads(raw)}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/xero/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [
            e
            for r in self.received
            if r["good"] and r["status"] == 200
            for e in r["body"]["events"]
        ]


@pytest.fixture
def receiver(xero_sandbox):
    r = Receiver(xero_sandbox.webhook_key)
    xero_sandbox.webhooks(url=r.url, batch_seconds=0.05, retry_delays=[0.05, 0.1])
    yield r
    r.server.shutdown()


@pytest.fixture
def client(xero_sandbox):
    """The real SDK connected to the first org (modules may define their own)."""
    return xero_sandbox.sdk()


@pytest.fixture
def tenant(client):
    return client.tenant_id


@pytest.fixture
def http():
    return urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=5))


def api(http, sandbox, method, path, token, tenant, body=None, headers=None, **query):
    """A raw Accounting API call (urllib3), for what the SDK hides: headers, exact bodies."""
    all_headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "xero-tenant-id": tenant,
        "Accept": "application/json",
        "Content-Type": "application/json",
        **(headers or {}),
    }
    url = f"{sandbox.api_url}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    return http.request(
        method, url, body=json.dumps(body) if body is not None else None, headers=all_headers
    )


def line(
    description="Consulting", quantity="1", unit="100.00", account="200", tax="OUTPUT2", **extra
):
    return {
        "Description": description,
        "Quantity": quantity,
        "UnitAmount": unit,
        "AccountCode": account,
        "TaxType": tax,
        **extra,
    }


def invoice_body(contact_id, *lines, status="AUTHORISED", number=None, amount_types="Exclusive"):
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": "2026-03-01",
        "DueDate": "2026-03-31",
        "LineAmountTypes": amount_types,
        "Status": status,
        "LineItems": list(lines) or [line()],
    }
    if number:
        invoice["InvoiceNumber"] = number
    return invoice


def credit_note_body(contact_id, *lines, status="AUTHORISED", kind="ACCRECCREDIT"):
    """A credit note as the API takes it, dated 5 March 2026; one line of 40.00 at 15% (46.00)
    unless lines are given."""
    return {
        "Type": kind,
        "Contact": {"ContactID": contact_id},
        "Date": "2026-03-05",
        "Status": status,
        "LineItems": list(lines) or [line("Refund of part", unit="40.00")],
    }


class Raw:
    """Raw Accounting API calls for one tenant, answers parsed with Decimal money."""

    def __init__(self, http, sandbox, tenant: str) -> None:
        self.http, self.sandbox, self.tenant = http, sandbox, tenant
        self.token = sandbox.token_for(tenant)

    def __call__(self, method, path, body=None, **query) -> tuple[int, dict]:
        answer = api(self.http, self.sandbox, method, path, self.token, self.tenant, body, **query)
        is_json = "json" in answer.headers.get("Content-Type", "")
        data = json.loads(answer.data, parse_float=Decimal) if is_json and answer.data else {}
        return answer.status, data

    def invoice(self, invoice: dict, **query) -> tuple[int, dict]:
        """PUT one invoice: (status, the invoice) or (400, {"errors": [messages]})."""
        status, data = self("PUT", "/Invoices", {"Invoices": [invoice]}, **query)
        return status, (data["Invoices"][0] if status == 200 else {"errors": messages(data)})

    def credit_note(self, credit_note: dict, **query) -> tuple[int, dict]:
        """PUT one credit note: (status, the credit note) or (400, {"errors": [messages]})."""
        status, data = self("PUT", "/CreditNotes", {"CreditNotes": [credit_note]}, **query)
        return status, (data["CreditNotes"][0] if status == 200 else {"errors": messages(data)})


def messages(data: dict) -> list[str]:
    """Every ValidationErrors message of a 400 body or an element answer."""
    found = [e["Message"] for e in data.get("ValidationErrors", [])]
    for element in data.get("Elements", []):
        found += messages(element)
    return found


@pytest.fixture
def raw(http, xero_sandbox):
    return Raw(http, xero_sandbox, xero_sandbox.tenant_id("Kiwi Plumbing Ltd"))


def sdk_line(unit="100.00", tax="OUTPUT2", account="200"):
    return LineItem(
        description="Work",
        quantity=Decimal(1),
        unit_amount=Decimal(unit),
        account_code=account,
        tax_type=tax,
    )


def sdk_credit_note(contact_id, unit="40.00", status="AUTHORISED", kind="ACCRECCREDIT", **extra):
    """One line of `unit` at 15% (46.00 by default), dated 5 March 2026: OUTPUT2 on sales account
    200, or for a supplier's credit INPUT2 on expense account 400 (tax type against class)."""
    sales = kind == "ACCRECCREDIT"
    line = sdk_line(unit, "OUTPUT2", "200") if sales else sdk_line(unit, "INPUT2", "400")
    return CreditNote(
        type=kind,
        contact=Contact(contact_id=contact_id),
        date=dt.date(2026, 3, 5),
        status=status,
        line_items=[line],
        **extra,
    )


def sdk_allocation(invoice_id, amount, day=dt.date(2026, 3, 6)):
    return Allocation(invoice=Invoice(invoice_id=invoice_id), amount=Decimal(amount), date=day)


def sdk_refund(credit_note_id, amount, code="090"):
    return Payment(
        credit_note=CreditNote(credit_note_id=credit_note_id),
        account=Account(code=code),
        date=dt.date(2026, 3, 9),
        amount=Decimal(amount),
        reference="Refund",
    )


def changes(**fields) -> CreditNotes:
    """One credit note's changes, as update_credit_note takes them."""
    return CreditNotes(credit_notes=[CreditNote(**fields)])
