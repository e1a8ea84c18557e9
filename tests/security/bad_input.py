"""The pieces of the bad-input walk (test_bad_input_walk.py): what a page's forms post, which
keys a view reads, the hostile values for a field, and the checks run after every request."""

import html
from dataclasses import dataclass, field
from decimal import Decimal as D
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.forms.formsets import BaseFormSet
from django.test.utils import ContextList
from django.urls import Resolver404, resolve

from invoices.models import Invoice, TaxMode
from taxes.calculation import Line, line_amount

# What an attacker types, whatever the field: control characters, sizes and digits that are not
# ASCII digits; then numbers around the limits of PostgreSQL's integer columns.
HOSTILE = {
    "NUL": "\x00",
    "NUL inside": "12\x0034",
    "control characters": "\x01\x07\x08\x0b\x0c\x1b\x7f",
    "100 kB string": "x" * 100_000,
    "100 kB of digits": "9" * 100_000,
    "Arabic-Indic digits": "١٢٣",
    "fullwidth digits": "１２３",
    "superscript two": "²",
    "letters": "abc",
    "empty": "",
    "negative": "-1",
    "past int8": "9223372036854775808",
    "exponent": "1e999999",
    "sNaN": "-sNaN",
}


def precision_values(form_field) -> dict[str, str]:
    """Numbers at and just past what the field (and so its column) holds."""
    values: dict[str, str] = {}
    if isinstance(form_field, forms.DecimalField) and form_field.max_digits:
        places = form_field.decimal_places or 0
        whole = form_field.max_digits - places
        top = "9" * whole + ("." + "9" * places if places else "")
        values |= {
            "at precision": top,
            "negative at precision": "-" + top,
            "one digit too many": "1" + "0" * whole,
            "one place too many": "0." + "0" * places + "1",
        }
    if isinstance(form_field, forms.CharField) and form_field.max_length:
        values |= {
            "at max_length": "x" * form_field.max_length,
            "past max_length": "x" * (form_field.max_length + 1),
        }
    return values


def top_value(form_field) -> str | None:
    """The largest number the field takes, for 'every number at its limit at once'."""
    if isinstance(form_field, forms.DecimalField) and form_field.max_digits:
        places = form_field.decimal_places or 0
        whole = form_field.max_digits - places
        top = "9" * whole + ("." + "9" * places if places else "")
        if form_field.max_value is not None:
            return str(form_field.max_value)
        return top
    return None


# --- forms as the browser sees them ---------------------------------------------------------

VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "col", "area", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict
    parent: "Node | None" = None
    children: list = field(default_factory=list)

    def text(self) -> str:
        out = []
        for child in self.children:
            out.append(child if isinstance(child, str) else child.text())
        return "".join(out)

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: ("" if v is None else v) for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent or self.root  # only the root has no parent
        if node is not self.root:
            self.current = node.parent or self.root

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    return builder.root


@dataclass
class PageForm:
    """A <form> as rendered: where it goes and the values a browser would send untouched."""

    method: str
    targets: list[str]  # action, and hx-post / hx-get
    data: dict[str, list[str]]


def page_forms(page: str, url: str) -> list[PageForm]:
    found = []
    for node in parse(page).walk():
        if node.tag != "form":
            continue
        if any(a.tag == "template" for a in _ancestors(node)):
            continue
        method = node.attrs.get("method", "get").lower()
        targets = [node.attrs.get("action") or url]
        targets += [node.attrs[a] for a in ("hx-post", "hx-get") if node.attrs.get(a)]
        data: dict[str, list[str]] = {}
        for control in node.walk():
            name = control.attrs.get("name")
            if not name or "__prefix__" in name or _in_template(control, node):
                continue
            value = _control_value(control)
            if value is not None:
                data.setdefault(name, []).append(value)
        found.append(PageForm(method, targets, data))
    return found


def _ancestors(node: Node):
    while node.parent is not None:
        node = node.parent
        yield node


def _in_template(control: Node, form: Node) -> bool:
    for a in _ancestors(control):
        if a is form:
            return False
        if a.tag == "template":
            return True
    return False


def _control_value(control: Node) -> str | None:
    kind = control.attrs.get("type", "text").lower()
    if control.tag == "input":
        if kind in ("checkbox", "radio"):
            return control.attrs.get("value", "on") if "checked" in control.attrs else None
        if kind in ("submit", "button", "image", "reset"):
            return None  # sent only when pressed: covered by the keys the view reads
        return control.attrs.get("value", "")
    if control.tag == "textarea":
        return control.text()
    if control.tag == "select":
        options = [o for o in control.walk() if o.tag == "option"]
        chosen = [o for o in options if "selected" in o.attrs] or options[:1]
        return chosen[0].attrs.get("value", chosen[0].text()) if chosen else ""
    if control.tag == "button":
        return None
    return None


def route_of(url: str):
    try:
        return resolve(urlsplit(url).path)
    except Resolver404:
        return None


# --- the forms a view built ------------------------------------------------------------------


def _context_values(response):
    context = response.context
    if context is None:
        return
    # Contexts (django-stubs says a ContextList holds dicts).
    contexts: list[Any] = list(context) if isinstance(context, ContextList) else [context]
    for one in contexts:
        yield from one.flatten().values()


