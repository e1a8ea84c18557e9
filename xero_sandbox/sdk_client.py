"""The real xero-python SDK wired to a sandbox the way SDK-NOTES.md section 2 prescribes (one
Configuration, OAuth2Token and ApiClient per client, token getter and saver). Imported lazily:
only tests and scripts that want the SDK pay for it."""

from typing import TYPE_CHECKING, Any

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

if TYPE_CHECKING:  # the handle imports this module
    from .handle import SandboxHandle


class SdkClient:
    def __init__(
        self,
        handle: "SandboxHandle",
        tenant_id: str,
        token: dict[str, Any],
        transport_retries: bool = False,
    ) -> None:
        TokenApi.refresh_token_url = handle.token_url  # class attributes: process-global
        TokenApi.revoke_token_url = handle.revocation_url
        self.tenant_id = tenant_id
        self.token = dict(token)
        self.saved: list[dict[str, Any]] = []
        conf = Configuration()  # never pass arguments: SDK-NOTES G1
        conf.oauth2_token = OAuth2Token(
            client_id=handle.client_id, client_secret=handle.client_secret
        )
        self.api_client = ApiClient(
            conf, oauth2_token_getter=lambda: self.token, oauth2_token_saver=self._save
        )
        if not transport_retries:
            # urllib3's default Retry re-sends PUTs on timeouts and sleeps out a 429's
            # Retry-After; SDK-NOTES section 7 says to turn it off and retry in Celery.
            pool = self.api_client.rest_client.pool_manager
            pool.connection_pool_kw["retries"] = urllib3.Retry(total=0, redirect=0)
            pool.clear()
        self.accounting = AccountingApi(self.api_client, base_url=handle.api_url)
        self.identity = IdentityApi(self.api_client, base_url=handle.identity_url)

    def _save(self, token: dict[str, Any]) -> None:
        self.token = {k: v for k, v in token.items() if v is not None}
        self.saved.append(dict(token))

    def last_headers(self) -> dict[str, Any]:
        return dict(self.api_client.last_response.getheaders())
