"""A hostile Xero: contacts, invoices and payments generated from the official spec's schemas
(tests/hostile_xero.py: any string the spec allows, any unicode, control characters, numbers
of any size, optional fields missing, dates mostly well-formed and sometimes any text).

- Contacts are held by the sandbox (seeded into the organisation as they are) and come in by
  the import, the poll and webhooks: every run finishes, and every contact arrives, is held as
  a possible duplicate, is skipped for a reason the product has (archived, merged), or is
  quarantined with its reason.
- Invoices and their payments reach the invoice poll and the webhook path as Xero's answers:
  every run finishes, and every readable payment on an invoice the CRM sent is recorded or
  held with its reason.
- The same generators feed the client's every read and write as answers of any status: every
  failure is one of the client's typed errors.

HOSTILE_XERO_EXAMPLES sets the examples per test (default 25; the closing note's run used
more). Each test writes what it generated to test-artifacts/hostile-xero-<test>.json."""

import datetime
import json
import os
import warnings
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning

from contacts.models import Contact
from xero_sync.client import XeroClient
from xero_sync.client.errors import XeroError
from xero_sync.client.limits import TenantLimiter
from xero_sync.client.shapes import ContactChanges, ItemBody, PaymentBody
from xero_sync.contacts import pull
from xero_sync.inbound import normalise
from xero_sync.invoices import from_xero
from xero_sync.models import (
    ContactImport,
    ImportStatus,
    InvoiceSync,
    PaymentSync,
    PossibleDuplicate,
    QuarantinedRecord,
    QuarantineKind,
    XeroConnection,
    XeroContact,
)

from .. import hostile_xero
from ..browser import ARTIFACTS
from ..factories import contact_make
from ..support.invoices import issue
from .conftest import KIWI, connect, run_import

warnings.filterwarnings("ignore", category=NonInteractiveExampleWarning)
EXAMPLES = int(os.environ.get("HOSTILE_XERO_EXAMPLES", "25"))


@pytest.fixture(autouse=True)
def limits_lifted(settings, xero):
    """Hundreds of runs a minute: Xero's per-minute limit (and ours) is not under test here."""
    settings.XERO_CALLS_PER_MINUTE = 100_000
    xero.set_limits(per_minute=100_000, per_day=1_000_000)


HOSTILE = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples in every run: CI is repeatable
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


def report(name: str, counts: Counter) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"hostile-xero-{name}.json").write_text(json.dumps(dict(counts), indent=1))
    print(f"hostile Xero, {name}: {dict(counts)}")


def _fresh(connection) -> None:
    """Each example starts from an account with no contacts and nothing held."""
    Contact.objects.filter(account=connection.account).delete()
    QuarantinedRecord.objects.filter(connection=connection).delete()
    PossibleDuplicate.objects.filter(connection=connection).delete()
    ContactImport.objects.filter(connection=connection).delete()
    XeroConnection.objects.filter(pk=connection.pk).update(
        contacts_synced_until=None, contact_group_ids=[], contact_group_members=[]
    )


def _outcome(connection, contact: dict) -> str:
    """Where one contact the sandbox holds ended up; "" when nowhere (a lost record)."""
    xero_id = normalise.text(contact.get("ContactID"))
    if XeroContact.objects.filter(connection=connection, xero_contact_id=xero_id).exists():
        return "arrived"
    if PossibleDuplicate.objects.filter(connection=connection, xero_contact_id=xero_id).exists():
        return "possible duplicate"
    held = QuarantinedRecord.objects.filter(connection=connection, kind=QuarantineKind.CONTACT)
    if held.filter(xero_id=xero_id[:64]).exclude(reason="").exists():
        return "quarantined"
    if contact.get("ContactStatus", "ACTIVE") != "ACTIVE":
        return "skipped: archived"
    if contact.get("MergedToContactID"):
        return "skipped: merged"
    return ""


