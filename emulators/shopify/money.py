"""Money as Shopify prints it. Amounts stay ``Decimal`` inside; only these helpers make strings."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

_CENT = Decimal("0.01")

# Symbols Shopify uses in its English refund messages ("Refund amount $25.00 is greater than ...").
# CAD/AUD/NZD print a bare "$" in the captures; unknown currencies fall back to the ISO code plus a space.
_SYMBOLS = {
    "GBP": "£",
    "USD": "$",
    "CAD": "$",
    "AUD": "$",
    "NZD": "$",
    "EUR": "€",
    "JPY": "¥",
    "CHF": "CHF ",
    "SEK": "kr",
    "DKK": "kr.",
    "NOK": "kr",
    "PLN": "zł",
    "INR": "₹",
}


def to_decimal(value: object) -> Decimal:
    """Parse a Money/Decimal scalar value (string or number) exactly; raises ValueError if it is not one."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a money amount: {value!r}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)


# ISO 4217 currencies without minor units (the rest the emulator meets have two decimals).
_NO_MINOR_UNITS = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                             "VUV", "XAF", "XOF", "XPF"})  # fmt: skip


def minor_units(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded to the currency's minor units, half to even (the rounding of Shopify's Money gem)."""
    if currency in _NO_MINOR_UNITS:
        return amount.quantize(Decimal("1"), rounding=ROUND_HALF_EVEN)
    return cents(amount)


def format_amount(amount: Decimal) -> str:
    """GraphQL Decimal text: ``"15.00"`` -> ``"15.0"``, ``"49.90"`` -> ``"49.9"``, ``"107.85"`` as is."""
    text = format(cents(amount), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0") or "0"
    return f"{whole}.{frac}"


def format_price(amount: Decimal) -> str:
    """A ``Money`` scalar, two decimals (``"10.00"``; its description: "Example value: `"100.57"`")."""
    return format(cents(amount), "f")


def format_with_symbol(amount: Decimal, currency: str) -> str:
    """``(Decimal("25"), "CAD")`` -> ``"$25.00"``: the form used inside Shopify's English error messages."""
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{format(cents(amount), 'f')}"


def money_v2(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": format_amount(amount), "currencyCode": currency}


def money_bag(
    amount: Decimal, currency: str, presentment: Decimal | None = None, presentment_currency: str | None = None
) -> dict[str, dict[str, str]]:
    """A ``MoneyBag``: shop money, and the customer's presentment money (the same unless given)."""
    shown = amount if presentment is None else presentment
    return {
        "shopMoney": money_v2(amount, currency),
        "presentmentMoney": money_v2(shown, presentment_currency or currency),
    }
