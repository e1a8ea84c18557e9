"""Typed calls about the connection itself: the grant's organisations, the organisation,
its chart of accounts, its tax rates and its currencies."""

from typing import Any

from xero_python.accounting import Currency as XCurrency
from xero_python.accounting import CurrencyCode

from ..inbound import normalise
from .answers import dicts
from .errors import BadAnswer
from .shapes import (
    BrandingTheme,
    Currency,
    LedgerAccount,
    Organisation,
    Tenant,
    TrackingCategory,
    TrackingOption,
)
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
            period_lock_date=normalise.day(org.get("PeriodLockDate")),
            end_of_year_lock_date=normalise.day(org.get("EndOfYearLockDate")),
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

    def currencies(self) -> list[Currency]:
        """The currencies the organisation has enabled (base first, as Xero lists them); a
        code that is not three letters is left out (no invoice could use it)."""
        found = self._list(
            "currencies.list",
            lambda acc, ident, **o: acc.get_currencies(self.connection.tenant_id, **o),
            "Currencies",
        )
        currencies = []
        for raw in dicts(found):
            code = normalise.text(raw.get("Code"))
            if len(code) == 3 and code.isalpha() and code.isupper():
                currencies.append(Currency(code, normalise.text(raw.get("Description"), 100)))
        return currencies

    def currency_add(self, code: str, *, idempotency_key: str) -> Currency:
        """PUT /Currencies: enable one more currency in the organisation. A code outside
        Xero's list raises ValueError before any call."""
        body = XCurrency(code=CurrencyCode(code))
        answer = self._write_one(
            "currencies.add",
            lambda acc, ident, **o: acc.create_currency(self.connection.tenant_id, body, **o),
            "Currencies",
            idempotency_key=idempotency_key,
        )
        if not isinstance(answer, dict) or normalise.text(answer.get("Code")) != code:
            raise BadAnswer(f"Xero's answer does not name the currency {code}.")
        return Currency(code, normalise.text(answer.get("Description"), 100))

    def tracking_categories(self) -> list[TrackingCategory]:
        """GET /TrackingCategories: the active categories with their active options (Xero
        leaves archived ones out unless asked); a category or option without an id or a name
        is left out (it could not be chosen anyway)."""
        found = self._list(
            "tracking_categories.list",
            lambda acc, ident, **o: acc.get_tracking_categories(self.connection.tenant_id, **o),
            "TrackingCategories",
        )
        categories = []
        for raw in dicts(found):
            category_id = normalise.text(raw.get("TrackingCategoryID"))[:64]
            name = normalise.text(raw.get("Name"), 100)
            if not category_id or not name or raw.get("Status", "ACTIVE") != "ACTIVE":
                continue
            categories.append(
                TrackingCategory(
                    category_id,
                    name,
                    tuple(
                        TrackingOption(
                            normalise.text(o.get("TrackingOptionID"))[:64],
                            normalise.text(o.get("Name"), 100),
                        )
                        for o in dicts(raw.get("Options"))
                        if o.get("Status", "ACTIVE") == "ACTIVE"
                        and normalise.text(o.get("TrackingOptionID"))
                        and normalise.text(o.get("Name"))
                    ),
                )
            )
        return categories

    def branding_themes(self) -> list[BrandingTheme]:
        """GET /BrandingThemes, in Xero's order (the default, SortOrder 0, first)."""
        found = self._list(
            "branding_themes.list",
            lambda acc, ident, **o: acc.get_branding_themes(self.connection.tenant_id, **o),
            "BrandingThemes",
        )
        return [
            BrandingTheme(
                normalise.text(raw.get("BrandingThemeID"))[:64],
                normalise.text(raw.get("Name"), 100),
            )
            for raw in dicts(found)
            if normalise.text(raw.get("BrandingThemeID")) and normalise.text(raw.get("Name"))
        ]
