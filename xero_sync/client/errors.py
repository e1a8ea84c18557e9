"""Typed errors of the Xero adapter. Callers decide on these, never on SDK or HTTP details."""

from typing import Any

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError


class XeroError(Exception):
    """Base: `message` is fit to show an admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AuthLost(XeroError):
    """The grant is gone (invalid_grant, revoked, connection deleted): an admin must reconnect."""


class RateLimited(XeroError):
    def __init__(self, message: str, *, retry_after: float, problem: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.problem = problem


class ValidationFailed(XeroError):
    """Xero refused the request's content; `messages` are Xero's own words."""

    def __init__(self, messages: list[str], *, elements: list[dict[str, Any]] | None = None):
        super().__init__("; ".join(messages) or "Xero refused the request.")
        self.messages = messages
        self.elements = elements or []


class Transient(XeroError):
    """Timeouts, dropped connections, 5xx: retry later. For a write, `outcome_unknown` means
    Xero may have applied it, so the retry must look before it writes again."""

    def __init__(self, message: str, *, outcome_unknown: bool = False):
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class BadAnswer(Transient):
    """Xero answered, but with something that cannot be read (not JSON, not the shape the
    spec gives, nested without end). Retried like a dropped answer: for a write, Xero may have
    applied it."""


class NotFound(XeroError):
    pass


class NotConfigured(XeroError):
    """The product has no Xero credentials configured."""


# Not a fault of the record or the request at hand but of what they run on (the database, Redis
# or the network going away): the work is retried whole, never failed or quarantined for it.
OUTAGES: tuple[type[BaseException], ...] = (
    DatabaseOperationalError,
    DatabaseInterfaceError,
    RedisError,
    KombuOperationalError,
    OSError,
)
