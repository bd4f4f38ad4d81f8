"""Brand names: one pattern everywhere a brand is named (mapping files, deploys, the receiver's path), so a name
read from a URL can never reach another brand's secret, workflows or dedupe keys."""

from __future__ import annotations

import re
from functools import cache

from engine.definitions.schema_check import load_schema


@cache
def brand_pattern() -> re.Pattern[str]:
    """The mapping schema's `brand` pattern (schemas/mapping.schema.json), its one source."""
    return re.compile(load_schema("mapping.schema.json")["properties"]["brand"]["pattern"])


def valid_brand(name: str) -> bool:
    return brand_pattern().fullmatch(name) is not None


def secret_env_name(brand: str) -> str:
    """REBOUND_SECRET__<BRAND>: one-to-one for valid names (only `-` becomes `_`)."""
    return "REBOUND_SECRET__" + re.sub(r"[^A-Z0-9]", "_", brand.upper())


def secret_collision(brand: str, others: list[str]) -> str | None:
    """Another brand whose push secret would be read from the same variable (possible only for names deployed
    before the pattern was enforced), or None."""
    name = secret_env_name(brand)
    return next((other for other in others if other != brand and secret_env_name(other) == name), None)
