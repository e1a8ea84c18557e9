"""Helpers for the Xero integration's tests: the connect flow driven through the product's own
views (the consent step without a browser), and contact imports. The `xero` fixture (the
sandbox, pointed at) comes from tests/support/xero.py."""

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from xero_sync.models import XeroConnection

from ..factories import client_for

KIWI = "Kiwi Plumbing Ltd"
HARBOUR = "Harbour Electrical Ltd"


def start_connect(client, account) -> dict:
    """Press Connect; returns the authorize URL's query, as Xero would receive it."""
    response = client.post(reverse("xero_sync:connect", args=[account.slug]))
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def consent(xero, query: dict, tenants: list[str]) -> str:
    """The user allows these organisations on Xero's consent page; returns the code."""
    return xero.authorize(
        scopes=query["scope"],
        tenants=[xero.tenant_id(name) for name in tenants],
        redirect_uri=query["redirect_uri"],
        code_challenge=query["code_challenge"],
        code_challenge_method=query["code_challenge_method"],
    )


def callback(client, query: dict, code: str):
    return client.get(reverse("xero_callback"), {"code": code, "state": query["state"]})


def connect(xero, account, user, *, org: str = KIWI, also: tuple[str, ...] = ()):
    """The whole setup as an admin does it; returns the connected XeroConnection."""
    client = client_for(user)
    query = start_connect(client, account)
    code = consent(xero, query, [org, *also])
    response = callback(client, query, code)
    if also:
        assert response["Location"] == reverse("xero_sync:organisation", args=[account.slug])
        response = client.post(response["Location"], {"tenant": xero.tenant_id(org)})
    assert response["Location"] == reverse("xero_sync:payment_account", args=[account.slug])
    page = client.get(response["Location"])
    stripe = next(a for a in page.context["choices"] if a.name == "Stripe clearing")
    client.post(response["Location"], {"account": stripe.account_id})
    return XeroConnection.objects.get(account=account)


def start_import(
    connection, user=None, *, preview=False, groups=(), customers=True, suppliers=True, others=True
):
    """Start an import (or preview) as the Contacts from Xero page does."""
    from xero_sync.contacts import imports

    return imports.import_start(
        connection=connection,
        preview=preview,
        group_ids=list(groups),
        customers=customers,
        suppliers=suppliers,
        others=others,
        user=user,
    )


def run_import(connection, user=None, **choices):
    """Start an import (or preview) and run it here, as the worker's task would."""
    from xero_sync.contacts import imports

    return imports.import_run(start_import(connection, user, **choices).pk)
