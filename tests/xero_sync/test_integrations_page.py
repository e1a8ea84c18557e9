"""The Integrations page's recent sync activity says what each call did, in words."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

import xero_sync.client
from xero_sync.connection.models import CALL_WORDS, OUTCOME_WORDS

from ..factories import client_for
from .conftest import connect


@pytest.mark.django_db
def test_recent_activity_says_what_each_call_did_not_its_operation_name(xero, account, admin_user):
    connect(xero, account, admin_user)
    page = (
        client_for(admin_user)
        .get(reverse("xero_sync:integrations", args=[account.slug]))
        .content.decode()
    )
    activity = page[page.index('id="activity-heading"') :]
    assert "Listed the organisations signed in" in activity
    assert "Read the chart of accounts" in activity
    assert "Done" in activity
    for name in ("connections.list", "accounts.list", ">ok<"):
        assert name not in activity


def test_every_call_the_client_makes_and_every_outcome_it_records_has_words():
    source = "\n".join(p.read_text() for p in Path(xero_sync.client.__file__).parent.glob("*.py"))
    operations = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', source))
    assert operations and operations <= set(CALL_WORDS), operations - set(CALL_WORDS)
    outcomes = {
        a or b
        for a, b in re.findall(r'return "([a-z_]+)", |outcome(?:, \w+)? = "([a-z_]+)"', source)
    }
    assert outcomes and outcomes <= set(OUTCOME_WORDS), outcomes - set(OUTCOME_WORDS)
