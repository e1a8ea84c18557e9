"""Pytest fixtures: a real sandbox subprocess per session, reset before every test.

    def test_x(xero_sandbox):
        client = xero_sandbox.sdk()            # real xero-python, connected to the first org
        xero_sandbox.fault("status", path="/api.xro/2.0/Invoices*", status=503)

Environment: XERO_SANDBOX_TEST_CONTACTS (contacts per demo org, default 25)."""

import os
from collections.abc import Iterator

import pytest

from .handle import SandboxHandle
from .process import start_sandbox, stop_sandbox


@pytest.fixture(scope="session")
def xero_sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    contacts = os.environ.get("XERO_SANDBOX_TEST_CONTACTS", "25")
    log_path = tmp_path_factory.mktemp("xero_sandbox") / "sandbox.log"
    process, handle = start_sandbox(log_path, "--contacts", contacts)
    handle.log_path = log_path
    yield handle
    stop_sandbox(process)


@pytest.fixture
def xero_sandbox(xero_sandbox_server: SandboxHandle) -> SandboxHandle:
    """The session's sandbox, reset: the two demo orgs, no tokens, no faults, clock at now."""
    xero_sandbox_server.reset()
    xero_sandbox_server.webhook_key = "sandbox-webhook-key"
    return xero_sandbox_server
