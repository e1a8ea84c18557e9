"""Typed calls about the connection itself: the grant's organisations, the organisation,
its chart of accounts and its tax rates."""

from typing import Any

from ..inbound import normalise
from .answers import dicts
from .errors import BadAnswer
from .shapes import LedgerAccount, Organisation, Tenant
from .transport import Transport


class ConnectionCalls(Transport):
    def connections(self, *, auth_event_id: str = "") -> list[Tenant]:
        kwargs = {"auth_event_id": auth_event_id} if auth_event_id else {}
        rows = self._call(
            "connections.list",
            lambda acc, ident, **o: ident.get_connections(**kwargs, **o),
            tenant=False,
        )
        return [
            Tenant(
                xero_connection_id=str(row.id),
                tenant_id=str(row.tenant_id),
                tenant_name=row.tenant_name or "",
                tenant_type=row.tenant_type or "",
                auth_event_id=str(row.auth_event_id or ""),
            )
            for row in rows or []
        ]

    def delete_connection(self, xero_connection_id: str) -> None:
        self._call(
            "connections.delete",
            lambda acc, ident, **o: ident.delete_connection(xero_connection_id, **o),
            tenant=False,
            write=True,
        )

    def organisation(self) -> Organisation:
        found = dicts(
            self._list(
                "organisation.get",
                lambda acc, ident, **o: acc.get_organisations(self.connection.tenant_id, **o),
                "Organisations",
            )
        )
        if not found:
            raise BadAnswer("Xero's answer holds no organisation.")
        org = found[0]
        return Organisation(
            name=normalise.text(org.get("Name"), 255),
            country_code=normalise.text(org.get("CountryCode"), 3),
            base_currency=normalise.text(org.get("BaseCurrency"), 3),
            short_code=normalise.text(org.get("ShortCode"), 20),
        )

    def ledger_accounts(self) -> list[LedgerAccount]:
        """The chart of accounts; an account Xero sends without an id is left out (it could
        not be chosen anyway)."""
        accounts = self._list(
            "accounts.list",
            lambda acc, ident, **o: acc.get_accounts(self.connection.tenant_id, **o),
            "Accounts",
        )
        return [
            LedgerAccount(
                account_id=normalise.text(a.get("AccountID"))[:64],
                code=normalise.text(a.get("Code"), 10),
                name=normalise.text(a.get("Name"), 150),
                type=normalise.text(a.get("Type"), 20),
                status=normalise.text(a.get("Status"), 20),
                enable_payments=normalise.flag(a.get("EnablePaymentsToAccount")),
            )
            for a in dicts(accounts)
            if normalise.text(a.get("AccountID"))
        ]

    def tax_rates(self) -> list[Any]:
        """The organisation's tax rates as Xero sent them (read by tax_mapping, one by one)."""
        return self._list(
            "tax_rates.list",
            lambda acc, ident, **o: acc.get_tax_rates(self.connection.tenant_id, **o),
            "TaxRates",
        )
