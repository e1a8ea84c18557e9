"""Property test: for random invoices, our totals equal Xero's (the sandbox's, through the real
SDK) to the cent: exclusive, inclusive and no-tax; single, multi-component and compound rates;
discounts; quantities with 4 decimals."""

import datetime
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xero_python.accounting import Contact, Invoice, Invoices, LineAmountTypes, LineItem

from taxes.calculation import Component, Line, TaxMode, invoice_totals

# The sandbox's NZ organisation's sales rates and the same rates as the CRM holds them.
RATES = {
    "OUTPUT2": (Component("GST", D(15)),),
    "TAX001": (Component("GST", D(15)), Component("Levy", D(2))),
    "TAX002": (Component("GST", D(15)), Component("Levy", D(2), compound=True)),
    "ZERORATEDOUTPUT": (Component("GST", D(0)),),
}
MODES = {
    TaxMode.EXCLUSIVE: LineAmountTypes.EXCLUSIVE,
    TaxMode.INCLUSIVE: LineAmountTypes.INCLUSIVE,
    TaxMode.NO_TAX: LineAmountTypes.NOTAX,
}

lines = st.lists(
    st.tuples(
        st.decimals(min_value=D("0.0001"), max_value=D("500"), places=4),  # quantity
        st.decimals(min_value=D("0.01"), max_value=D("20000"), places=4),  # unit price
        st.decimals(min_value=D(0), max_value=D("100"), places=2),  # discount %
        st.sampled_from(sorted(RATES)),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=lines, mode=st.sampled_from(list(TaxMode)))
def test_our_totals_equal_xeros_to_the_cent(xero_sandbox, raw, mode):
    xero_sandbox.set_limits(per_minute=1_000_000, per_day=1_000_000)
    tenant = xero_sandbox.tenant_id("Kiwi Plumbing Ltd")
    sdk = xero_sandbox.sdk(tenant)
    contact_id = xero_sandbox.contacts(tenant)[0]["ContactID"]
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=datetime.date(2026, 11, 24),
        due_date=datetime.date(2026, 12, 24),
        line_amount_types=MODES[mode],
        line_items=[
            LineItem(
                description=f"line {i}",
                quantity=q,
                unit_amount=u,
                discount_rate=d,
                account_code="200",
                tax_type=tax_type,
            )
            for i, (q, u, d, tax_type) in enumerate(raw)
        ],
    )
    created = sdk.accounting.create_invoices(
        tenant, Invoices(invoices=[invoice]), summarize_errors=False, unitdp=4
    ).invoices[0]
    assert not created.has_errors, [v.message for v in created.validation_errors or []]

    ours = invoice_totals([Line(q, u, d, RATES[t]) for q, u, d, t in raw], mode)
    assert (created.sub_total, created.total_tax, created.total) == (
        ours.subtotal,
        ours.total_tax,
        ours.total,
    )
    assert [(x.line_amount, x.tax_amount) for x in created.line_items] == [
        (r.line_amount, r.tax_amount) for r in ours.lines
    ]
