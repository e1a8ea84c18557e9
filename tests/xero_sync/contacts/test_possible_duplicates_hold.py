"""Holding possible duplicates costs a fixed number of queries however many a page finds (a
large import can hold thousands; one query or more each made it slower with every page)."""

import pytest

from tests.factories import contact_make
from xero_sync.contacts.duplicates import possible_duplicates_hold
from xero_sync.contacts.mapping import xero_values
from xero_sync.contacts.matching import Duplicate
from xero_sync.models import PossibleDuplicate

from ..conftest import connect


def sighting(n: int, contact, *, name: str = "") -> Duplicate:
    raw = {
        "ContactID": f"00000000-0000-0000-0000-{n:012d}",
        "Name": name or f"Company {n}",
        "EmailAddress": f"someone{n}@example.com",
        "ContactStatus": "ACTIVE",
    }
    return Duplicate(values=xero_values(raw, region="NZ"), contact=contact, matched_by="email")


@pytest.mark.django_db
def test_a_page_of_possible_duplicates_is_held_and_updated_in_a_fixed_number_of_queries(
    xero, account, admin_user, django_assert_max_num_queries
):
    connection = connect(xero, account, admin_user)
    crm = [contact_make(account, first_name="Crm", last_name=str(n)) for n in range(3)]
    first = [sighting(n, crm[n % 3]) for n in range(200)]
    with django_assert_max_num_queries(6):
        possible_duplicates_hold(connection, first)
    assert PossibleDuplicate.objects.filter(connection=connection, resolved_at=None).count() == 200

    # Seen again with Xero's latest name, and fifty new ones: still a handful of queries.
    again = [sighting(n, crm[0], name=f"Renamed {n}") for n in range(150, 250)]
    with django_assert_max_num_queries(6):
        possible_duplicates_hold(connection, again)
    held = PossibleDuplicate.objects.filter(connection=connection, resolved_at=None)
    assert held.count() == 250
    renamed = held.get(xero_contact_id="00000000-0000-0000-0000-000000000199")
    assert (renamed.xero_name, renamed.contact) == ("Renamed 199", crm[0])
    assert held.get(xero_contact_id="00000000-0000-0000-0000-000000000010").xero_name == (
        "Company 10"
    )


@pytest.mark.django_db
def test_a_possible_duplicate_decided_before_is_held_again_as_a_new_listing(
    xero, account, admin_user
):
    connection = connect(xero, account, admin_user)
    crm = contact_make(account, first_name="Chloe", last_name="Wu")
    possible_duplicates_hold(connection, [sighting(1, crm)])
    PossibleDuplicate.objects.update(resolved_at="2026-12-01T00:00:00Z", resolution="created")
    possible_duplicates_hold(connection, [sighting(1, crm)])
    assert PossibleDuplicate.objects.filter(connection=connection).count() == 2
    assert PossibleDuplicate.objects.filter(connection=connection, resolved_at=None).count() == 1
