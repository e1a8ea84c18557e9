"""Fuzzed input never breaks a page. The contact, invoice (with its line rows), payment,
tax-rate and tax-mapping forms and the Xero webhook endpoint answer arbitrary input with a page,
a redirect or a refusal, never a server error; and a form that refuses what was typed shows it
again, so nobody loses their typing. (The test client re-raises a view's exception, so a 500
fails the example with its traceback.)"""

import json

import pytest
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import ADDRESS_FIELDS
from contacts.services import EDITABLE_FIELDS
from invoices.models import PaymentMethod, TaxMode
from xero_sync.models import TaxMapping, WebhookDelivery
from xero_sync.webhooks.dispatch import delivery_process
from xero_sync.webhooks.store import delivery_store

from ..factories import client_for, contact_make, invoice_make, tax_rate_make
from ..support.webhooks import post, sign
from ..xero_sync.conftest import connect

FUZZ = settings(
    max_examples=50,
    deadline=None,
    # The fixtures (account, users, the sandbox connection) are built once per test and shared
    # by its examples, on purpose: each example only adds rows.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What a browser can send: any text but lone surrogates (which UTF-8 cannot carry).
typed = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
numbers = st.one_of(
    typed,
    st.integers().map(str),  # as huge as it likes
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.sampled_from(
        ["NaN", "-sNaN", "Infinity", "-1", "1e999999", "1E-999999", "١٢٣", "１２", "1,000.50"]
        + ["99999999.9999", "9999999999.9999", "999.99", "100", "100.01", " 5 ", "0", "-0"]
    ),
)
dates = st.one_of(typed, st.dates().map(str), st.sampled_from(["2026-02-30", "0000-01-01"]))
checkbox = st.sampled_from(["", "on"])
# Stand-ins for ids only known inside the test: this account's, another account's.
OWN, FOREIGN = "<own>", "<foreign>"
ids = st.one_of(st.sampled_from([OWN, FOREIGN, ""]), numbers)

OWN_LINE, FOREIGN_LINE = "<own line>", "<foreign line>"

# Line rows as the invoice form's table posts them.
invoice_line = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from([OWN_LINE, FOREIGN_LINE, ""]), numbers),
        "description": typed,
        "quantity": numbers,
        "unit_price": numbers,
        "discount_rate": numbers,
        "tax_rate": ids,
        "DELETE": checkbox,
    }
)


def formset_data(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial)}
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{field}": value for field, value in row.items()})
    return data


def with_ids(data: dict, **ids) -> dict:
    """`data` with the stand-ins replaced: with_ids(data, own=1, foreign=2)."""
    swap = {f"<{name.replace('_', ' ')}>": str(value) for name, value in ids.items()}
    return {key: swap.get(value, value) for key, value in data.items()}


def assert_shown_again(response, data: dict, fields) -> None:
    """A refused form comes back with every typed value in it (escaped as the page shows it)."""
    page = response.content.decode()
    for key, value in data.items():
        if key.rpartition("-")[2] in fields and value:
            assert escape(value) in page, f"{key}={value!r} was lost"


