"""The sandbox's request log checked against the official OpenAPI specs, and the SDK objects the
contract tests send."""

import datetime as dt
import urllib.parse
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, Invoice, Invoices, LineItem
from xero_python.exceptions import ApiException

from xero_sandbox import contract

API = "/api.xro/2.0"


class Exchanges:
    """The sandbox's request log from a point on, each entry validated both ways."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.mark()

    def mark(self) -> None:
        rows = self.sandbox.requests()
        self.since = rows[-1]["id"] if rows else 0

    def validated(self, expect: list[tuple[str, str, int]] | None = None) -> list[dict]:
        """Validate every contract-covered exchange logged since the mark; `expect` lists the
        (method, path glob, status) that must be among them, in order."""
        rows = [
            r
            for r in self.sandbox.requests(since_id=self.since, responses=True)
            if r["path"].startswith(API) or r["path"].lower().startswith("/connections")
        ]
        assert rows, "nothing was logged"
        for row in rows:
            validate_exchange(row)
        if expect is not None:
            seen = [(r["method"], r["path"], r["status"]) for r in rows]
            wanted = iter(expect)
            pending = next(wanted, None)
            for method, path, status in seen:
                if (
                    pending
                    and (method, status) == (pending[0], pending[2])
                    and fnmatch(path, pending[1])
                ):
                    pending = next(wanted, None)
            assert pending is None, f"expected {pending} among {seen}"
        self.mark()
        return rows


def fnmatch(path: str, pattern: str) -> bool:
    import fnmatch as _fnmatch

    return _fnmatch.fnmatch(path.lower(), pattern.lower())


def validate_exchange(row: dict) -> None:
    query = urllib.parse.urlencode(row["query"])
    url = row["path"] + (f"?{query}" if query else "")
    body = row["body"].encode() if row["body"] else None
    what = f"log #{row['id']} {row['method']} {url} -> {row['status']}"
    try:
        contract.validate_request(row["method"], url, row["headers"], body)
    except AssertionError as error:
        raise AssertionError(f"{what}: the REQUEST broke the contract\n{error}") from None
    assert row["response_body"] is not None and not row["response_truncated"], what
    answer = row["response_body"].encode() if row["response_body"] else None
    try:
        contract.validate_response(
            row["method"],
            row["path"],
            row["status"],
            row["response_headers"],
            answer,
            undeclared_fields=True,
        )
    except AssertionError as error:
        raise AssertionError(f"{what}: the RESPONSE broke the contract\n{error}") from None


def sdk_line(unit="100.00", account="200", tax="OUTPUT2"):
    return LineItem(
        description="Work",
        quantity=Decimal("1"),
        unit_amount=Decimal(unit),
        account_code=account,
        tax_type=tax,
    )


def sdk_invoice(contact_id, number=None, status="AUTHORISED", lines=None):
    kwargs = {"invoice_number": number} if number else {}
    return Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=dt.date(2026, 3, 1),
        due_date=dt.date(2026, 3, 31),
        status=status,
        line_items=lines or [sdk_line()],
        **kwargs,
    )


def make_invoice(client, contact_id, number=None, status="AUTHORISED") -> Invoice:
    made = client.accounting.create_invoices(
        client.tenant_id, Invoices(invoices=[sdk_invoice(contact_id, number, status)])
    )
    return made.invoices[0]


def raises(call, *args, **kwargs) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value
