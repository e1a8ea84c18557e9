"""Webhook events for what the CRM itself wrote to Xero cost no call: each is recognised as the
return of our own write (xero_sync.webhooks.own_writes). A change made in Xero after our write
is still fetched, whichever of the two events comes first."""

from collections import Counter
from decimal import Decimal

import pytest

from contacts.services import contact_update
from xero_sync.contacts import push
from xero_sync.invoices import drain as invoice_drain
from xero_sync.models import InvoiceSync, OwnWrite, WebhookEvent, XeroContact
from xero_sync.webhooks.dispatch import delivery_process
from xero_sync.webhooks.store import delivery_store

from ..factories import contact_make
from ..support.invoices import issue, issue_many
from ..support.webhooks import payload

API = "/api.xro/2.0"


class Deliveries:
    """Xero's webhook deliveries to us: each call delivers the events emitted since the last,
    processed as the worker's task does."""

    def __init__(self, xero):
        self.xero, self.seen = xero, 0

    def deliver(self, *, reverse=False):
        events = self.xero.webhook_events()[self.seen :]
        self.seen += len(events)
        delivery_process(delivery_store(payload(*(events[::-1] if reverse else events))).pk)
        return events

    def lose(self):
        """The events emitted since the last delivery never reach us."""
        self.seen = len(self.xero.webhook_events())


def calls(xero):
    """(method, path with a record's id as {id}) -> how many."""
    counted: Counter[tuple[str, str]] = Counter()
    for r in xero.requests():
        parts = r["path"].split("/")
        counted[r["method"], "/".join(parts[:4] + (["{id}"] if len(parts) > 4 else []))] += 1
    return counted


@pytest.mark.django_db
def test_a_burst_reads_back_nothing_it_wrote(ready, account, xero):
    connection, gst = ready
    contacts = [contact_make(account, first_name="Own", last_name=f"Write {i}") for i in range(3)]
    issue_many(account, gst, contacts, 60)
    webhooks = Deliveries(xero)
    webhooks.deliver()  # what the setup itself caused
    xero.clear_requests()
    invoice_drain.invoices_drain(connection.pk)
    events = webhooks.deliver()
    assert Counter(e["eventCategory"] for e in events) == {"INVOICE": 60, "CONTACT": 3}
    # The three contacts created in one call, the invoices in two batches of 50 and 10, and
    # not one read of what was written: no GET of the contacts or the invoices.
    assert calls(xero) == {("PUT", f"{API}/Contacts"): 1, ("POST", f"{API}/Invoices"): 2}
    outcomes = Counter(
        WebhookEvent.objects.filter(resource_id__in=[e["resourceId"] for e in events]).values_list(
            "outcome", flat=True
        )
    )
    assert outcomes == {"own_write": 63}
    assert not OwnWrite.objects.exists()  # each write excused its one event
    # The contacts' links hold Xero's contact as our write left it, as a fetch would have.
    links = XeroContact.objects.filter(contact__in=contacts)
    assert all(link.xero_updated_at and link.payload["Name"] for link in links)


@pytest.mark.django_db
def test_a_change_in_xero_after_our_write_is_still_fetched(ready, account, xero, admin_user):
    connection, gst = ready
    ours = contact_make(account, first_name="Mere", last_name="Tane", email="mere@x.example")
    issue(account, gst, ours)
    webhooks = Deliveries(xero)
    webhooks.deliver()
    invoice_drain.invoices_drain(connection.pk)
    link = XeroContact.objects.get(contact=ours)
    # Someone edits the contact in Xero at once; its event reaches us before our own
    # write's event does (Xero does not promise the order).
    xero.edit_contact(connection.tenant_id, link.xero_contact_id, EmailAddress="new@x.example")
    xero.clear_requests()
    events = webhooks.deliver(reverse=True)
    assert [e["eventType"] for e in events] == ["CREATE", "CREATE", "UPDATE"]
    # Our CREATE excuses the contact's CREATE event only; the edit's UPDATE is fetched.
    assert calls(xero) == {("GET", f"{API}/Contacts/{{id}}"): 1}
    link.refresh_from_db()
    assert link.payload["EmailAddress"] == "new@x.example"

    # A payment made in Xero the moment our invoice was created, our own event lost (Xero
    # gave up on it): the payment's event is fetched and the payment recorded.
    second = issue(account, gst, ours)
    invoice_drain.invoices_drain(connection.pk)
    webhooks.lose()
    sync = InvoiceSync.objects.get(invoice=second)
    xero.pay_invoice(connection.tenant_id, sync.xero_invoice_id, amount="10.00")
    xero.clear_requests()
    webhooks.deliver()
    assert calls(xero) == {("GET", f"{API}/Invoices/{{id}}"): 1}
    assert [p.amount for p in second.payments.all()] == [Decimal("10.00")]

    # An update of ours whose event was lost excuses nothing made in Xero minutes later.
    contact_update(contact=ours, by=admin_user, phone="021 555 0100")
    assert push.contacts_push(connection.pk).synced == 1
    webhooks.lose()
    xero.advance(minutes=5)
    xero.edit_contact(connection.tenant_id, link.xero_contact_id, EmailAddress="later@x.example")
    xero.clear_requests()
    webhooks.deliver()
    assert calls(xero) == {("GET", f"{API}/Contacts/{{id}}"): 1}
    link.refresh_from_db()
    assert link.payload["EmailAddress"] == "later@x.example"
