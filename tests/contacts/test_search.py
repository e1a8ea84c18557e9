"""Contact search (the contact list and the invoice form's picker): each word typed starts a
word of the name, the company or the email, in any order; the account's contacts only. What
matches is checked here; how fast is bench/contact_list.py and bench/contact_picker.py."""

import pytest

from contacts.models import Contact
from contacts.selectors import contact_list, contact_matches

from ..factories import contact_make

pytestmark = pytest.mark.django_db


def found(account, search: str) -> set[str]:
    listed = {c.display_name for c in contact_list(account, search=search)}
    picked, _ = contact_matches(account, search=search)
    assert {c.display_name for c in picked} == listed  # the picker finds what the list finds
    return listed


def test_a_search_matches_the_starts_of_words_of_name_company_and_email(account, other_account):
    contact_make(
        account,
        first_name="Chloe",
        last_name="Wu",
        company_name="Wu Design Studio",
        email="chloe@wu-design.example",
    )
    contact_make(account, first_name="Tāwhiri", last_name="O'Brien-Smith")
    contact_make(account, first_name="Ben", last_name="Carter", email="ben.carter7@mail.example")
    contact_make(account, first_name="", last_name="", company_name="Alpine Catering")
    contact_make(other_account, first_name="Chloe", last_name="Wu", email="chloe@wu.example")

    chloe, tawhiri, ben = {"Chloe Wu"}, {"Tāwhiri O'Brien-Smith"}, {"Ben Carter"}
    assert found(account, "chloe wu") == found(account, "WU  chl") == chloe  # any order, case
    assert found(account, "design stud") == found(account, "wu-design") == chloe  # company, email
    assert found(account, "chloe@wu-design.example") == chloe  # a whole email
    assert found(account, "tāwhiri") == found(account, "o'brien") == tawhiri  # macron, apostrophe
    assert found(account, "brien smi") == tawhiri and found(account, "obrien") == set()
    assert found(account, "carter7@mail") == found(account, "ben.car") == ben
    assert found(account, "caterin") == {"Alpine Catering"}
    # Every word must start a word of the same contact; inside a word is no match.
    assert found(account, "chloe carter") == set()
    assert found(account, "hloe") == found(account, "atering") == found(account, "7") == set()
    assert found(account, "- @ '") == set()  # no word at all: nothing, not everything


def test_a_renamed_contact_is_found_by_its_new_name_only(account):
    """search_words is the database's own (a generated column): kept true by every write,
    bulk updates and imports included, which do not go through Contact.save()."""
    contact = contact_make(account, first_name="Aroha", last_name="Ngata")
    Contact.objects.filter(pk=contact.pk).update(last_name="Tane", company_name="Kiwi Kai")
    assert found(account, "ngata") == set()
    assert found(account, "aroha tane") == found(account, "kai") == {"Aroha Tane"}
    Contact.objects.bulk_create([Contact(account=account, first_name="Mere", last_name="Ngata")])
    assert found(account, "ngata") == {"Mere Ngata"}


def test_an_account_whose_id_starts_with_yours_is_not_searched(account):
    """The index holds every account's words as "<account id>:<word>": the colon keeps account
    7's "1chl" from being a prefix of account 71's "chloe"."""
    from platform_crm.models import Account

    neighbour = Account.objects.create(pk=int(f"{account.pk}1"), name="Neighbour", slug="nb")
    contact_make(neighbour, first_name="Chloe", last_name="Wu", email="1chloe@wu.example")
    contact_make(account, first_name="Ben", last_name="Carter")
    assert found(account, "1chl") == found(account, "chloe") == set()
    assert found(neighbour, "1chl") == found(neighbour, "chloe") == {"Chloe Wu"}
