# The sandbox fixture of the Xero tests, for the security tests that connect an account.
from ..xero_sync.conftest import xero  # noqa: F401
