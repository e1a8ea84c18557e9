import pytest

from ..support.xero import point_at_sandbox


@pytest.fixture
def base_url_on_sandbox(live_server, settings, xero_sandbox) -> str:
    """The live server's URL, with the product pointed at the sandbox and Xero sending the
    browser back to this server."""
    point_at_sandbox(settings, xero_sandbox)
    settings.XERO_REDIRECT_URI = f"{live_server.url}/xero/callback/"
    return live_server.url
