"""The one poll-until-true loop of the tests."""

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    interval: float = 0.05,
    *,
    describe: Callable[[], str] | None = None,
) -> Any:
    """Poll until predicate() is truthy and return its value; fail if it never is, with what
    `describe` says about why (a process's log tail, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{describe()}" if describe else ""
    raise AssertionError(f"condition not met within {timeout:.1f}s{detail}")
