"""A small HTML window into the sandbox: what "appeared in Xero", plus editing a contact, paying
an invoice, and approving, allocating, refunding or voiding a credit note as a person would
(each fires webhooks)."""

import html
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from .in_xero import (
    Refused,
    allocate_credit_note_in_xero,
    pay_invoice_in_xero,
    refund_credit_note_in_xero,
    remove_allocation_in_xero,
    save_contact_in_xero,
    save_credit_note_in_xero,
)
from .msdates import parse_date
from .routes import Route
from .sandbox import Sandbox
from .store import Tenant
from .wire import Request, Response, html_response, redirect

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;display:block;max-width:100%;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f5f7}
.num{text-align:right;font-variant-numeric:tabular-nums}.error{color:#b00}nav a{margin-right:1em}
label{display:inline-block;min-width:9em}form.inline{display:inline}"""
SHOWN = 200  # rows per table on an organisation's page (a seeded org may hold 10,000 invoices)

e = html.escape


def page(title: str, body: str, status: int = 200) -> Response:
    return html_response(
        f'<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        f"<style>{STYLE}</style></head><body><nav><a href='/'>Organisations</a></nav>"
        f"<h1>{e(title)}</h1>{body}</body></html>",
        status,
    )


def _date(value: object) -> str:
    day = parse_date(value)
    return day.isoformat() if day else ""


def table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'


def orgs(sb: Sandbox, request: Request) -> Response:
    with sb.store.lock:
        rows = [
            [
                f'<a href="/orgs/{t.id}">{e(t.name)}</a>',
                e(t.id),
                e(t.organisation.get("CountryCode", "")),
                str(len(t.contacts)),
                str(len(t.invoices)),
            ]
            for t in sb.store.tenants.values()
        ]
    return page(
        "Xero sandbox",
        table(["Organisation", "Tenant id", "Country", "Contacts", "Invoices"], rows, "orgs"),
    )


def org(sb: Sandbox, request: Request) -> Response:
    q = (request.arg("q") or "").strip().lower()
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
        if tenant is None:
            return page("Not found", "<p>No such organisation.</p>", 404)
        contacts = [c for c in tenant.contacts.values() if not q or q in c["Name"].lower()][:200]
        contact_rows = [
            [
                f'<a href="/orgs/{tenant.id}/contacts/{c["ContactID"]}">{e(c["Name"])}</a>',
                e(c.get("EmailAddress", "")),
                e(c.get("ContactStatus", "")),
            ]
            for c in contacts
        ]
        group_rows = [
            [e(g["Name"]), e(g["Status"]), str(len(tenant.group_members.get(gid, [])))]
            for gid, g in tenant.contact_groups.items()
        ]
        invoices = list(tenant.invoices.values())
        invoice_rows = [
            [
                f'<a href="/orgs/{tenant.id}/invoices/{i["InvoiceID"]}">'
                f"{e(i.get('InvoiceNumber', '(none)'))}</a>",
                e(_name(tenant, i)),
                e(i["Status"]),
                _date(i["Date"]),
                f'<span class="num">{i["Total"]}</span>',
                f'<span class="num">{i.get("AmountCredited", "0.00")}</span>',
                f'<span class="num">{i["AmountDue"]}</span>',
            ]
            for i in invoices[-SHOWN:][::-1]
        ]
        credit_notes = list(tenant.credit_notes.values())
        credit_note_rows = [
            [
                f'<a href="/orgs/{tenant.id}/credit-notes/{c["CreditNoteID"]}">'
                f"{e(c.get('CreditNoteNumber') or '(none)')}</a>",
                e(_name(tenant, c)),
                e(c["Type"]),
                e(c["Status"]),
                _date(c["Date"]),
                f'<span class="num">{c["Total"]}</span>',
                f'<span class="num">{c["RemainingCredit"]}</span>',
            ]
            for c in credit_notes[-SHOWN:][::-1]
        ]
        tax_rows = [
            [
                e(r["Name"]),
                e(r["TaxType"]),
                str(r.get("EffectiveRate", "")),
                e(
                    ", ".join(
                        f"{c['Name']} {c['Rate']}%{' (compound)' if c.get('IsCompound') else ''}"
                        for c in r.get("TaxComponents", [])
                    )
                ),
            ]
            for r in tenant.tax_rates.values()
        ]
        title = tenant.name
    body = (
        f'<form method="get" id="contact-search"><label for="q">Search contacts</label>'
        f'<input id="q" name="q" value="{e(q)}"> <button>Search</button></form>'
        f"<h2>Contacts ({len(contact_rows)} shown)</h2>"
        + table(["Name", "Email", "Status"], contact_rows, "contacts")
        + "<h2>Contact groups</h2>"
        + table(["Name", "Status", "Members"], group_rows, "groups")
        + f"<h2>Invoices ({_shown(invoice_rows, invoices)})</h2>"
        + table(
            ["Number", "Contact", "Status", "Date", "Total", "Credited", "Due"],
            invoice_rows,
            "invoices",
        )
        + f"<h2>Credit notes ({_shown(credit_note_rows, credit_notes)})</h2>"
        + table(
            ["Number", "Contact", "Type", "Status", "Date", "Total", "Remaining credit"],
            credit_note_rows,
            "credit-notes",
        )
        + "<h2>Tax rates</h2>"
        + table(["Name", "TaxType", "Effective rate", "Components"], tax_rows, "tax-rates")
    )
    return page(title, body)


def _name(tenant: Tenant, document: dict[str, Any]) -> str:
    name: str = tenant.contacts.get(document["Contact"]["ContactID"], {}).get("Name", "")
    return name


def _shown(rows: list[Any], every: list[Any]) -> str:
    return f"latest {len(rows)} of {len(every)}" if len(rows) < len(every) else str(len(every))


LINE_HEADERS = ["Description", "Qty", "Unit", "Disc %", "Account", "Tax type", "Tax", "Amount"]
CONTACT_FIELDS = ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber")


def contact(sb: Sandbox, request: Request, message: str = "", status: int = 200) -> Response:
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
        found = tenant.contacts.get(request.params["id"].lower()) if tenant else None
        if tenant is None or found is None:
            return page("Not found", "<p>No such contact.</p>", 404)
        found = dict(found)
    inputs = "".join(
        f'<p><label for="{f}">{f}</label>'
        f'<input id="{f}" name="{f}" value="{e(str(found.get(f, "")))}"></p>'
        for f in CONTACT_FIELDS
    )
    archived = "checked" if found.get("ContactStatus") == "ARCHIVED" else ""
    note = f'<p class="error" id="error">{e(message)}</p>' if message else ""
    return page(
        found["Name"],
        f"""{note}<form method="post" id="contact-form">{inputs}
<p><label for="archived">Archived</label>
<input type="checkbox" id="archived" name="archived" {archived}></p>
<button type="submit" id="save" name="action" value="save">Save</button></form>
<p><a href="/orgs/{tenant.id}">Back</a></p>""",
        status,
    )


def contact_save(sb: Sandbox, request: Request) -> Response:
    form = {k: v[0] for k, v in request.form().items()}
    fields = {f: form.get(f, "") for f in CONTACT_FIELDS}
    fields["ContactStatus"] = "ARCHIVED" if form.get("archived") else "ACTIVE"
    try:
        save_contact_in_xero(sb, request.params["tenant"], fields, request.params["id"])
    except Refused as refused:
        return contact(sb, request, "; ".join(refused.messages), 400)
    return redirect(request.path + "?saved=1")


def invoice(sb: Sandbox, request: Request, message: str = "", status: int = 200) -> Response:
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
        found = tenant.invoices.get(request.params["id"].lower()) if tenant else None
        if tenant is None or found is None:
            return page("Not found", "<p>No such invoice.</p>", 404)
        found = dict(found)
        contact_name = _name(tenant, found)
        options = _account_options(tenant)
    lines = _line_rows(found)
    payments = [
        [_date(p["Date"]), f'<span class="num">{p["Amount"]}</span>', e(p.get("Reference", ""))]
        for p in found.get("Payments", [])
    ]
    credits = [
        [
            f'<a href="/orgs/{tenant.id}/credit-notes/{c["CreditNoteID"]}">'
            f"{e(c.get('CreditNoteNumber') or '(none)')}</a>",
            _date(c["Date"]),
            f'<span class="num">{c["AppliedAmount"]}</span>',
        ]
        for c in found.get("CreditNotes", [])
    ]
    note = f'<p class="error" id="error">{e(message)}</p>' if message else ""
    pay_form = ""
    if found["Status"] == "AUTHORISED":
        pay_form = f"""<h2>Pay</h2><form method="post" id="pay-form">
<p><label for="amount">Amount</label>
<input id="amount" name="amount" value="{found["AmountDue"]}"></p>
<p><label for="account">Account</label><select id="account" name="account">{options}</select></p>
<p><label for="reference">Reference</label><input id="reference" name="reference"></p>
<button type="submit" id="pay" name="action" value="pay">Record payment</button></form>"""
    body = f"""{note}<p id="summary">{e(found["Type"])} to <strong>{e(contact_name)}</strong>,
status <strong id="status">{e(found["Status"])}</strong>, {e(found["LineAmountTypes"])},
dated {_date(found["Date"])}, due {_date(found.get("DueDate"))}</p>
{table(LINE_HEADERS, lines, "lines")}
<table id="totals"><tr><th>Subtotal</th><td class="num">{found["SubTotal"]}</td></tr>
<tr><th>Tax</th><td class="num">{found["TotalTax"]}</td></tr>
<tr><th>Total</th><td class="num">{found["Total"]}</td></tr>
<tr><th>Paid</th><td class="num">{found["AmountPaid"]}</td></tr>
<tr><th>Credited</th>
<td class="num" id="amount-credited">{found.get("AmountCredited", "0.00")}</td></tr>
<tr><th>Due</th><td class="num" id="amount-due">{found["AmountDue"]}</td></tr></table>
<h2>Payments</h2>{table(["Date", "Amount", "Reference"], payments, "payments")}
<h2>Credit notes</h2>{table(["Credit note", "Date", "Amount"], credits, "credit-notes")}
{pay_form}"""
    return page(f"Invoice {found.get('InvoiceNumber', '')}", body, status)


def _account_options(tenant: Tenant) -> str:
    """The accounts money may be paid to or from: BANK, or "Enable payments" switched on."""
    accounts = [
        a
        for a in tenant.accounts.values()
        if a.get("Status") == "ACTIVE"
        and (a.get("Type") == "BANK" or a.get("EnablePaymentsToAccount"))
    ]
    return "".join(
        f'<option value="{e(a["Code"])}">{e(a["Code"])} {e(a["Name"])}</option>' for a in accounts
    )


def _line_rows(document: dict[str, Any]) -> list[list[str]]:
    return [
        [
            e(li.get("Description", "")),
            str(li["Quantity"]),
            str(li["UnitAmount"]),
            str(li.get("DiscountRate", "")),
            e(li.get("AccountCode", "")),
            e(li["TaxType"]),
            f'<span class="num">{li["TaxAmount"]}</span>',
            f'<span class="num">{li["LineAmount"]}</span>',
        ]
        for li in document["LineItems"]
    ]


def invoice_pay(sb: Sandbox, request: Request) -> Response:
    form = {k: v[0] for k, v in request.form().items()}
    payment = {"Amount": form.get("amount", ""), "Account": {"Code": form.get("account", "")}}
    if form.get("reference"):
        payment["Reference"] = form["reference"]
    try:
        pay_invoice_in_xero(sb, request.params["tenant"], request.params["id"], payment)
    except Refused as refused:
        return invoice(sb, request, "; ".join(refused.messages), 400)
    return redirect(request.path + "?" + urllib.parse.urlencode({"paid": 1}))


def online_invoice(sb: Sandbox, request: Request) -> Response:
    """What the customer sees at the invoice's online link (GET /Invoices/{id}/OnlineInvoice)."""
    with sb.store.lock:
        for tenant in sb.store.tenants.values():
            ids = [i for i, t in tenant.online_invoices.items() if t == request.params["token"]]
            if ids:
                found, org_name = dict(tenant.invoices[ids[0]]), tenant.name
                contact_name = tenant.contacts.get(found["Contact"]["ContactID"], {}).get("Name")
                break
        else:
            return page("Not found", "<p>No such online invoice.</p>", 404)
    lines = [
        [
            e(li.get("Description", "")),
            str(li["Quantity"]),
            str(li["UnitAmount"]),
            f'<span class="num">{li["LineAmount"]}</span>',
        ]
        for li in found["LineItems"]
    ]
    body = f"""<p id="summary">From <strong>{e(org_name)}</strong> to
<strong>{e(contact_name or "")}</strong>, dated {_date(found["Date"])},
due {_date(found.get("DueDate"))}</p>
{table(["Description", "Qty", "Unit", "Amount"], lines, "lines")}
<table id="totals"><tr><th>Total {e(found["CurrencyCode"])}</th>
<td class="num">{found["Total"]}</td></tr>
<tr><th>Due</th><td class="num" id="amount-due">{found["AmountDue"]}</td></tr></table>"""
    return page(f"Invoice {found.get('InvoiceNumber', '')}", body)


def credit_note(sb: Sandbox, request: Request, message: str = "", status: int = 200) -> Response:
    with sb.store.lock:
        tenant = sb.store.tenant(request.params["tenant"])
        found = tenant.credit_notes.get(request.params["id"].lower()) if tenant else None
        if tenant is None or found is None:
            return page("Not found", "<p>No such credit note.</p>", 404)
        found = dict(found)
        contact_name = _name(tenant, found)
        options = _account_options(tenant)
        # What it may be allocated to: the contact's approved invoices of its kind and currency.
        kind = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}[found["Type"]]
        targets = [
            i
            for i in tenant.invoices.values()
            if i["Contact"]["ContactID"] == found["Contact"]["ContactID"]
            and i["Type"] == kind
            and i["Status"] == "AUTHORISED"
            and i.get("CurrencyCode") == found.get("CurrencyCode")
        ]
        invoice_numbers = {
            a["Invoice"]["InvoiceID"]: tenant.invoices.get(a["Invoice"]["InvoiceID"], {})
            for a in found["Allocations"]
        }
        refunds = [tenant.payments[p["PaymentID"]] for p in found["Payments"]]
    lines = _line_rows(found)
    base = f"/orgs/{tenant.id}"
    allocation_rows = [
        [
            f'<a href="{base}/invoices/{a["Invoice"]["InvoiceID"]}">'
            f"{e(invoice_numbers[a['Invoice']['InvoiceID']].get('InvoiceNumber') or '(none)')}</a>",
            _date(a["Date"]),
            f'<span class="num">{a["Amount"]}</span>',
            f'<form method="post" class="inline"><input type="hidden" name="allocation" '
            f'value="{e(a["AllocationID"])}"><button name="action" value="remove-allocation">'
            "Remove</button></form>",
        ]
        for a in found["Allocations"]
    ]
    refund_rows = [
        [
            _date(r["Date"]),
            f'<span class="num">{r["Amount"]}</span>',
            e(f"{r['Account'].get('Code', '')} {r['Account'].get('Name', '')}"),
            e(r.get("Reference", "")),
        ]
        for r in refunds
    ]
    note = f'<p class="error" id="error">{e(message)}</p>' if message else ""
    actions = ""
    if found["Status"] in ("DRAFT", "SUBMITTED"):
        actions = (
            '<form method="post"><button id="approve" name="action" value="approve">'
            "Approve</button></form>"
        )
    if found["Status"] == "AUTHORISED":
        choices = "".join(
            f'<option value="{e(i["InvoiceID"])}">{e(i.get("InvoiceNumber") or "(none)")} '
            f"(due {i['AmountDue']})</option>"
            for i in targets
        )
        actions = f"""<h2>Allocate credit</h2><form method="post" id="allocate-form">
<p><label for="invoice">Invoice</label><select id="invoice" name="invoice">{choices}</select></p>
<p><label for="allocate-amount">Amount</label>
<input id="allocate-amount" name="amount" value="{found["RemainingCredit"]}"></p>
<button type="submit" id="allocate" name="action" value="allocate">Allocate credit</button></form>
<h2>Make a cash refund</h2><form method="post" id="refund-form">
<p><label for="refund-amount">Amount</label>
<input id="refund-amount" name="amount" value="{found["RemainingCredit"]}"></p>
<p><label for="account">Account</label><select id="account" name="account">{options}</select></p>
<p><label for="reference">Reference</label><input id="reference" name="reference"></p>
<button type="submit" id="refund" name="action" value="refund">Add refund</button></form>
<form method="post"><button id="void" name="action" value="void">Void</button></form>"""
    body = f"""{note}<p id="summary">{e(found["Type"])} for <strong>{e(contact_name)}</strong>,
status <strong id="status">{e(found["Status"])}</strong>, {e(found["LineAmountTypes"])},
dated {_date(found["Date"])}, {e(found.get("CurrencyCode", ""))}</p>
{table(LINE_HEADERS, lines, "lines")}
<table id="totals"><tr><th>Subtotal</th><td class="num">{found["SubTotal"]}</td></tr>
<tr><th>Tax</th><td class="num">{found["TotalTax"]}</td></tr>
<tr><th>Total</th><td class="num">{found["Total"]}</td></tr>
<tr><th>Remaining credit</th>
<td class="num" id="remaining-credit">{found["RemainingCredit"]}</td></tr>
</table>
<h2>Allocations</h2>{table(["Invoice", "Date", "Amount", ""], allocation_rows, "allocations")}
<h2>Refunds</h2>{table(["Date", "Amount", "Account", "Reference"], refund_rows, "refunds")}
{actions}"""
    return page(f"Credit note {found.get('CreditNoteNumber') or ''}".strip(), body, status)


