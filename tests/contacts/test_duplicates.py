"""Possible duplicates within the CRM: contacts sharing an email, an E.164 phone or a name are
listed in groups for an admin, who merges them (invoices, payments and history move to the one
kept) or says they are not duplicates; nothing is merged by itself."""

import pytest
from django.urls import reverse

from contacts.duplicates import duplicate_groups
from contacts.models import Contact, ContactChange
from invoices.models import Invoice

from ..factories import client_for, contact_make, invoice_make


def page(client, account):
    return client.get(reverse("contacts:duplicates", args=[account.slug]))


def decide(client, account, group, **fields):
    return client.post(
        reverse("contacts:duplicates", args=[account.slug]),
        {"key": group.key, "member": group.ids, **fields},
    )


@pytest.mark.django_db
def test_contacts_sharing_an_email_a_phone_or_a_name_are_grouped(account):
    a = contact_make(account, first_name="Chloe", last_name="Wu", email="Chloe@wu.example")
    b = contact_make(account, company_name="Wu Design", email="chloe@wu.example")
    c = contact_make(account, first_name="Ben", last_name="Carter", phone="021 555 0102")
    d = contact_make(account, first_name="Benjamin", last_name="Carter", phone="+64 21 555 0102")
    e = contact_make(account, first_name="Aroha", last_name="Ngata")
    f = contact_make(account, first_name="ngata", last_name="Aroha.")
    contact_make(account, first_name="Alone", last_name="Here", email="alone@example.com")
    groups = {g.key: g.ids for g in duplicate_groups(account)}
    assert groups == {
        "email:chloe@wu.example": sorted([a.pk, b.pk]),
        "phone:+64215550102": sorted([c.pk, d.pk]),
        "name:aroha ngata": sorted([e.pk, f.pk]),
    }


@pytest.mark.django_db
def test_merging_moves_invoices_and_history_to_the_one_kept(account, admin_user):
    kept = contact_make(account, first_name="Chloe", last_name="Wu", email="chloe@wu.example")
    other = contact_make(
        account, company_name="Wu Design", email="CHLOE@wu.example", phone="09 555 0103"
    )
    invoice = invoice_make(account, contact=other, issue=True)
    client = client_for(admin_user)
    [group] = page(client, account).context["groups"]
    response = decide(client, account, group, decision="merge", survivor=kept.pk)
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert Invoice.objects.get(pk=invoice.pk).contact_id == kept.pk
    kept.refresh_from_db()
    assert kept.phone == "09 555 0103"  # what the kept one lacked is taken from the other
    merged = ContactChange.objects.get(contact=kept, field="merged")
    assert f"{other.display_name} (#{other.pk}); took their company name, phone" in (
        merged.new_value
    )
    assert ContactChange.objects.filter(contact=kept, field="created").count() == 2
    assert page(client, account).context["groups"] == []


@pytest.mark.django_db
def test_a_merge_takes_a_billing_address_whole_never_pieced_together(account, admin_user):
    kept = contact_make(account, first_name="Mere", last_name="Addr", email="m@addr.example")
    partial = contact_make(account, first_name="Mere", last_name="Addr", address_city="Napier")
    whole = contact_make(
        account,
        first_name="mere",
        last_name="addr",
        address_line1="PO Box 3",
        address_city="Hastings",
        address_postal_code="4120",
    )
    client = client_for(admin_user)
    [group] = page(client, account).context["groups"]
    decide(client, account, group, decision="merge", survivor=kept.pk)
    kept.refresh_from_db()
    assert kept.address_lines == ["Napier"]  # the first with one, whole: no PO Box 3 in Napier
    assert not Contact.objects.filter(pk__in=[partial.pk, whole.pk]).exists()
    merged = ContactChange.objects.get(contact=kept, field="merged")
    assert "billing address" in merged.new_value


@pytest.mark.django_db
def test_not_duplicates_are_not_listed_again_until_the_group_changes(account, admin_user):
    contact_make(account, first_name="Sam", last_name="Lee", email="sam@lee.example")
    contact_make(account, first_name="Sam", last_name="Lee", email="other@lee.example")
    client = client_for(admin_user)
    [group] = page(client, account).context["groups"]
    decide(client, account, group, decision="not_duplicates")
    assert page(client, account).context["groups"] == []
    assert Contact.objects.filter(account=account).count() == 2
    third = contact_make(account, first_name="Sam", last_name="Lee")
    [again] = page(client, account).context["groups"]
    assert third.pk in again.ids


@pytest.mark.django_db
def test_staff_cannot_see_or_decide_and_another_accounts_contacts_are_not_merged(
    account, admin_user, staff_user, other_account
):
    contact_make(account, first_name="Sam", last_name="Lee")
    contact_make(account, first_name="Sam", last_name="Lee")
    assert page(client_for(staff_user), account).status_code == 403
    client = client_for(admin_user)
    stranger = contact_make(other_account, first_name="Sam", last_name="Lee")
    [group] = page(client, account).context["groups"]
    response = client.post(
        reverse("contacts:duplicates", args=[account.slug]),
        {
            "key": group.key,
            "member": [*group.ids, stranger.pk],
            "decision": "merge",
            "survivor": stranger.pk,
        },
    )
    assert response.status_code == 302
    assert Contact.objects.filter(account=account).count() == 2
    assert Contact.objects.filter(pk=stranger.pk).exists()


@pytest.mark.django_db
def test_the_demo_data_has_chloe_wu_twice_for_the_review():
    from demo.data import demo_data_load
    from platform_crm.models import Account

    demo_data_load()
    demo_data_load()  # twice adds nothing
    kiwi = Account.objects.get(slug="kiwi-plumbing")
    groups = {g.key: [c.display_name for c in g.contacts] for g in duplicate_groups(kiwi)}
    assert groups == {"name:chloe wu": ["Chloe Wu", "Chloe Wu"]}
