"""What the sync adds to the invoice pages through invoices.integrations: the list's Xero column
and filter, and the edit form's warning."""

import pytest
from django.urls import reverse

from xero_sync.models import InvoiceSync, XeroConnection

from ...factories import client_for, invoice_make

pytestmark = pytest.mark.django_db


def test_the_list_filters_by_where_the_invoice_stands_with_xero(account, staff_user):
    failed = invoice_make(account, issue=True)
    synced = invoice_make(account, issue=True)
    alone = invoice_make(account)
    connection = XeroConnection.objects.create(account=account, tenant_id="t-1")
    InvoiceSync.objects.create(
        connection=connection, invoice=failed, state="failed", error="Tax rate not mapped"
    )
    InvoiceSync.objects.create(connection=connection, invoice=synced, state="synced")
    url = reverse("invoices:index", args=[account.slug])
    client = client_for(staff_user)

    def listed(**params):
        return [i.pk for i in client.get(url, params).context["page"]]

    assert listed(sync="failed") == [failed.pk]
    assert listed(sync="synced") == [synced.pk]
    assert listed(sync="none") == [alone.pk]
    page = client.get(url, {"sync": "failed"}).content.decode()
    assert "Not sent: needs a fix" in page and 'title="Tax rate not mapped"' in page
