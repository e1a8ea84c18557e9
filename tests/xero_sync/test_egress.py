"""Bytes received from Xero (data egress, which Xero bills) are counted on each call's row, as
Xero sent them, and shown per organisation for today on Sync activity and /ops/health/."""

import pytest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from xero_sync.client import XeroClient
from xero_sync.models import XeroCall

from ..factories import client_for
from .conftest import connect
from .test_ops_health import HEALTH, superuser  # noqa: F401 (a fixture)

MISSING = "00000000-0000-0000-0000-000000000001"


@pytest.mark.django_db
def test_each_calls_answer_is_counted_as_xero_sent_it_and_shown_for_today(
    xero,
    account,
    admin_user,
    superuser,  # noqa: F811 (the fixture)
):
    connection = connect(xero, account, admin_user)
    xero.clear_requests()
    start = XeroCall.objects.order_by("-pk").values_list("pk", flat=True).first()
    client = XeroClient(connection)
    client.organisation()  # a page read as Xero's JSON
    client.contacts_page(1, page_size=10)
    assert client.contact(MISSING) is None  # a 404's body counts too
    client.connections()  # an answer read by the SDK into its models (not the organisation's)
    ours = list(XeroCall.objects.filter(pk__gt=start).order_by("pk"))
    sent = xero.requests()
    assert [c.response_bytes for c in ours] == [r["response_bytes"] for r in sent]
    assert all(c.response_bytes > 0 for c in ours)
    # Per organisation per day, as Xero (the sandbox) counts what it sent to the organisation.
    (today,) = xero.egress(tenant=connection.tenant_id)
    assert sum(c.response_bytes for c in ours[:3]) == today["bytes"]

    received = sum(
        XeroCall.objects.filter(connection=connection).values_list("response_bytes", flat=True)
    )
    page = client_for(admin_user).get(reverse("xero_sync:activity", args=[account.slug]))
    assert page.context["budget"].bytes_today == received
    assert f"{filesizeformat(received)} received" in page.content.decode()
    health = client_for(superuser).get(HEALTH)
    (row,) = [r for r in health.context["rows"] if r.account == account]
    assert row.bytes_today == received
