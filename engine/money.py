"""Money is Decimal in the order's currency; rounding is explicit and lives here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for currencies our brands sell in; anything else defaults to 2.
_MINOR_UNITS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_money(value: str | int | Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to the currency's minor unit with the named rounding mode (decimal module constant)."""
    return Decimal(value).quantize(quantum(currency), rounding=rounding)


def fmt(value: Decimal, currency: str) -> str:
    """Plain string for transport (Temporal payloads, Shopify MoneyInput)."""
    return str(to_money(value, currency))


def show(value: str | int | Decimal, currency: str) -> str:
    """For people: the amount with its currency's minor units and the currency (`45.00 GBP`, never `45.0`)."""
    return f"{to_money(value, currency)} {currency}"
