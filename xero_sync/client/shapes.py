"""Our own shapes of what the client returns: small frozen dataclasses, no SDK types."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tenant:
    """One organisation a grant reaches (an entry of Xero's /connections)."""

    xero_connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str


@dataclass(frozen=True)
class LedgerAccount:
    """An account in the organisation's chart of accounts."""

    account_id: str
    code: str
    name: str
    type: str
    status: str
    enable_payments: bool

    @property
    def can_take_payments(self) -> bool:
        """What the payment-account picker offers: active, payments enabled, not a bank."""
        return self.status == "ACTIVE" and self.enable_payments and self.type != "BANK"


@dataclass(frozen=True)
class Organisation:
    name: str
    country_code: str
    base_currency: str
    short_code: str


@dataclass(frozen=True)
class ContactGroup:
    """An active contact group of the organisation."""

    id: str
    name: str
