"""Contacts come in at connection, as the product promises: set-up's last step starts the
import with the chosen filter (all contacts unless chosen otherwise), a set-up left before that
step imports all of them anyway, and the integration page says which happened. Invoices written
before the connection are offered to Xero, from a date."""

import datetime
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from invoices.models import InvoiceStatus
from invoices.services import invoice_void, payment_record
from xero_sync.contacts import imports
from xero_sync.models import ContactImport, InvoiceSync, InvoiceSyncState, XeroConnection

from ..factories import client_for, invoice_make
from ..support.contacts import groups_named
from .conftest import KIWI, callback, connect, consent, start_connect


def integrations(client, account) -> str:
    return client.get(reverse("xero_sync:integrations", args=[account.slug])).content.decode()


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(dd|div|p|form)>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


@pytest.mark.django_db
def test_the_last_set_up_step_starts_the_import_with_the_chosen_filter(
    xero, account, admin_user, tasks_inline
):
    connect(xero, account, admin_user)
    client = client_for(admin_user)
    taxes = client.get(reverse("xero_sync:tax_mapping", args=[account.slug])).content.decode()
    step = reverse("xero_sync:setup_contacts", args=[account.slug])
    assert f'href="{step}" id="next-contacts"' in taxes
    page = client.get(step).content.decode()
    assert re.search(r'value="all" checked', page)  # all contacts unless chosen otherwise
    (vip,) = groups_named(xero, "VIP customers")
    with tasks_inline():
        response = client.post(
            step,
            {
                "scope": "groups",
                "group": [vip["ContactGroupID"]],
                "customers": "on",
                "suppliers": "on",
                "others": "on",
            },
            follow=True,
        )
    run = ContactImport.objects.get()
    assert not run.is_preview and not run.started_automatically
    assert run.status == "done" and run.contact_group_ids == [vip["ContactGroupID"]]
    assert "Importing contacts from Xero: Contacts in the group VIP customers." in (
        response.content.decode()
    )
    html = integrations(client, account)
    assert text_of(html, "xero-contacts").startswith("Contacts in the group VIP customers: done")
    assert 'id="contacts-not-imported"' not in html
    # Set-up is over: the tax page no longer leads to it, and nothing starts by itself.
    taxes = client.get(reverse("xero_sync:tax_mapping", args=[account.slug])).content.decode()
    assert 'id="next-contacts"' not in taxes
    XeroConnection.objects.update(status_changed_at=timezone.now() - timedelta(hours=1))
    assert imports.imports_start_where_setup_stopped() == 0


@pytest.mark.django_db
def test_the_default_at_the_last_step_is_all_contacts(xero, account, admin_user, tasks_inline):
    connection = connect(xero, account, admin_user)
    step = reverse("xero_sync:setup_contacts", args=[account.slug])
    with tasks_inline():
        client_for(admin_user).post(
            step, {"scope": "all", "customers": "on", "suppliers": "on", "others": "on"}
        )
    run = ContactImport.objects.get()
    assert run.filter_in_words() == "All contacts" and run.status == "done"
    assert run.item_count == len(xero.contacts(connection.tenant_id))


@pytest.mark.django_db
def test_a_set_up_left_before_the_contacts_step_imports_all_and_the_page_says_so(
    xero, account, admin_user, tasks_inline
):
    connect(xero, account, admin_user)  # and the admin goes away after choosing the account
    client = client_for(admin_user)
    page = integrations(client, account)
    said = text_of(page, "contacts-not-imported")
    assert said.startswith(f"Contacts from {KIWI} have not come in yet. All of them will be")
    assert "unless you choose which first" in said
    assert reverse("xero_sync:setup_contacts", args=[account.slug]) in page
    assert imports.imports_start_where_setup_stopped() == 0  # not yet: still in set-up

    XeroConnection.objects.update(status_changed_at=timezone.now() - timedelta(minutes=16))
    with tasks_inline():
        assert imports.imports_start_where_setup_stopped() == 1
        assert imports.imports_start_where_setup_stopped() == 0  # a second beat
    run = ContactImport.objects.get()
    assert run.started_automatically and run.status == "done"
    assert run.filter_in_words() == "All contacts" and run.started_by is None
    page = integrations(client, account)
    said = text_of(page, "contacts-automatic")
    assert said.startswith(f"All contacts were imported from {KIWI} , because set-up was left")
    assert "change the filter" in said
    assert reverse("xero_sync:contacts", args=[account.slug]) in page
    assert text_of(page, "xero-contacts").startswith("All contacts: done")
    # The set-up step, if the admin comes back to it, says so instead of offering a filter.
    step = client.get(reverse("xero_sync:setup_contacts", args=[account.slug])).content.decode()
    assert "Contacts are already coming in: All contacts (started automatically)" in " ".join(
        re.sub(r"<[^>]+>", " ", step).split()
    )


