"""Organisation, chart of accounts, tax rates and branding themes: read-only here, as the product
only reads them."""

from typing import Any

from ..where import WhereError, compile_where, sort
from ..wire import Response
from .call import Call, ms_of
from .envelope import envelope, not_found, validation_exception


def filtered(
    call: Call, rows: list[dict[str, Any]], *, modified: bool = False
) -> list[dict[str, Any]] | Response:
    """Rows after If-Modified-Since (when `modified`), where and order; a Response when the
    where clause cannot be read."""
    since = call.modified_since_ms() if modified else None
    if since is not None:
        rows = [r for r in rows if ms_of(r.get("UpdatedDateUTC")) > since]
    try:
        where = call.request.arg("where")
        if where:
            predicate = compile_where(where)
            rows = [r for r in rows if predicate(r)]
    except WhereError as error:
        return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
    return sort(rows, call.request.arg("order"))


def get_organisation(call: Call) -> Response:
    return envelope(call.now, "Organisations", [call.tenant.organisation])


def list_accounts(call: Call) -> Response:
    rows = filtered(call, list(call.tenant.accounts.values()), modified=True)
    return rows if not isinstance(rows, list) else envelope(call.now, "Accounts", rows)


def get_account(call: Call) -> Response:
    account = call.tenant.accounts.get(call.request.params["id"].lower())
    return envelope(call.now, "Accounts", [account]) if account else not_found()


def list_tax_rates(call: Call) -> Response:
    rows = filtered(call, list(call.tenant.tax_rates.values()))
    return rows if not isinstance(rows, list) else envelope(call.now, "TaxRates", rows)


def list_branding_themes(call: Call) -> Response:
    themes = sorted(call.tenant.branding_themes.values(), key=lambda t: t.get("SortOrder", 0))
    return envelope(call.now, "BrandingThemes", themes)


def get_branding_theme(call: Call) -> Response:
    theme = call.tenant.branding_themes.get(call.request.params["id"].lower())
    return envelope(call.now, "BrandingThemes", [theme]) if theme else not_found()
