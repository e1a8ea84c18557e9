"""Redis stops, then comes back empty, while the web app, a worker and beat run: every routed page
answers without a 5xx throughout (pages read what they need from PostgreSQL, or say that Xero cannot
be reached just now); an import started and webhooks received during the outage are stored and, once
Redis is back, done by the sweeps; beat never exits and schedules again. The routes are found by
walking the URL resolver, as the tenancy test does, so a new page is covered the moment it is
routed."""

import time

import pytest
from django.urls import reverse

from contacts.models import Contact
from xero_sync.models import ImportStatus, WebhookDelivery, WebhookEvent

from ..support.processes import own_redis, start_run, wait_for_run, web_session
from ..support.routes import ACCOUNT_PREFIX, all_routes, route_url
from ..support.webhooks import contact_event, payload, sign
from ..xero_sync.conftest import KIWI, connect
from .crash_processes import KillableWorker, SweepBeat, WebServer, WebSession

pytestmark = pytest.mark.slow

DELIVERIES = 3


def routed_pages(account) -> list[tuple[str, str]]:
    """(name, URL) of every named route but Django admin's own (its index is kept), with a real
    object of the account for each URL parameter."""
    return [
        (
            name,
            route_url(name, pattern, account)
            if route.startswith(ACCOUNT_PREFIX)
            else reverse(name),
        )
        for name, route, pattern in all_routes()
        if not name.startswith("admin:") or name == "admin:index"
    ]


def server_errors(session: WebSession, pages) -> list[tuple[str, int]]:
    return [(url, status) for url, status in walk(session, pages) if status >= 500]


def walk(session: WebSession, pages) -> list[tuple[str, int]]:
    return [(url, session.get(url).status) for _, url in pages]


def post_webhook(web, body: bytes) -> int:
    return (
        WebSession(web.url)
        .request(
            "POST",
            reverse("xero_webhook"),
            body,
            {"Content-Type": "application/json", "X-Xero-Signature": sign(body)},
        )
        .status
    )


@pytest.mark.django_db(transaction=True)
def test_redis_stopped_then_back_empty_costs_no_5xx_no_delivery_and_no_beat(
    private_redis,
    processes,
    tmp_path,
    xero,
    account,
    admin_user,
):
    admin_user.is_staff = admin_user.is_superuser = True  # ops and admin pages too
    admin_user.save()
    # The pages' sample objects (invoices and payments among them) come first, before Xero is
    # connected, so no drain of their invoices runs while the test is still making them.
    pages = routed_pages(account)
    connection = connect(xero, account, admin_user)
    redis = private_redis
    own = own_redis(redis)
    web = WebServer(processes, tmp_path, xero, **own)
    worker = KillableWorker(processes, tmp_path, xero, **own)
    beat = SweepBeat(processes, tmp_path, **own)
    browser = web_session(web, admin_user)
    first = start_run(browser, account, preview=False)
    wait_for_run(worker, first, ImportStatus.DONE, 120)
    assert server_errors(browser, pages) == []

    redis.kill()
    down = time.monotonic()
    during = server_errors(browser, pages)
    # Starting a preview stores the run; Xero's webhooks are stored and answered 200.
    preview = start_run(browser, account, preview=True)
    tenant = xero.tenant_id(KIWI)
    edited = [
        xero.edit_contact(tenant, c["ContactID"], EmailAddress=f"outage{n}@example.com")
        for n, c in enumerate(xero.contacts(tenant)[:DELIVERIES])
    ]
    answers = [
        post_webhook(
            web,
            payload(contact_event(tenant_id=tenant, resource_id=c["ContactID"], when=f"{n}")),
        )
        for n, c in enumerate(edited)
    ]
    sends_before = beat.sweeps_sent("xero-webhook-deliveries-sweep")
    redis.start()  # empty: no queued message, lock or schedule left
    back = time.monotonic()

    deliveries = WebhookDelivery.objects.all()

    def all_processed() -> bool:
        worker.keep_running()
        return not deliveries.filter(processed_at=None).exists()

    worker.wait_for(
        all_processed,
        120,
        interval=0.5,
    )
    wait_for_run(worker, preview, ImportStatus.PREVIEWED, 120, meanwhile=worker.keep_running)
    worker.wait_for(
        lambda: beat.sweeps_sent("xero-webhook-deliveries-sweep") >= sends_before + 3, 60
    )
    recovered = time.monotonic()
    after = server_errors(browser, pages)

    assert during == [] and after == [], (during, after)
    assert answers == [200] * DELIVERIES
    assert deliveries.count() == DELIVERIES
    assert WebhookEvent.objects.filter(outcome="handled").count() == DELIVERIES
    for contact in edited:
        crm = Contact.objects.get(xero_link__xero_contact_id=contact["ContactID"])
        assert crm.email == contact["EmailAddress"]
    assert preview.connection_id == connection.pk
    # Beat rode the outage out: never exited (nothing restarted it), and schedules again.
    assert beat.starts == 1 and beat.process.poll() is None
    print(
        f"\n{len(pages)} routes walked three times (before, during, after): no 5xx; Redis down "
        f"{back - down:.1f} s; {DELIVERIES} deliveries and the preview done "
        f"{recovered - back:.1f} s after it came back empty; worker exits restarted: "
        f"{worker.exits}"
    )
