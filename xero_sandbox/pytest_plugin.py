"""Pytest fixtures: a real sandbox subprocess per session, reset before every test.

    def test_x(xero_sandbox):
        client = xero_sandbox.sdk()            # real xero-python, connected to the first org
        xero_sandbox.fault("status", path="/api.xro/2.0/Invoices*", status=503)

Environment: XERO_SANDBOX_TEST_CONTACTS (contacts per demo org, default 25)."""

import os
import subprocess
import sys
import threading

import pytest

from .handle import SandboxHandle

READY = "Xero sandbox ready at "


def start_sandbox(
    log_path, *args: str, timeout: float = 60.0
) -> tuple[subprocess.Popen, SandboxHandle]:
    """Start `python -m xero_sandbox --port 0 ...`; return once it printed its URL."""
    log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the process)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "xero_sandbox", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: list[str] = []
    reader = threading.Thread(
        target=lambda: found.append(process.stdout.readline().decode()), daemon=True
    )
    reader.start()
    reader.join(timeout)
    line = found[0] if found else ""
    if not line.startswith(READY):
        process.kill()
        raise RuntimeError(f"xero sandbox did not start (see {log_path}): {line!r}")
    return process, SandboxHandle(line[len(READY) :].strip())


def stop_sandbox(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def xero_sandbox_server(tmp_path_factory):
    contacts = os.environ.get("XERO_SANDBOX_TEST_CONTACTS", "25")
    log_path = tmp_path_factory.mktemp("xero_sandbox") / "sandbox.log"
    process, handle = start_sandbox(log_path, "--contacts", contacts)
    handle.log_path = log_path
    yield handle
    stop_sandbox(process)


@pytest.fixture
def xero_sandbox(xero_sandbox_server) -> SandboxHandle:
    """The session's sandbox, reset: the two demo orgs, no tokens, no faults, clock at now."""
    xero_sandbox_server.reset()
    xero_sandbox_server.webhook_key = "sandbox-webhook-key"
    return xero_sandbox_server
