"""The organisation's settings every invoice depends on (OrganisationSettings): read from Xero
when a page needs them and the last read is older than the chart of accounts' cache, or at once
after Xero refused an invoice on their account; and a currency added in Xero by an admin."""

import datetime
from contextlib import suppress
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from platform_crm.models import Account

from ..client.errors import XeroError
from ..connection.activity import connection_record_activity
from ..connection.calls import xero_client_for
from ..connection.selectors import connection_get
from ..models import XeroConnection
from .models import OrganisationSettings
from .selectors import settings_as_read

# As long as the chart of accounts is cached (connection.views.ACCOUNTS_CACHE_SECONDS).
FRESH_FOR = timedelta(minutes=10)


def organisation_settings(connection: XeroConnection) -> OrganisationSettings:
    """The stored settings of the connection's current organisation (empty until read)."""
    found, _ = OrganisationSettings.objects.get_or_create(
        connection=connection, defaults={"tenant_id": connection.tenant_id}
    )
    if found.tenant_id != connection.tenant_id:  # reconnected to another organisation
        found.delete()
        found = OrganisationSettings.objects.create(
            connection=connection, tenant_id=connection.tenant_id
        )
    return found


def stale(read_at: datetime.datetime | None) -> bool:
    return read_at is None or timezone.now() - read_at > FRESH_FOR


def currencies_refresh(connection: XeroConnection, *, force: bool = False) -> OrganisationSettings:
    """GET /Currencies when the stored list is older than the cache (or `force`)."""
    stored = organisation_settings(connection)
    if force or stale(stored.currencies_read_at):
        codes = [c.code for c in xero_client_for(connection).currencies()]
        stored.currencies = codes
        if codes and not stored.base_currency:
            stored.base_currency = codes[0]  # Xero lists the base currency first
        stored.currencies_read_at = timezone.now()
        stored.save(update_fields=["currencies", "base_currency", "currencies_read_at"])
    return stored


def lock_dates_refresh(connection: XeroConnection, *, force: bool = False) -> OrganisationSettings:
    """GET /Organisation (its base currency and lock dates) when stale (or `force`)."""
    stored = organisation_settings(connection)
    if force or stale(stored.organisation_read_at):
        organisation = xero_client_for(connection).organisation()
        stored.base_currency = organisation.base_currency or stored.base_currency
        stored.period_lock_date = organisation.period_lock_date
        stored.end_of_year_lock_date = organisation.end_of_year_lock_date
        stored.organisation_read_at = timezone.now()
        stored.save(
            update_fields=[
                "base_currency",
                "period_lock_date",
                "end_of_year_lock_date",
                "organisation_read_at",
            ]
        )
    return stored


def organisation_settings_refresh(
    connection: XeroConnection, *, force: bool = False
) -> OrganisationSettings | None:
    """For pages (the invoice form) and a person's Retry (`force`): both read again if stale;
    when Xero cannot be read, the settings as last read are kept and used. None when the
    connection is not usable."""
    if not connection.is_usable:
        return None
    from .invoice_options import invoice_options_refresh  # it builds on this module

    for refresh in (currencies_refresh, lock_dates_refresh, invoice_options_refresh):
        with suppress(XeroError):  # shown as last read; the pre-flight and Xero still check
            refresh(connection, force=force)
    return organisation_settings(connection)


def invoice_currencies(account: Account) -> list[str] | None:
    """The invoice form's choices: the organisation's enabled currencies, when connected and
    read (None otherwise: the form then takes any three letters)."""
    connection = connection_get(account)
    if connection is None or not connection.tenant_id:
        return None
    # Not usable (a reconnect is needed): the currencies as last read, if ever.
    stored = organisation_settings_refresh(connection) or settings_as_read(connection)
    if stored is None or stored.currencies_read_at is None:
        return None
    return list(stored.currencies)


def lock_date_in_force(stored: OrganisationSettings) -> tuple[datetime.date, str] | None:
    """The later of the organisation's lock dates, and which one it is; None when neither."""
    dates = [
        (day, name)
        for day, name in (
            (stored.end_of_year_lock_date, "end of year lock date"),
            (stored.period_lock_date, "period lock date"),
        )
        if day is not None
    ]
    return max(dates) if dates else None


def currency_add(*, connection: XeroConnection, code: str, user: User | None) -> None:
    """An admin, on purpose, enables one more currency in the organisation (PUT /Currencies).
    The same code for the same organisation is the same request (its idempotency key)."""
    if not (len(code) == 3 and code.isalpha() and code.isupper()):
        raise ValueError(f"{code[:10]!r} is not a currency code.")
    key = f"crm-currency-{connection.pk}-{connection.tenant_id}-{code}"
    xero_client_for(connection).currency_add(code, idempotency_key=key)
    stored = organisation_settings(connection)
    if code not in stored.currencies:
        stored.currencies = [*stored.currencies, code]
        stored.save(update_fields=["currencies"])
    connection_record_activity(connection)