@pytest.mark.django_db
def test_hostile_contacts_are_stored_or_held_and_no_run_stalls(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    tenant = xero.tenant_id(KIWI)
    org = xero.state(tenant)
    counts: Counter[str] = Counter()

    @HOSTILE
    @given(contacts=st.lists(hostile_xero.contacts(), max_size=8))
    def example(contacts):
        _fresh(connection)
        xero.seed(
            data=[
                {
                    "Organisation": org["Organisation"],
                    "Contacts": contacts,
                    "Accounts": org["Accounts"],
                    "TaxRates": org["TaxRates"],
                }
            ]
        )
        held_by_xero = xero.contacts(tenant)  # as the sandbox holds them (ids filled in)
        run = run_import(XeroConnection.objects.get(pk=connection.pk))
        assert run.status == ImportStatus.DONE, run.error
        fresh = XeroConnection.objects.get(pk=connection.pk)
        pull.contacts_poll(fresh)  # the poll finishes too
        for contact in held_by_xero[:3]:  # and webhooks naming them
            pull.contact_sync_one(fresh, contact["ContactID"])
        outcomes = [_outcome(connection, c) for c in held_by_xero]
        lost = [c for c, o in zip(held_by_xero, outcomes, strict=True) if not o]
        assert not lost, lost
        linked = XeroContact.objects.filter(connection=connection).count()
        assert Contact.objects.filter(account=account).count() == linked  # none unlinked
        counts.update(outcomes)
        counts["examples"] += 1

    example()
    report("contacts", counts)
    assert counts["examples"] == EXAMPLES and counts["arrived"] > 0


@pytest.mark.django_db
def test_hostile_invoices_and_payments_are_applied_or_held(
    ready,
    account,
    xero,
    tasks_inline,
):
    connection, gst = ready
    with tasks_inline():
        ours = [
            issue(account, gst, contact_make(account, first_name=f"Payer{n}", last_name="Test"))
            for n in range(3)
        ]
    xero_ids = [InvoiceSync.objects.get(invoice=i).xero_invoice_id for i in ours]
    counts: Counter[str] = Counter()
    twins = st.one_of(st.sampled_from(xero_ids), st.none())

    @HOSTILE
    @given(
        found=st.lists(
            st.tuples(hostile_xero.invoices(), twins, st.booleans()), min_size=1, max_size=4
        )
    )
    def example(found):
        QuarantinedRecord.objects.filter(connection=connection).delete()
        invoices = []
        for invoice, twin, sales in found:
            if twin:
                invoice["InvoiceID"] = twin
            if sales:
                invoice["Type"] = "ACCREC"
            invoices.append(invoice)
        body = json.dumps({"Invoices": invoices})
        xero.fault("status", method="GET", path="/api.xro/2.0/Invoices", status=200, body=body)
        from_xero.invoices_poll(XeroConnection.objects.get(pk=connection.pk))
        xero.fault("status", method="GET", path="/api.xro/2.0/Invoices/*", status=200, body=body)
        from_xero.invoice_update_from_xero(connection, xero_ids[0])  # a webhook
        xero.clear_faults()
        for invoice in invoices:
            counts.update(_payments_outcomes(connection, invoice))
        assert all(r.reason for r in QuarantinedRecord.objects.all())
        counts["invoices"] += len(invoices)
        counts["examples"] += 1

    example()
    report("invoices", counts)
    assert counts["examples"] == EXAMPLES and counts[""] == 0


def _payments_outcomes(connection, invoice: dict) -> list[str]:
    """Where each payment on an invoice the CRM sent ended up ("" when nowhere)."""
    xero_id = normalise.text(invoice.get("InvoiceID"))
    if (
        invoice.get("Type") not in ("ACCREC", None)
        or not InvoiceSync.objects.filter(connection=connection, xero_invoice_id=xero_id).exists()
    ):
        return ["not ours"]
    held = QuarantinedRecord.objects.filter(connection=connection)
    if held.filter(kind=QuarantineKind.INVOICE, xero_id=xero_id).exists():
        return ["invoice quarantined"]
    outcomes = []
    for payment in invoice.get("Payments") or []:
        payment_id = normalise.text(payment.get("PaymentID"))
        if payment.get("Status") == "DELETED":
            outcomes.append("deleted in Xero")
        elif PaymentSync.objects.filter(xero_payment_id=payment_id).exists():
            outcomes.append("payment recorded")
        elif held.filter(kind=QuarantineKind.PAYMENT, xero_id=payment_id[:64]).exists():
            outcomes.append("payment quarantined")
        elif held.filter(kind=QuarantineKind.PAYMENT, parent_xero_id=xero_id).exists():
            outcomes.append("payment quarantined")  # held without a usable id
        else:
            outcomes.append("")
    return outcomes


READS = {
    "contacts_page": (lambda c: c.contacts_page(1), "GET", "/api.xro/2.0/Contacts"),
    "contact": (lambda c: c.contact("x"), "GET", "/api.xro/2.0/Contacts/*"),
    "contact_groups": (lambda c: c.contact_groups(), "GET", "/api.xro/2.0/ContactGroups"),
    "group_members": (
        lambda c: c.contact_group_member_ids("g"),
        "GET",
        "/api.xro/2.0/ContactGroups/*",
    ),
    "invoices_page": (lambda c: c.invoices_page(1), "GET", "/api.xro/2.0/Invoices"),
    "invoice": (lambda c: c.invoice("x"), "GET", "/api.xro/2.0/Invoices/*"),
    "invoices_by_ids": (lambda c: c.invoices_by_ids(["x"]), "GET", "/api.xro/2.0/Invoices"),
    "invoices_by_number": (
        lambda c: c.invoices_by_number(["INV-1"]),
        "GET",
        "/api.xro/2.0/Invoices",
    ),
    "tax_rates": (lambda c: c.tax_rates(), "GET", "/api.xro/2.0/TaxRates"),
    "ledger_accounts": (lambda c: c.ledger_accounts(), "GET", "/api.xro/2.0/Accounts"),
    "organisation": (lambda c: c.organisation(), "GET", "/api.xro/2.0/Organisation"),
    "items": (lambda c: c.items(), "GET", "/api.xro/2.0/Items"),
}
WRITES = {
    "invoices_save": (
        lambda c: c.invoices_save([], idempotency_key="k1"),
        "POST",
        "/api.xro/2.0/Invoices",
    ),
    "contacts_create": (
        lambda c: c.contacts_create([], idempotency_key="k2"),
        "PUT",
        "/api.xro/2.0/Contacts",
    ),
    "contacts_save": (
        lambda c: c.contacts_save(
            [ContactChanges(contact_id="x", name="Ruth Tane")], idempotency_key="k4"
        ),
        "POST",
        "/api.xro/2.0/Contacts",
    ),
    "payment_create": (
        lambda c: c.payment_create(
            PaymentBody("i-1", "a-1", datetime.date(2026, 1, 1), Decimal(1), "r"),
            idempotency_key="k3",
        ),
        "POST",
        "/api.xro/2.0/Payments",
    ),
    "items_create": (
        lambda c: c.items_create([ItemBody("C-1", "One")], idempotency_key="k5"),
        "PUT",
        "/api.xro/2.0/Items",
    ),
}


def _answers():
    """Bodies as Xero might answer: envelopes of spec-shaped records, spec-shaped error bodies,
    and anything at all."""
    records = st.one_of(hostile_xero.contacts(), hostile_xero.invoices(), hostile_xero.tax_rates())
    envelope = st.fixed_dictionaries(
        {},
        optional={
            key: st.one_of(st.lists(records, max_size=3), records, st.text(max_size=5))
            for key in (
                "Contacts",
                "Invoices",
                "TaxRates",
                "Accounts",
                "ContactGroups",
                "Payments",
                "Organisations",
                "Elements",
                "pagination",
            )
        },
    ).map(json.dumps)
    other_json = st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=10,
    ).map(json.dumps)
    return st.one_of(envelope, envelope, other_json, st.text(max_size=200))


@pytest.mark.django_db
def test_every_failure_of_the_client_is_a_typed_error(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    counts: Counter[str] = Counter()
    calls = {**READS, **WRITES}

    @HOSTILE
    @given(
        name=st.sampled_from(sorted(calls)),
        status=st.sampled_from([200, 200, 200, 400, 403, 404, 429, 500, 503]),
        body=_answers(),
    )
    def example(name, status, body):
        call, method, path = calls[name]
        xero.clear_faults()
        TenantLimiter(connection.tenant_id).reset()  # a 429 before blocks the organisation
        xero.fault("status", method=method, path=path, status=status, body=body)
        try:
            call(XeroClient(XeroConnection.objects.get(pk=connection.pk)))
            counts["answered"] += 1
        except XeroError as error:
            counts[type(error).__name__] += 1
        counts["examples"] += 1
        # Whatever the answer, the connection is not given up on for a body's content.
        XeroConnection.objects.filter(pk=connection.pk).update(status=connection.status)

    example()
    report("client", counts)
    assert counts["examples"] == EXAMPLES
