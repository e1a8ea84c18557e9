"""Currencies as invoices need them: how many decimal places each one's money has."""

# ISO 4217 currencies without minor units (JPY 1,500, never 1,500.00); the rest have two, as
# accounting systems write money at 2 dp at most (ISO's 3-dp currencies, e.g. KWD, too).
NO_MINOR_UNITS = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)


def currency_places(code: str) -> int:
    return 0 if code.upper() in NO_MINOR_UNITS else 2
