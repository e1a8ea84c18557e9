"""Currencies as Xero knows them: the spec's CurrencyCode enum, names, decimal places and the
exchange-rate feed Xero reads its day rates from (XE.com, spec Invoice.CurrencyRate)."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# The CurrencyCode enum of xero_accounting.yaml, in its order (a test compares the two).
_ENUM = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
BWP BYN BYR BZD CAD CDF CHF CLF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EEK EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD
IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD
MAD MDL MGA MKD MMK MNT MOP MRO MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SKK SLE
SLL SOS SRD STD STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
VEF VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZMK ZWD
"""
CODES = tuple(_ENUM.split())
VALID = frozenset(CODES)

# Names as Xero's Currencies endpoint writes them (spec examples: "New Zealand Dollar",
# "United States Dollar"); a code missing here is described by its code.
NAMES = {
    "AED": "United Arab Emirates Dirham",
    "AUD": "Australian Dollar",
    "BRL": "Brazilian Real",
    "CAD": "Canadian Dollar",
    "CHF": "Swiss Franc",
    "CNY": "Chinese Yuan",
    "CZK": "Czech Koruna",
    "DKK": "Danish Krone",
    "EUR": "Euro",
    "FJD": "Fiji Dollar",
    "GBP": "British Pound",
    "HKD": "Hong Kong Dollar",
    "IDR": "Indonesian Rupiah",
    "ILS": "Israeli New Shekel",
    "INR": "Indian Rupee",
    "JPY": "Japanese Yen",
    "KRW": "South Korean Won",
    "KWD": "Kuwaiti Dinar",
    "MXN": "Mexican Peso",
    "MYR": "Malaysian Ringgit",
    "NOK": "Norwegian Krone",
    "NZD": "New Zealand Dollar",
    "PGK": "Papua New Guinean Kina",
    "PHP": "Philippine Peso",
    "PLN": "Polish Zloty",
    "SEK": "Swedish Krona",
    "SGD": "Singapore Dollar",
    "THB": "Thai Baht",
    "TOP": "Tongan Pa'anga",
    "TWD": "New Taiwan Dollar",
    "USD": "United States Dollar",
    "VND": "Vietnamese Dong",
    "WST": "Samoan Tala",
    "XPF": "CFP Franc",
    "ZAR": "South African Rand",
}

# ISO 4217 currencies without minor units. Xero writes money at 2 dp at most (XERO-FACTS §4),
# so ISO's 3- and 4-dp currencies (KWD, BHD, CLF, ...) are held at 2 here. UNVERIFIED: how
# Xero treats JPY and the 3-dp currencies was not found in any source.
_NO_MINOR_UNITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
ZERO_DP = frozenset(_NO_MINOR_UNITS.split())

# The feed: what one unit of each currency is worth in USD. Illustrative fixed values; tests
# and demos set the rates they need through the control API (POST /_sandbox/orgs/{t}/rates).
FEED_USD = {
    code: Decimal(value)
    for code, value in {
        "USD": "1",
        "NZD": "0.60",
        "AUD": "0.66",
        "GBP": "1.27",
        "EUR": "1.08",
        "CAD": "0.73",
        "JPY": "0.0067",
        "CNY": "0.14",
        "HKD": "0.128",
        "SGD": "0.74",
        "CHF": "1.12",
        "INR": "0.012",
        "FJD": "0.44",
        "WST": "0.36",
        "TOP": "0.42",
        "ZAR": "0.054",
        "SEK": "0.095",
        "NOK": "0.093",
        "DKK": "0.145",
        "KRW": "0.00073",
        "THB": "0.028",
        "MYR": "0.21",
        "PHP": "0.018",
        "IDR": "0.000063",
        "MXN": "0.058",
        "BRL": "0.19",
        "AED": "0.27",
        "KWD": "3.25",
        "PGK": "0.26",
        "XPF": "0.0091",
    }.items()
}
SIX_DP = Decimal("0.000001")


def decimals(code: str) -> int:
    return 0 if code in ZERO_DP else 2


def describe(code: str) -> dict[str, Any]:
    return {"Code": code, "Description": NAMES.get(code, code)}


def feed_rate(base: str, code: str) -> Decimal | None:
    """Units of `code` one unit of `base` buys (1 NZD = 0.600000 USD), or None when the feed
    has no quote. UNVERIFIED: that Xero's CurrencyRate reads this way round (as its UI shows
    "1 NZD = 0.6000 USD"); no source states the direction for the API."""
    if base == code:
        return Decimal("1.000000")
    if base not in FEED_USD or code not in FEED_USD:
        return None
    return (FEED_USD[base] / FEED_USD[code]).quantize(SIX_DP, rounding=ROUND_HALF_UP)


def rate_on(
    table: dict[str, list[tuple[date, Decimal]]], base: str, code: str, day: date
) -> Decimal | None:
    """The rate for `day`: the newest rate set on or before it through the control API, else
    the feed's."""
    dated = [rate for since, rate in table.get(code, []) if since <= day]
    return dated[-1] if dated else feed_rate(base, code)