def credit_note_act(sb: Sandbox, request: Request) -> Response:
    """Approve, allocate, refund, void, or remove an allocation, as a person in Xero would."""
    form = {k: v[0] for k, v in request.form().items()}
    tenant_id, credit_note_id = request.params["tenant"], request.params["id"]
    action = form.get("action", "")
    try:
        if action == "approve":
            save_credit_note_in_xero(sb, tenant_id, {"Status": "AUTHORISED"}, credit_note_id)
        elif action == "void":
            save_credit_note_in_xero(sb, tenant_id, {"Status": "VOIDED"}, credit_note_id)
        elif action == "allocate":
            allocation: dict[str, Any] = {"Invoice": {"InvoiceID": form.get("invoice", "")}}
            allocation["Amount"] = form.get("amount", "")
            allocate_credit_note_in_xero(sb, tenant_id, credit_note_id, allocation)
        elif action == "refund":
            refund = {"Amount": form.get("amount", ""), "Account": {"Code": form.get("account")}}
            if form.get("reference"):
                refund["Reference"] = form["reference"]
            refund_credit_note_in_xero(sb, tenant_id, credit_note_id, refund)
        elif action == "remove-allocation":
            remove_allocation_in_xero(sb, tenant_id, credit_note_id, form.get("allocation", ""))
        else:
            return credit_note(sb, request, f"Unknown action {action!r}", 400)
    except Refused as refused:
        return credit_note(sb, request, "; ".join(refused.messages), 400)
    return redirect(request.path + "?" + urllib.parse.urlencode({"done": action}))


def _h(method: str, path: str, handler: Callable[..., Response]) -> Route:
    return Route(method, re.compile(f"^{path}/?$", re.I), handler, "html")


_T = "/orgs/(?P<tenant>[^/]+)"
ROUTES = [
    _h("GET", "/", orgs),
    _h("GET", _T, org),
    _h("GET", f"{_T}/contacts/(?P<id>[^/]+)", contact),
    _h("POST", f"{_T}/contacts/(?P<id>[^/]+)", contact_save),
    _h("GET", f"{_T}/invoices/(?P<id>[^/]+)", invoice),
    _h("POST", f"{_T}/invoices/(?P<id>[^/]+)", invoice_pay),
    _h("GET", "/in/(?P<token>[^/]+)", online_invoice),
    _h("GET", f"{_T}/credit-notes/(?P<id>[^/]+)", credit_note),
    _h("POST", f"{_T}/credit-notes/(?P<id>[^/]+)", credit_note_act),
]
