"""Bad input, walked over every route (the tenancy walk's twin for input).

Every routed URL of the project is found by walking the URL resolver. For each, the walk learns
what the route reads, from the code rather than a list kept by hand:
- the query parameters the view reads (a test middleware records every key a view asks
  request.GET for, during a normal request), and those of GET forms that lead to it;
- the POST fields of every form on the site that posts to it (action, hx-post), the fields the
  view's Form classes declare (read from the response's context) and the keys it reads from
  request.POST.
It then sends hostile values to each of them, one at a time, the rest as a browser would send
them: NUL and control characters, 100 kB strings, digits that are not ASCII, numbers at and past
each field's precision, other accounts' ids; and, for formsets, repeated row ids, missing
management fields, every number at its limit at once and the most rows the formset allows.

After every request: never a 5xx (nor a bare 400); a Content-Security-Policy header; a form
that refused input shows the reason next to the field; a refusal stored nothing; every invoice's
stored totals equal the totals of its stored lines. Each request runs in a savepoint rolled
back after the checks, so every value meets the same data. Django's admin (admin:*) is Django's
own and not walked."""

import re
from collections import Counter
from decimal import Decimal as D
from urllib.parse import urlencode

import pytest
from django.contrib.auth.views import LoginView
from django.core.signals import got_request_exception
from django.db import transaction
from django.forms import ModelChoiceField
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoices.services import LineInput, payment_record
from platform_crm.models import Role
from xero_sync.models import InvoiceSync, InvoiceSyncState

from ..factories import (
    contact_import_make,
    contact_make,
    invoice_make,
    past_invoice_import_make,
    product_make,
    tax_rate_make,
    user_create,
)
from ..support.routes import all_routes
from ..support.walks import figures_add
from ..xero_sync.conftest import connect
from . import bad_input
from .read_recorder import EVERYTHING

ROUTES = [r for r in all_routes() if not r[0].startswith("admin:")]
HTMX_VALUES = ("NUL", "100 kB string", "letters", "past int8")

# (namespace or route name, URL parameter) -> which object of the world fills it.
SAMPLES = {
    ("contacts", "pk"): "contact",
    ("taxes", "pk"): "tax_rate",
    ("invoices", "pk"): "invoice",
    ("invoices", "payment_pk"): "payment",
    ("invoices", "product_pk"): "product",
    ("xero_sync", "pk"): "contact_import",
    ("xero_sync", "invoice_pk"): "invoice",
    ("xero_sync", "run_pk"): "past_invoice_import",
    ("xero_sync:invoice_retry", "pk"): "failed_invoice",
}


@pytest.fixture
def world(xero, account, other_account, settings):
    """An admin (also a platform superuser, for /ops/) of an account connected to the sandbox,
    with a contact, a tax rate, an issued two-line invoice with a payment, an invoice Xero
    refused and a contact import; and another account's objects, for foreign ids."""
    settings.MIDDLEWARE = [
        "tests.security.read_recorder.ReadRecorderMiddleware",
        *settings.MIDDLEWARE,
    ]
    admin = user_create(account=account, role=Role.ADMIN)
    admin.is_superuser = admin.is_staff = True
    admin.save()
    connect(xero, account, admin)
    gst = tax_rate_make(account, "GST", ("GST", D(15), False))
    contact = contact_make(account, email="aroha@example.com")
    invoice = invoice_make(
        account,
        contact=contact,
        issue=True,
        lines=[
            LineInput(description="A", quantity=D(1), unit_price=D(100), tax_rate=gst),
            LineInput(description="B", quantity=D(1), unit_price=D(900), tax_rate=gst),
        ],
    )
    payment = payment_record(invoice=invoice, amount=D("10.00"))
    failed = invoice_make(account, contact=contact, issue=True)
    InvoiceSync.objects.filter(invoice=failed).update(
        state=InvoiceSyncState.FAILED,
        error_cause="validation",
        error="Xero refused it.",
        failed_at=timezone.now(),
    )
    foreign_invoice = invoice_make(other_account, issue=True)
    foreign = [
        contact_make(other_account).pk,
        tax_rate_make(other_account).pk,
        foreign_invoice.pk,
        foreign_invoice.lines.get().pk,
        payment_record(invoice=foreign_invoice, amount=D("1.00")).pk,
        contact_import_make(other_account).pk,
        past_invoice_import_make(other_account).pk,
        product_make(other_account).pk,
    ]
    objects = {
        "contact": contact,
        "tax_rate": gst,
        "invoice": invoice,
        "payment": payment,
        "failed_invoice": failed,
        "contact_import": contact_import_make(account),
        "past_invoice_import": past_invoice_import_make(account),
        "product": product_make(account, tax_rate=gst),
    }
    return {"account": account, "admin": admin, "objects": objects, "foreign": foreign}


def route_url(name, route, world) -> str:
    namespace = name.rpartition(":")[0]
    kwargs = {}
    for param in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if param == "account_slug":
            kwargs[param] = world["account"].slug
            continue
        sample = SAMPLES.get((name, param)) or SAMPLES.get((namespace, param))
        assert sample, f"add a sample for {(namespace, param)!r} to SAMPLES in this test"
        kwargs[param] = world["objects"][sample].pk
    return reverse(name, kwargs=kwargs)