@pytest.mark.django_db
@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            field: typed
            for field in ("first_name", "last_name", "company_name", "email", "phone")
            + ADDRESS_FIELDS
        }
        | {field: checkbox for field in ("is_customer", "is_supplier", "is_archived")}
    )
)
def test_contact_form_takes_any_input(data, account, staff_user):
    assert set(data) == set(EDITABLE_FIELDS)  # the fuzz covers every field of the form
    response = client_for(staff_user).post(reverse("contacts:new", args=[account.slug]), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert_shown_again(
            response, data, ("first_name", "last_name", "company_name", "email", "phone")
        )


@pytest.mark.django_db
@FUZZ
@given(
    header=st.fixed_dictionaries(
        {
            "contact": ids,
            "name": typed,
            "issue_date": dates,
            "due_date": dates,
            "currency": st.one_of(typed, st.just("NZD")),
            "tax_mode": st.one_of(typed, st.sampled_from(TaxMode.values)),
        }
    ),
    lines=st.lists(invoice_line, max_size=4),
    edit=st.booleans(),
)
def test_invoice_form_and_its_lines_take_any_input(header, lines, edit, invoice_page):
    client, account, objects = invoice_page
    invoice, foreign_line = objects["invoice"], objects["foreign_line"]
    own_line = invoice.lines.first()  # a saved edit replaces the invoice's lines
    data = with_ids(header, own=objects["contact"].pk, foreign=objects["foreign_contact"].pk)
    rows = [
        with_ids(
            row,
            own=objects["tax_rate"].pk,
            foreign=objects["foreign_tax_rate"].pk,
            own_line=own_line.pk if own_line else "",
            foreign_line=foreign_line.pk,
        )
        for row in lines
    ]
    data |= formset_data("lines", rows)
    name = "invoices:edit" if edit else "invoices:new"
    kwargs = {"account_slug": account.slug} | ({"pk": invoice.pk} if edit else {})
    response = client.post(reverse(name, kwargs=kwargs), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        fields = ("name", "description", "quantity", "unit_price", "discount_rate")
        assert_shown_again(response, data, fields)
    # Another account's line is never taken over or changed, whatever the row says.
    foreign_now = type(foreign_line).objects.get(pk=foreign_line.pk)
    assert (foreign_now.invoice_id, foreign_now.description) == (
        foreign_line.invoice_id,
        foreign_line.description,
    )


@pytest.fixture
def invoice_page(account, other_account, staff_user):
    """A staff member's browser, and this account's and another account's objects that fuzzed
    rows name by id (built once per test: the examples share them)."""
    objects = {
        "contact": contact_make(account),
        "foreign_contact": contact_make(other_account),
        "tax_rate": tax_rate_make(account),
        "foreign_tax_rate": tax_rate_make(other_account),
        "foreign_line": invoice_make(other_account).lines.get(),
    }
    objects["invoice"] = invoice_make(account, contact=objects["contact"])
    return client_for(staff_user), account, objects


@pytest.mark.django_db
@FUZZ
@given(
    management=st.dictionaries(
        st.sampled_from(["TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"]),
        # Counts stay small: a count past 2000 makes Django build and render 2000 rows, which
        # takes seconds per request (reported, not fuzzed here).
        st.one_of(typed, st.integers(-3, 40).map(str), st.sampled_from(["1e9", "-0", "0x10"])),
    ),
    line=invoice_line,
)
def test_invoice_form_takes_any_formset_management_data(management, line, account, staff_user):
    data = {f"lines-{key}": value for key, value in management.items()}
    line = with_ids(line, own="", foreign="", own_line="", foreign_line="")
    data |= {f"lines-0-{key}": value for key, value in line.items()}
    response = client_for(staff_user).post(reverse("invoices:new", args=[account.slug]), data)
    assert response.status_code in (200, 302)


@pytest.mark.django_db
@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "amount": numbers,
            "date": dates,
            "method": st.one_of(typed, st.sampled_from(PaymentMethod.values)),
            "reference": typed,
        }
    )
)
def test_payment_form_takes_any_input(data, account, staff_user):
    invoice = invoice_make(account, issue=True)
    url = reverse("invoices:payment_new", args=[account.slug, invoice.pk])
    response = client_for(staff_user).post(url, data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert_shown_again(response, data, ("amount", "date", "reference"))


@pytest.mark.django_db
@FUZZ
@given(
    name=typed,
    is_active=checkbox,
    components=st.lists(
        st.fixed_dictionaries(
            {"name": typed, "rate": numbers, "is_compound": checkbox, "DELETE": checkbox}
        ),
        max_size=5,
    ),
)
def test_tax_rate_form_takes_any_input(name, is_active, components, account, admin_user):
    data = {"name": name, "is_active": is_active} | formset_data("components", components)
    response = client_for(admin_user).post(reverse("taxes:new", args=[account.slug]), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert_shown_again(response, data, ("name", "rate"))


@pytest.mark.django_db
@FUZZ
@given(
    data=st.fixed_dictionaries(
        {
            "tax_rate": ids,
            "xero_tax_type": st.one_of(typed, st.sampled_from(["OUTPUT2", "NONE", "INPUT2"])),
        },
        optional={"refresh": st.just("")},
    )
)
def test_tax_mapping_form_takes_any_input(data, tax_mapping_page):
    client, url, tax_rate, foreign_tax_rate = tax_mapping_page
    response = client.post(url, with_ids(data, own=tax_rate.pk, foreign=foreign_tax_rate.pk))
    assert response.status_code in (302, 404)  # 404: a tax rate that is not this account's
    # Nothing is ever mapped to a type Xero does not offer, nor for another account.
    for mapping in TaxMapping.objects.all():
        assert mapping.tax_rate == tax_rate and mapping.xero_tax_type == "OUTPUT2"


@pytest.fixture
def tax_mapping_page(xero, account, other_account, admin_user):
    """The tax mapping page of an account connected to the sandbox (once per test: the fuzzed
    examples share it), with a 15% rate that matches Xero's OUTPUT2."""
    connect(xero, account, admin_user)
    client = client_for(admin_user)
    url = reverse("xero_sync:tax_mapping", args=[account.slug])
    assert client.get(url).status_code == 200  # reads Xero's tax rates
    return client, url, tax_rate_make(account), tax_rate_make(other_account)


EVENT_KEYS = ["tenantId", "eventCategory", "eventType", "resourceId", "eventDateUtc", "x"]

# A header value as a WSGI server hands it over: each byte as one latin-1 character.
header_text = st.text(st.characters(max_codepoint=255, exclude_categories=["Cs"]), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | typed,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(typed, inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.django_db
@FUZZ
@given(body=st.binary(max_size=2000), signature=st.one_of(header_text, st.just("")))
def test_webhook_refuses_any_unsigned_body_and_stores_nothing(body, signature):
    response = post(body, signature)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_webhook_refuses_a_signed_body_with_one_byte_changed(data):
    body = json.dumps(data.draw(json_values)).encode()
    signature = sign(body)
    at = data.draw(st.integers(0, len(body) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[at]))
    changed = body[:at] + bytes([byte]) + body[at + 1 :]
    assert post(changed, signature).status_code == 401
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@FUZZ
@given(document=json_values)
def test_webhook_stores_any_signed_json_as_received(document, django_capture_on_commit_callbacks):
    body = json.dumps(document).encode()
    with django_capture_on_commit_callbacks(execute=False):
        response = post(body, sign(body))
    assert response.status_code == 200 and response.content == b""
    assert bytes(WebhookDelivery.objects.latest("pk").body) == body


events_like = st.fixed_dictionaries(
    {"events": st.lists(json_values | st.dictionaries(st.sampled_from(EVENT_KEYS), typed))}
)


@pytest.mark.django_db
@FUZZ
@given(document=json_values | events_like)
def test_processing_any_signed_json_records_it_and_never_raises(document):
    """Signed by Xero yet anything at all: processing records what it could and moves on."""
    body = json.dumps(document).encode()
    delivery = delivery_store(body)
    delivery_process(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
