"""The contact import page: Import runs exactly the filter that was previewed, and every run
says which filter it used."""

import re

import pytest
from django.urls import reverse

from contacts.models import Contact
from xero_sync.models import ContactImport, ImportStatus, XeroContact

from ..factories import client_for
from ..support.contacts import groups_named
from .conftest import connect


@pytest.mark.django_db
def test_import_runs_exactly_the_previewed_filter_and_the_preview_says_which(
    xero, account, admin_user, tasks_inline
):
    connection = connect(xero, account, admin_user)
    vip, trade = groups_named(xero, "VIP customers", "Trade accounts")
    members = set(vip["Contacts"]) | set(trade["Contacts"])
    assert 0 < len(members) < len(xero.contacts(connection.tenant_id))
    client = client_for(admin_user)
    page = reverse("xero_sync:contacts", args=[account.slug])
    with tasks_inline():
        response = client.post(
            page,
            {
                "scope": "groups",
                "group": [vip["ContactGroupID"], trade["ContactGroupID"]],
                "customers": "on",
                "suppliers": "on",
                "others": "on",
                "action": "preview",
            },
        )
    preview = ContactImport.objects.get(is_preview=True)
    assert preview.status == ImportStatus.PREVIEWED
    shown = client.get(response["Location"]).content.decode()
    found = re.search(r'id="import-filter">(.*?)</p>', shown, re.S)
    assert found, shown
    said = " ".join(found.group(1).split())
    assert (
        "Preview of: <strong>Contacts in the groups VIP customers or Trade accounts</strong>"
        in (said)
    )
    # The form below keeps the previewed filter; it does not fall back to "All contacts".
    assert re.search(r'value="groups" checked', shown)
    assert not re.search(r'value="all" checked', shown)
    for group in (vip, trade):
        assert re.search(rf'value="{group["ContactGroupID"]}"[^>]* checked', shown)

    # "Import these contacts" imports what was counted, whatever else the request carries.
    with tasks_inline():
        client.post(page, {"previewed": preview.pk, "scope": "all", "action": "import"})
    run = ContactImport.objects.get(is_preview=False)
    assert run.status == ImportStatus.DONE
    assert (run.contact_group_ids, run.contact_group_names) == (
        preview.contact_group_ids,
        ["VIP customers", "Trade accounts"],
    )
    assert run.created == preview.created == Contact.objects.filter(account=account).count()
    assert set(XeroContact.objects.values_list("xero_contact_id", flat=True)) <= members


@pytest.mark.django_db
def test_only_these_groups_with_none_ticked_is_refused_not_taken_as_all(xero, account, admin_user):
    connect(xero, account, admin_user)
    page = reverse("xero_sync:contacts", args=[account.slug])
    client = client_for(admin_user)
    for refused, why in [
        ({"scope": "groups", "customers": "on"}, "Tick at least one group"),
        ({"scope": "all"}, "Tick at least one kind of contact"),
    ]:
        response = client.post(page, {**refused, "action": "import"})
        assert why in response.content.decode()
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize(
    ("groups", "kinds", "said"),
    [
        ([], (True, True, True), "All contacts"),
        (["VIP"], (True, True, True), "Contacts in the group VIP"),
        (["VIP", "Trade", "Old"], (True, False, True), None),
        ([], (False, True, False), "All contacts: suppliers only"),
        ([], (False, False, False), "All contacts: none of the kinds (nothing comes in)"),
    ],
)
def test_a_filter_in_words(groups, kinds, said):
    run = ContactImport(
        contact_group_ids=[f"id-{g}" for g in groups],
        contact_group_names=groups,
        import_customers=kinds[0],
        import_suppliers=kinds[1],
        import_others=kinds[2],
    )
    expected = said or (
        "Contacts in the groups VIP, Trade or Old: customers and contacts that are neither yet only"
    )
    assert run.filter_in_words() == expected


@pytest.mark.django_db
def test_groups_xero_could_not_read_are_not_cached_and_the_page_says_so(xero, account, admin_user):
    connect(xero, account, admin_user)
    (vip,) = groups_named(xero, "VIP customers")
    client = client_for(admin_user)
    page = reverse("xero_sync:contacts", args=[account.slug])
    xero.fault("status", method="GET", path="/api.xro/2.0/ContactGroups*", status=503, count=None)
    text = client.get(page).content.decode()
    assert "contact groups could not be read just now" in text
    assert "has no contact groups" not in text  # not the empty list it used to show
    assert 'href="?refresh=1">Try again</a>' in text
    # Only some groups cannot be chosen while they are unknown; nothing starts.
    response = client.post(
        page,
        {
            "scope": "groups",
            "group": [vip["ContactGroupID"]],
            "customers": "on",
            "suppliers": "on",
            "others": "on",
            "action": "import",
        },
        follow=True,
    )
    assert "importing only some groups cannot be chosen" in response.content.decode()
    assert not ContactImport.objects.exists()
    # Nothing was cached: once Xero answers, the next visit shows the groups.
    xero.clear_faults()
    text = client.get(page).content.decode()
    assert "VIP customers" in text
    assert "could not be read just now" not in text
