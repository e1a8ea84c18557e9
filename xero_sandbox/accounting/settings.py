"""Organisation, chart of accounts and tax rates: read-only here, as the product only reads them."""

from ..where import WhereError, compile_where, sort
from .call import Call, ms_of
from .envelope import envelope, not_found, validation_exception


def _filtered(call: Call, rows: list[dict]):
    try:
        if call.request.arg("where"):
            predicate = compile_where(call.request.arg("where"))
            rows = [r for r in rows if predicate(r)]
    except WhereError as error:
        return validation_exception([{"ValidationErrors": [{"Message": str(error)}]}])
    return sort(rows, call.request.arg("order"))


def get_organisation(call: Call):
    return envelope(call.now, "Organisations", [call.tenant.organisation])


def list_accounts(call: Call):
    rows = list(call.tenant.accounts.values())
    since = call.modified_since_ms()
    if since is not None:
        rows = [r for r in rows if ms_of(r.get("UpdatedDateUTC")) > since]
    rows = _filtered(call, rows)
    return rows if not isinstance(rows, list) else envelope(call.now, "Accounts", rows)


def get_account(call: Call):
    account = call.tenant.accounts.get(call.request.params["id"].lower())
    return envelope(call.now, "Accounts", [account]) if account else not_found()


def list_tax_rates(call: Call):
    rows = _filtered(call, list(call.tenant.tax_rates.values()))
    return rows if not isinstance(rows, list) else envelope(call.now, "TaxRates", rows)
