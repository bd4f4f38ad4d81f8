"""Money and percentages as a merchant writes them in YAML: `2.95` or `"2.95"`, `12.5`, `"12.5"` or `"12.5%"`.
YAML numbers reach here as Decimal already (the loader reads a float's text, never a binary float); strings are
read the same way. One function each, used by the mapping loader and its checks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from engine.money import minor_units


def decimal_of(raw: Any, *, percent: bool = False) -> Decimal:
    """The exact value of a money or percent field; raises ValueError for anything else."""
    if isinstance(raw, bool):
        raise ValueError(f"not a number: {raw!r}")
    text = str(raw).strip()
    if percent:
        text = text.removesuffix("%").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a number: {raw!r}")
    return value


def money_text(raw: Any) -> str:
    """As the engine carries money: the plain Decimal text (`2.95`)."""
    return format(decimal_of(raw).normalize(), "f")


def percent_text(raw: Any) -> str:
    return format(decimal_of(raw, percent=True).normalize(), "f")


def decimals_beyond(raw: Any, currency: str) -> bool:
    """More decimal places than the currency has minor units (2.955 GBP)."""
    exponent = decimal_of(raw).normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent > minor_units(currency)
