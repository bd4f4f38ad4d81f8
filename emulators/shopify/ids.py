"""Shopify global IDs (``gid://shopify/<Type>/<number>``): minting and parsing in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GID = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<num>[^/?#\s]+)(?:\?.*)?$")


@dataclass(frozen=True)
class Gid:
    """A parsed GID; ``kind`` is the Shopify type name (``Order``, ``Return``, ...)."""

    kind: str
    number: str

    def __str__(self) -> str:
        return f"gid://shopify/{self.kind}/{self.number}"


def make_gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: object) -> Gid | None:
    """The parsed GID, or None when ``value`` is not a Shopify GID at all."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value)
    if match is None:
        return None
    return Gid(match.group("kind"), match.group("num"))


def derived_gid(kind: str, gid: str) -> str:
    """The GID of another kind with the same number (``Order/5`` -> ``FulfillmentOrder/5``): ids the emulator
    derives instead of storing. An unparsable ``gid`` is used whole as the number."""
    parsed = parse_gid(gid)
    return make_gid(kind, parsed.number if parsed else gid)


def gid_kind(value: object) -> str | None:
    parsed = parse_gid(value)
    return parsed.kind if parsed else None
