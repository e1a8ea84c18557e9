"""A Xero contact that is CRM contact A (by email, or by its link) while its phone belongs to CRM
contact B: A does not silently take B's phone. The clash is written to A's history once and the
two are listed under Possible duplicates with the reason, where an admin merges them or says
they are not one."""

import pytest
from django.urls import reverse

from contacts.models import Contact, ContactChange
from xero_sync.contacts import pull
from xero_sync.models import PhoneClash, XeroContact

from ..factories import client_for, contact_make
from .conftest import connect, run_import


@pytest.fixture
def clash(xero, account, admin_user):
    """CRM Ana (her email) and Bo (his phone); Xero's "Ana Hemi" has Ana's email and Bo's
    phone. Imported."""
    ana = contact_make(account, first_name="Ana", last_name="Hemi", email="ana@hemi.example")
    bo = contact_make(account, first_name="Bo", last_name="Rangi", phone="021 555 0150")
    connection = connect(xero, account, admin_user)
    xero.create_contact(
        connection.tenant_id,
        Name="Ana Hemi",
        EmailAddress="ana@hemi.example",
        Phones=[{"PhoneType": "MOBILE", "PhoneNumber": "021 555 0150"}],
        quiet=True,
    )
    run_import(connection)
    return connection, ana, bo


def clash_history(contact: Contact) -> list[str]:
    return list(
        ContactChange.objects.filter(contact=contact, field="phone_clash").values_list(
            "new_value", flat=True
        )
    )


@pytest.mark.django_db
def test_a_contact_matched_by_email_does_not_take_anothers_phone_and_the_clash_is_recorded(
    clash, xero
):
    connection, ana, bo = clash
    ana.refresh_from_db()
    bo.refresh_from_db()
    theirs = XeroContact.objects.get(contact=ana)  # matched by email, and linked
    assert (ana.phone, ana.phone_e164) == ("", "")  # not moved onto Ana
    assert bo.phone_e164 == "+64215550150"
    [said] = clash_history(ana)
    assert "its phone 021 555 0150 is Bo Rangi's" in said and "not moved" in said
    stored = PhoneClash.objects.get()
    assert (stored.contact, stored.phone_holder, stored.xero_contact_id) == (
        ana,
        bo,
        theirs.xero_contact_id,
    )
    # Xero changes the contact again: still not moved, and not told twice.
    xero.edit_contact(connection.tenant_id, theirs.xero_contact_id, LastName="Hemi-Rangi")
    connection.refresh_from_db()
    pull.contacts_poll(connection)
    ana.refresh_from_db()
    assert (ana.last_name, ana.phone) == ("Hemi-Rangi", "")
    assert len(clash_history(ana)) == 1 and PhoneClash.objects.count() == 1


@pytest.mark.django_db
def test_the_clash_is_a_group_on_possible_duplicates_merged_or_kept_apart(
    clash, account, admin_user
):
    _, ana, bo = clash
    client = client_for(admin_user)
    url = reverse("contacts:duplicates", args=[account.slug])
    page = client.get(url).content.decode()
    assert "Xero’s “Ana Hemi” is Ana Hemi here, but its phone 021 555 0150 is Bo Rangi’s" in (
        page.replace("&#x27;", "’").replace("'", "’")
    )
    [key] = [k for k in PhoneClash.objects.values_list("xero_contact_id", flat=True)]
    group_key = f"xero-phone:{key}:+64215550150"
    assert f'data-key="{group_key}"' in page

    client.post(url, {"key": group_key, "member": [ana.pk, bo.pk], "decision": "not_duplicates"})
    assert group_key not in client.get(url).content.decode()
    assert Contact.objects.filter(pk__in=[ana.pk, bo.pk]).count() == 2


@pytest.mark.django_db
def test_merging_the_clash_makes_one_contact_with_the_phone(clash, account, admin_user):
    _, ana, bo = clash
    key = PhoneClash.objects.get().xero_contact_id
    client_for(admin_user).post(
        reverse("contacts:duplicates", args=[account.slug]),
        {
            "key": f"xero-phone:{key}:+64215550150",
            "member": [ana.pk, bo.pk],
            "survivor": ana.pk,
            "decision": "merge",
        },
    )
    ana.refresh_from_db()
    assert not Contact.objects.filter(pk=bo.pk).exists()
    assert ana.phone_e164 == "+64215550150"
    assert not PhoneClash.objects.exists()  # settled with the merge
