# The sandbox fixture of the Xero tests, for the security tests that connect an account.
from ..xero_sync.conftest import xero  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    from .test_bad_input_walk import walk_summary

    summary = walk_summary()
    if summary:
        terminalreporter.write_line(summary)
