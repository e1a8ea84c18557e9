"""Hypothesis strategies for what Xero may send, drawn from the official spec's schemas
(xero_sandbox/specs/xero_accounting.yaml) with hypothesis-jsonschema: every field the spec
names for the object, of the spec's type (strings of any length the spec allows, any unicode,
control characters and NUL included; numbers of any size; the spec's enum values), each
optional, nested objects resolved a level or two deep.

The spec is OpenAPI 3.0, not JSON Schema: its own keywords are translated. Xero's MS-JSON
dates (x-is-msdate, x-is-msdate-time) are mostly well-formed and sometimes any text, which is
what a client must survive."""

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

SPEC = Path(__file__).resolve().parent.parent / "xero_sandbox" / "specs" / "xero_accounting.yaml"
DROPPED = {"description", "example", "readOnly", "default", "externalDocs", "xml"}
MAX_ITEMS = 3


@cache
def _schemas() -> dict:
    with SPEC.open() as spec:
        return yaml.safe_load(spec)["components"]["schemas"]


def _ms_dates():
    moments = st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
    well_formed = moments.map(lambda m: f"/Date({int(m.timestamp() * 1000)}+0000)/")
    return st.one_of(well_formed, well_formed, st.text(max_size=30))


# Formats under names of our own: hypothesis-jsonschema checks values of the standard ones
# (uuid, date), and a client must survive the odd one too.
FORMATS = {
    "xero-ms-date": _ms_dates(),
    "xero-uuid": st.one_of(st.uuids().map(str), st.uuids().map(str), st.text(max_size=80)),
    "xero-date": st.one_of(st.dates().map(str), st.text(max_size=20)),
    "xero-date-time": st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30)),
}
RENAMED = {"uuid": "xero-uuid", "date": "xero-date", "date-time": "xero-date-time"}


def json_schema(name: str, *, depth: int = 1, only: tuple[str, ...] | None = None) -> dict:
    """The spec's schema `name` as JSON Schema: $refs resolved `depth` objects down (deeper
    objects become empty objects), OpenAPI's own keywords translated, no properties beyond
    the spec's, at most MAX_ITEMS items in an array. `only` keeps those top-level fields."""
    schema = _translate(_schemas()[name], depth)
    if only is not None:
        schema["properties"] = {k: v for k, v in schema["properties"].items() if k in only}
    return schema


def _translate(node: dict, depth: int) -> dict:
    if "$ref" in node:
        target = node["$ref"].rsplit("/", 1)[-1]
        resolved = _schemas()[target]
        if resolved.get("type", "object") == "object" and "properties" in resolved:
            if depth <= 0:
                return {"type": "object", "properties": {}, "additionalProperties": False}
            return _translate(resolved, depth - 1)
        return _translate(resolved, depth)
    out = {k: v for k, v in node.items() if k not in DROPPED and not k.startswith("x-")}
    if node.get("x-is-msdate") or node.get("x-is-msdate-time"):
        out["format"] = "xero-ms-date"
    if out.get("format") in RENAMED:
        out["format"] = RENAMED[out["format"]]
    if out.get("format") not in (None, *FORMATS):
        del out["format"]
    if "properties" in out:
        out["properties"] = {k: _translate(v, depth) for k, v in out["properties"].items()}
        out["type"] = "object"
        out["additionalProperties"] = False
        out.pop("required", None)  # any field may be missing
    if "items" in out:
        out["items"] = _translate(out["items"], depth)
        out["maxItems"] = min(out.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    return out


def records(name: str, **kwargs):
    """A strategy for one `name` object as Xero may send it."""
    return from_schema(json_schema(name, **kwargs), custom_formats=FORMATS)


CONTACT_FIELDS = (
    "ContactID",
    "MergedToContactID",
    "ContactNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Phones",
    "Addresses",
    "IsSupplier",
    "IsCustomer",
    "UpdatedDateUTC",
    "DefaultCurrency",
    "Website",
    "Discount",
)
INVOICE_FIELDS = (
    "Type",
    "InvoiceID",
    "InvoiceNumber",
    "Reference",
    "Status",
    "Contact",
    "Date",
    "DueDate",
    "LineAmountTypes",
    "LineItems",
    "CurrencyCode",
    "SubTotal",
    "TotalTax",
    "Total",
    "AmountDue",
    "AmountPaid",
    "UpdatedDateUTC",
)
PAYMENT_FIELDS = ("PaymentID", "Amount", "Date", "Reference", "Status", "PaymentType")


def contacts():
    return records("Contact", depth=1, only=CONTACT_FIELDS)


def payments():
    return records("Payment", depth=0, only=PAYMENT_FIELDS)


def invoices():
    """Invoices with their payments (the spec's Payment, restricted to what sits on an
    invoice)."""
    return st.tuples(
        records("Invoice", depth=1, only=INVOICE_FIELDS),
        st.lists(payments(), max_size=MAX_ITEMS),
    ).map(lambda pair: {**pair[0], "Payments": pair[1]})


def tax_rates():
    return records("TaxRate", depth=1)
