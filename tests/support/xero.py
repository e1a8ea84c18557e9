"""The Xero sandbox as the product sees it: settings pointing at it, and the `xero` fixture (the
sandbox, reset, with our rate-limit state for its organisations cleared)."""

from urllib.parse import urlsplit

import pytest
from django.utils.csp import CSP

from xero_sync.client.limits import TenantLimiter, app_limits_reset


def point_at_sandbox(settings, sandbox) -> None:
    settings.XERO_CLIENT_ID = sandbox.client_id
    settings.XERO_CLIENT_SECRET = sandbox.client_secret
    settings.XERO_WEBHOOK_KEY = sandbox.webhook_key
    settings.XERO_AUTHORIZE_URL = sandbox.authorize_url
    settings.XERO_TOKEN_URL = sandbox.token_url
    settings.XERO_REVOKE_URL = sandbox.revocation_url
    settings.XERO_IDENTITY_API_URL = sandbox.identity_url
    settings.XERO_ACCOUNTING_API_URL = sandbox.api_url
    # Connect's form posts, then is redirected to the consent page: the CSP must allow it, as
    # settings.py allows XERO_AUTHORIZE_URL's origin.
    consent = urlsplit(sandbox.authorize_url)
    settings.SECURE_CSP = settings.SECURE_CSP | {
        "form-action": [CSP.SELF, f"{consent.scheme}://{consent.netloc}"]
    }


@pytest.fixture(autouse=True)
def our_limits_cleared(request):
    """Any test that has the sandbox (reset) also starts with our shared rate-limit state for its
    (deterministic) organisations cleared: a burst in the test before, in this process or its
    worker, must not pace this one's first calls (under xdist the order of files changes, and
    a browser test's connect once met the minute a burst test had used up)."""
    if "xero_sandbox" in request.fixturenames:
        app_limits_reset()
        for tenant in request.getfixturevalue("xero_sandbox").tenants():
            TenantLimiter(tenant["tenantId"]).reset()


@pytest.fixture
def xero(settings, xero_sandbox):
    """The sandbox, reset, with the product's settings pointing at it (and, as for every test
    that has the sandbox, our rate-limit state for its organisations cleared)."""
    point_at_sandbox(settings, xero_sandbox)
    return xero_sandbox
