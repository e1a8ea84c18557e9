"""Set while a change that came from Xero is applied to the CRM: the CRM services still send
their signals, and the outbox must not queue Xero's own change back to Xero."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from invoices.history import changes_from
from invoices.models import EventSource

applying_from_xero: ContextVar[bool] = ContextVar("applying_from_xero", default=False)


@contextmanager
def changes_from_xero() -> Iterator[None]:
    token = applying_from_xero.set(True)
    try:
        with changes_from(EventSource.XERO):  # the invoice's history says where it happened
            yield
    finally:
        applying_from_xero.reset(token)
