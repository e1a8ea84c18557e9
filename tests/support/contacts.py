"""Xero contacts as the sandbox holds them: contact groups by name, a /Contacts page answer."""

import json

from demo.data import DEMO_CONTACTS

from ..factories import contact_make
from ..xero_sync.conftest import KIWI


def demo_contacts_make(account, rows=DEMO_CONTACTS) -> list:
    """The demo's CRM contacts (those the sandbox's demo organisation plants collisions with),
    in DEMO_CONTACTS order; or `rows` of the same shape."""
    return [
        contact_make(
            account,
            first_name=first,
            last_name=last,
            company_name=company,
            email=email,
            phone=phone,
        )
        for first, last, company, email, phone in rows
    ]


def groups_named(xero, *names) -> list[dict]:
    org = xero.state(xero.tenant_id(KIWI), "contact_groups")["ContactGroups"]
    return [next(g for g in org if g["Name"] == name) for name in names]


def contacts_page_answer(xero, tenant, *extra) -> str:
    """GET /Contacts as Xero would answer it, with `extra` records added to the page."""
    contacts = [c for c in xero.contacts(tenant)]
    return json.dumps(
        {
            "Status": "OK",
            "Contacts": [*contacts, *extra],
            "pagination": {"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": 99},
        }
    )
