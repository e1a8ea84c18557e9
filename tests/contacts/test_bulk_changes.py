"""contacts_apply_changes: many contacts created and edited at once (an import), each change in
the audit trail as the one-at-a-time services record it, and only in its own account."""

import pytest

from contacts.models import ChangeSource, Contact, ContactChange
from contacts.services import ContactEdit, ContactValues, contacts_apply_changes

from ..factories import contact_make


def trail(contact_id: int) -> list[tuple]:
    return list(
        ContactChange.objects.filter(contact_id=contact_id)
        .order_by("id")
        .values_list("field", "old_value", "new_value", "source")
    )


@pytest.mark.django_db
def test_creates_and_edits_are_written_with_their_audit_rows(account):
    kept = contact_make(account, first_name="Chloe", last_name="Wu", is_customer=True)
    kept.company_name, kept.is_supplier = "Wu Design Studio", True
    ids = contacts_apply_changes(
        account=account,
        creates=[
            ContactValues(first_name="Aroha", last_name="Ngata", email="aroha@example.co.nz"),
            ContactValues(company_name="Alpine Catering", is_customer=False, is_supplier=True),
            ContactValues(email="only@example.com"),
        ],
        updates=[
            ContactEdit(
                kept, [("company_name", "", "Wu Design Studio"), ("is_supplier", False, True)]
            )
        ],
        source=ChangeSource.XERO,
    )
    assert len(ids) == 3 and ids == sorted(ids)
    aroha, alpine, only = (Contact.objects.get(pk=pk) for pk in ids)
    assert (aroha.account, aroha.sort_name, aroha.is_customer) == (account, "aroha ngata", True)
    assert (alpine.is_customer, alpine.is_supplier, alpine.is_archived) == (False, True, False)
    # The display name in the trail is the contacts app's own rule.
    for contact in (aroha, alpine, only):
        assert trail(contact.pk) == [("created", "", contact.display_name, "xero")]
    kept.refresh_from_db()
    assert (kept.company_name, kept.is_supplier) == ("Wu Design Studio", True)
    assert trail(kept.pk) == [
        ("created", "", "Chloe Wu", "user"),
        ("company_name", "", "Wu Design Studio", "xero"),
        ("is_supplier", "False", "True", "xero"),
    ]


@pytest.mark.django_db
def test_a_contact_of_another_account_is_refused(account, other_account):
    theirs = contact_make(other_account, first_name="Mere", last_name="")
    theirs.last_name = "Tane"
    with pytest.raises(ValueError, match="another account"):
        contacts_apply_changes(
            account=account,
            creates=[],
            updates=[ContactEdit(theirs, [("last_name", "", "Tane")])],
            source=ChangeSource.XERO,
        )
    theirs.refresh_from_db()
    assert theirs.last_name == ""
    assert not ContactChange.objects.filter(field="last_name").exists()