def context_forms(response) -> list[forms.BaseForm]:
    """Every form (formset rows and management forms included) the view put in its context."""
    found: list[forms.BaseForm] = []
    seen: set[int] = set()
    for value in _context_values(response):
        for form in _forms_of(value):
            if id(form) not in seen:
                seen.add(id(form))
                found.append(form)
    return found


def context_formsets(response) -> list[BaseFormSet]:
    found: list[BaseFormSet] = []
    for value in _context_values(response):
        if isinstance(value, BaseFormSet) and all(value is not f for f in found):
            found.append(value)
    return found


def _forms_of(value):
    if isinstance(value, BaseFormSet):
        yield value.management_form
        yield from value.forms
    elif isinstance(value, forms.BaseForm):
        yield value


def form_fields(response) -> dict[str, forms.Field]:
    """html name -> form field, for the forms in the response's context."""
    return {
        form.add_prefix(name): f
        for form in context_forms(response)
        for name, f in form.fields.items()
    }


# --- checks after each request ---------------------------------------------------------------


def reasons_missing(response) -> list[str]:
    """A bound form that refused input must say why, next to the field that was refused; a
    form-wide reason anywhere on the page. Fields the page does not show (an htmx fragment, say)
    are not checked."""
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
        return []
    tree = parse(response.content.decode())
    page_text = _norm(tree.text())
    inputs: dict[str, Node] = {}
    for node in tree.walk():
        if node.tag in ("input", "select", "textarea") and node.attrs.get("name"):
            inputs.setdefault(node.attrs["name"], node)
    missing = []
    for form in context_forms(response):
        if not form.is_bound or not form.errors:
            continue
        for name, errors in form.errors.items():
            if name == NON_FIELD_ERRORS:
                shown_in = page_text
            else:
                control = inputs.get(form.add_prefix(name))
                if control is None:
                    continue
                shown_in = _norm(_field_box(control).text())
            missing += [
                f"{form.add_prefix(name)}: {e!r} not shown"
                for e in errors
                if _norm(str(e)) not in shown_in
            ]
    for formset in context_formsets(response):
        if formset.is_bound and formset.non_form_errors():
            missing += [
                f"{formset.prefix}: {e!r} not shown"
                for e in formset.non_form_errors()
                if _norm(str(e)) not in page_text and inputs
            ]
    return missing


def _field_box(control: Node) -> Node:
    """The smallest block around a control: its table cell or its field wrapper."""
    for node in _ancestors(control):
        if node.tag in ("td", "th", "li", "fieldset", "form") or (
            node.tag == "div" and "field" in node.attrs.get("class", "").split()
        ):
            return node
    return control


def _norm(text: str) -> str:
    return " ".join(html.unescape(text).split())


def refused(response, method: str) -> bool:
    """Did the request refuse what it was sent? A 4xx, a form with errors, or an error message."""
    if 400 <= response.status_code < 500:
        return True
    if any(form.is_bound and form.errors for form in context_forms(response)):
        return True
    if any(fs.is_bound and fs.non_form_errors() for fs in context_formsets(response)):
        return True
    storage = getattr(response.wsgi_request, "_messages", None)
    queued = getattr(storage, "_queued_messages", [])
    return method == "POST" and any(m.level >= 40 for m in queued)


# Not the user's input: logs of what was done to answer (calls made to Xero, login attempts,
# sessions). Everything else of ours must be unchanged by a refused request.
LOG_TABLES = {"django_session", "xero_sync_xerocall"}
OUR_APPS = ("platform_crm", "contacts", "invoices", "taxes", "xero_sync", "auth")


def fingerprint() -> dict[str, str]:
    tables = sorted(
        model._meta.db_table
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model._meta.db_table not in LOG_TABLES
    )
    sql = " UNION ALL ".join(
        f"SELECT '{t}', md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
        for t in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def totals_wrong() -> list[str]:
    """Invoices whose stored totals are not the sums of their stored lines, or a line whose
    stored amount is not its quantity x price less discount. (A line's tax stays as computed
    with its rate when saved: editing a tax rate later does not rewrite issued invoices.)"""
    wrong = []
    for invoice in Invoice.objects.prefetch_related("lines"):
        lines = list(invoice.lines.all())
        amounts = sum((line.line_amount for line in lines), D("0.00"))
        tax = sum((line.tax_amount for line in lines), D("0.00"))
        if invoice.tax_mode == TaxMode.INCLUSIVE:
            expected = (amounts - tax, tax, amounts)
        else:
            expected = (amounts, tax, amounts + tax)
        stored = (invoice.subtotal, invoice.total_tax, invoice.total)
        if stored != expected:
            wrong.append(
                f"{invoice.number}: stored totals {stored}, its lines add up to {expected}"
            )
        for line in lines:
            calculated = line_amount(
                Line(line.quantity, line.unit_price, line.discount_rate, components=())
            )
            if line.line_amount != calculated:
                wrong.append(f"{invoice.number} line {line.pk}: {line.line_amount} != {calculated}")
    return wrong