class Walk:
    """One route's walk: sends requests, runs the checks, keeps the figures."""

    def __init__(self, name, client, world):
        self.name, self.client, self.world = name, client, world
        self.requests = 0
        self.fields: set[str] = set()
        self.server_errors = 0
        self.problems: list[str] = []
        self.exceptions: list[str] = []
        self.before = None  # taken before the first checked request
        got_request_exception.connect(self._on_exception)

    def close(self):
        got_request_exception.disconnect(self._on_exception)

    def _on_exception(self, sender, request=None, **kwargs):
        import sys

        error = sys.exc_info()[1]
        self.exceptions.append(f"{type(error).__name__}: {str(error)[:200]}")

    def send(self, method, url, data=None, what="", headers=None):
        """One request in a savepoint, checked, then rolled back."""
        if self.before is None:
            self.before = bad_input.fingerprint()
        self.requests += 1
        self.exceptions.clear()
        with transaction.atomic():
            response = self._request(method, url, data, headers)
            self._check(method, response, what)
            transaction.set_rollback(True)
        return response

    def baseline(self, method, url, data=None):
        """A request as the pages make it, kept (not rolled back), for what it reads."""
        return self._request(method, url, data, None)

    def _request(self, method, url, data, headers):
        if method == "GET":
            return self.client.get(url, data, headers=headers)
        return self.client.post(
            url,
            urlencode(data or {}, doseq=True),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    def _check(self, method, response, what):
        where = f"{method} {self.name} {what}"
        if response.status_code >= 500:
            self.server_errors += 1
            self.problems.append(f"{where}: {response.status_code} {'; '.join(self.exceptions)}")
            return
        if "Content-Security-Policy" not in response:
            self.problems.append(f"{where}: no Content-Security-Policy header")
        if response.status_code == 400:
            self.problems.append(f"{where}: a bare 400, the input is lost")
            return
        self.problems += [f"{where}: {m}" for m in bad_input.reasons_missing(response)]
        if bad_input.refused(response, method):
            after = bad_input.fingerprint()
            before = self.before or {}  # taken by send
            changed = sorted(t for t in after if after[t] != before.get(t))
            if changed:
                self.problems.append(f"{where}: refused, yet stored into {', '.join(changed)}")
        self.problems += [f"{where}: {w}" for w in bad_input.totals_wrong()]


def hostile_values(form_field) -> dict[str, str]:
    return bad_input.HOSTILE | (bad_input.precision_values(form_field) if form_field else {})


def _single(data: dict) -> dict:
    return {k: v if isinstance(v, list) else [v] for k, v in data.items()}


def _formset_prefixes(data: dict) -> list[str]:
    return [k.removesuffix("-TOTAL_FORMS") for k in data if k.endswith("-TOTAL_FORMS")]


def _row(data: dict, prefix: str, n: int) -> dict:
    head = f"{prefix}-{n}-"
    return {k.removeprefix(head): v for k, v in data.items() if k.startswith(head)}


def _is_row_field(key: str, prefixes) -> tuple[str, int] | None:
    for prefix in prefixes:
        rest = key.removeprefix(f"{prefix}-")
        if rest != key and rest.partition("-")[0].isdigit():
            return prefix, int(rest.partition("-")[0])
    return None


def structural_cases(data: dict, fields: dict, formsets: dict):
    """(what, data) for the shapes only formsets have."""
    for prefix in _formset_prefixes(data):
        total = int(data[f"{prefix}-TOTAL_FORMS"][0] or 0)
        for management in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            yield (
                f"{prefix} without {management}",
                {k: v for k, v in data.items() if k != f"{prefix}-{management}"},
            )
        rows = [_row(data, prefix, n) for n in range(total)]
        if len(rows) >= 2 and rows[0].get("id", [""])[0]:
            repeated = dict(data)
            repeated[f"{prefix}-1-id"] = rows[0]["id"]
            yield f"{prefix}: row 1 repeats row 0's id", repeated
        # Every number at its limit at once, in every row.
        tops = {
            key: [top]
            for key, f in fields.items()
            if key in data and (top := bad_input.top_value(f)) is not None
        }
        if tops:
            yield f"{prefix}: every number at its limit", data | tops
            # A field with its own ceiling (a percentage, say) may cancel the others out at
            # its limit (a 100% discount): also every other number at its limit, that one as sent.
            capped = {k: v for k, v in tops.items() if fields[k].max_value is None}
            if capped != tops:
                yield f"{prefix}: every uncapped number at its limit", data | capped
        formset = formsets.get(prefix)
        if formset is not None and rows:
            most = formset.max_num
            template = {k: v for k, v in rows[0].items() if k not in ("id", "DELETE")}
            full = {k: v for k, v in data.items() if not _is_row_field(k, [prefix])}
            full[f"{prefix}-TOTAL_FORMS"] = [str(most)]
            full[f"{prefix}-INITIAL_FORMS"] = ["0"]
            for n in range(most):
                full |= {f"{prefix}-{n}-{k}": v for k, v in template.items()}
            yield f"{prefix}: {most} rows, the most it allows", full
            at_limit = dict(full)
            for key in list(full):
                row0 = f"{prefix}-0-{key.split('-', 2)[-1]}"
                uncapped = row0 in tops and fields[row0].max_value is None
                if _is_row_field(key, [prefix]) and uncapped:
                    at_limit[key] = tops[row0]
            yield f"{prefix}: {most} rows, every uncapped number at its limit", at_limit


def walk_route(name, route, world, client, crawl) -> Walk:
    url = route_url(name, route, world)
    walk = Walk(name, client, world)
    try:
        page = walk.baseline("GET", url)
        query_params = {k for k in page.wsgi_request.keys_read["GET"] if k != EVERYTHING}
        fields = bad_input.form_fields(page) if page.status_code == 200 else {}
        formsets = {}
        if page.status_code == 200:
            formsets = {fs.prefix: fs for fs in bad_input.context_formsets(page)}
        bodies = []
        for form, _page_url in crawl(url, page):
            if form.method == "get":
                query_params |= set(form.data)
            else:
                bodies.append(form.data)
        if not bodies:
            bodies = [{}]
        for body in bodies:
            posted = walk.send("POST", url, body, "as the page sends it")
            # Keys the view reads that the page does not send are walked one at a time,
            # never added to the others' requests (a view may test for their presence).
            read = {k for k in posted.wsgi_request.keys_read["POST"] if k != EVERYTHING}
            body = _single(body)
            if posted.status_code == 200:
                fields |= bad_input.form_fields(posted)
                formsets |= {fs.prefix: fs for fs in bad_input.context_formsets(posted)}
            prefixes = _formset_prefixes(body)
            for key in sorted(set(body) | read):
                hit = _is_row_field(key, prefixes)
                if (hit and hit[1] > 0) or key == "csrfmiddlewaretoken":
                    continue  # rows past the first: only in the formset cases below
                walk.fields.add(f"POST {key}")
                values = hostile_values(fields.get(key))
                baseline_value = body.get(key, [""])[0] if body.get(key) else ""
                if baseline_value.isdigit() or isinstance(fields.get(key), ModelChoiceField):
                    values |= {f"foreign id {pk}": str(pk) for pk in world["foreign"]}
                for label, value in values.items():
                    walk.send("POST", url, body | {key: [value]}, f"{key}={label}")
            for label, data in structural_cases(body, fields, formsets):
                walk.send("POST", url, data, label)
        for key in sorted(query_params):
            walk.fields.add(f"GET {key}")
            for label, value in hostile_values(fields.get(key)).items():
                walk.send("GET", url, {key: value}, f"?{key}={label}")
            # htmx asks for a fragment of the page (a list's rows): it renders the value too.
            for label in HTMX_VALUES:
                value = bad_input.HOSTILE[label]
                walk.send(
                    "GET", url, {key: value}, f"?{key}={label} (htmx)", {"HX-Request": "true"}
                )
    finally:
        walk.close()
    return walk


@pytest.fixture
def crawl(world, client_for_route):
    """Forms on the site that lead to a URL: its own page first, then every other page."""
    pages = {}

    def forms_to(url, own_page):
        found = []
        if own_page.status_code == 200:
            pages[url] = own_page.content.decode()
        targets = [(f, u) for u, content in pages.items() for f in bad_input.page_forms(content, u)]
        hits = [(f, u) for f, u in targets if url in [t.split("?")[0] for t in f.targets]]
        if not hits and len(pages) <= 1:
            client = client_for_route(None)
            for name, _route, _pattern in ROUTES:
                other = route_url(name, _route, world)
                if other in pages:
                    continue
                response = client.get(other)
                if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                    pages[other] = response.content.decode()
            targets = [(f, u) for u, c in pages.items() for f in bad_input.page_forms(c, u)]
            hits = [(f, u) for f, u in targets if url in [t.split("?")[0] for t in f.targets]]
        found += hits
        return found

    return forms_to


@pytest.fixture
def client_for_route(world):
    def make(pattern):
        client = Client(raise_request_exception=False)
        view_class = getattr(getattr(pattern, "callback", None), "view_class", None)
        if not (view_class and issubclass(view_class, LoginView)):
            client.force_login(world["admin"])
        return client

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route", "pattern"), ROUTES, ids=[r[0] for r in ROUTES])
def test_route_answers_bad_input_clearly(name, route, pattern, world, client_for_route, crawl):
    walk = walk_route(name, route, world, client_for_route(pattern), crawl)
    figures_add(name, walk)
    assert walk.requests > 0
    problems = Counter(walk.problems)
    assert not problems, f"{len(walk.problems)} problems:\n" + "\n".join(
        p[:200] + (f" (x{n})" if n > 1 else "") for p, n in list(problems.items())[:40]
    )