@pytest.mark.django_db
def test_earlier_invoices_are_offered_on_the_integration_page_and_sent_from_a_date(
    xero, account, admin_user, tasks_inline
):
    def written(day, **fields):
        return invoice_make(account, tax_mode="no_tax", issue_date=day, **fields)

    draft = written(datetime.date(2026, 1, 10))
    issued = written(datetime.date(2026, 2, 1), issue=True)
    paid = written(datetime.date(2026, 3, 1), issue=True)
    payment_record(invoice=paid, amount=Decimal("40.00"))
    invoice_void(invoice=written(datetime.date(2026, 3, 2)))  # nothing to send
    connection = connect(xero, account, admin_user)
    assert not InvoiceSync.objects.exists()  # they never went
    client = client_for(admin_user)
    page = integrations(client, account)
    assert text_of(page, "earlier-invoices").startswith(
        "3 invoices written before Xero was connected are not in Xero."
    )
    assert 'value="2026-01-10"' in page
    assert 'Send <span id="earlier-count">3 earlier invoices</span> to Xero' in page
    offer = reverse("xero_sync:earlier_invoices", args=[account.slug])
    assert client.get(offer, {"since": "2026-02-01"}).content.decode() == "2 earlier invoices"

    with tasks_inline():
        response = client.post(offer, {"since": "2026-02-01"}, follow=True)
    assert "Sending 2 earlier invoices to Xero, dated from 1 Feb 2026." in (
        response.content.decode()
    )
    in_xero = {i["InvoiceNumber"]: i for i in xero.invoices(connection.tenant_id)}
    assert set(in_xero) == {issued.number, paid.number}
    assert in_xero[issued.number]["Status"] == "AUTHORISED"
    assert Decimal(str(in_xero[paid.number]["AmountPaid"])) == Decimal("40.00")
    assert set(InvoiceSync.objects.values_list("state", flat=True)) == {InvoiceSyncState.SYNCED}
    assert 'Send <span id="earlier-count">1 earlier invoice</span>' in integrations(client, account)
    # Sending again from the same date finds nothing left to send.
    with tasks_inline():
        again = client.post(offer, {"since": "2026-02-01"}, follow=True).content.decode()
    assert "No invoice dated from 1 Feb 2026 is left to send." in again
    assert InvoiceSync.objects.count() == 2
    assert draft.status == InvoiceStatus.DRAFT


@pytest.mark.django_db
def test_the_last_set_up_step_offers_the_earlier_invoices_too(
    xero, account, admin_user, tasks_inline
):
    for day in (datetime.date(2026, 1, 5), datetime.date(2026, 2, 5)):
        invoice_make(account, tax_mode="no_tax", issue_date=day, issue=True)
    connection = connect(xero, account, admin_user)
    client = client_for(admin_user)
    step = reverse("xero_sync:setup_contacts", args=[account.slug])
    page = client.get(step).content.decode()
    assert '<strong id="earlier-count">2 earlier invoices</strong>' in page
    with tasks_inline():
        response = client.post(
            step,
            {
                "scope": "all",
                "customers": "on",
                "suppliers": "on",
                "others": "on",
                "send_earlier": "on",
                "since": "2026-02-01",
            },
            follow=True,
        )
    html = response.content.decode()
    assert "Importing contacts from Xero: All contacts." in html
    assert "Sending 1 earlier invoice to Xero, dated from 1 Feb 2026." in html
    assert len(xero.invoices(connection.tenant_id)) == 1
    assert ContactImport.objects.get().status == "done"


@pytest.mark.django_db
def test_invoices_written_while_set_up_was_under_way_go_once_it_is_done(
    xero, account, admin_user, tasks_inline
):
    client = client_for(admin_user)
    query = start_connect(client, account)
    chosen = callback(client, query, consent(xero, query, [KIWI]))  # organisation chosen
    with tasks_inline():
        invoice = invoice_make(account, tax_mode="no_tax", issue=True)
    sync = InvoiceSync.objects.get(invoice=invoice)
    assert sync.state == InvoiceSyncState.WAITING
    accounts = client.get(chosen["Location"]).context["choices"]
    stripe = next(a for a in accounts if a.name == "Stripe clearing")
    with tasks_inline():
        client.post(chosen["Location"], {"account": stripe.account_id})
    sync.refresh_from_db()
    assert sync.state == InvoiceSyncState.SYNCED, sync.error
