import pytest

from demo.data import demo_data_load
from invoices.models import Invoice, InvoiceStatus


@pytest.mark.django_db
def test_demo_data_gives_kiwi_a_draft_a_sent_and_a_partly_paid_invoice_once():
    demo_data_load()
    demo_data_load()
    invoices = Invoice.objects.filter(account__slug="kiwi-plumbing")
    assert sorted(invoices.values_list("status", flat=True)) == sorted(
        [InvoiceStatus.DRAFT, InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID]
    )
    partly = invoices.get(status=InvoiceStatus.PARTIALLY_PAID)
    assert 0 < partly.amount_paid < partly.total
    assert not Invoice.objects.filter(account__slug="harbour").exists()
