"""How fast the engine may call one shop: its plan's restore rate, turned into activities per second.

Shopify limits GraphQL Admin calls per app and shop with a leaky bucket of cost points; the plan sets how fast
it refills. Temporal can only rate-limit *tasks*, so each shop gets its own activity task queue dispatched at
``restore rate / points per activity``: the server enforces it across every worker process, so a backlog is
handed out at about the rate the shop can serve, and each attempt finds points when it starts. The finer pacing
(which call may go now, how many points are left) stays in each process's cost budget, corrected by every
``throttleStatus`` Shopify returns (``engine.shopify.throttle``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.settings.environment import default_of, env_given

if TYPE_CHECKING:
    from engine.definitions.mapping import MappingDef

# Points restored per second, by plan (shopify.dev, "GraphQL Admin API rate limits").
RESTORE_RATES: dict[str, int] = {"standard": 100, "advanced": 200, "plus": 1000, "enterprise": 2000}
# Actual cost of one engine activity, on average: a return on the standard flow spends about 123 points over 7
# Shopify activities (`make bench`: emulators.bench.points by step, emulators.bench.backlog points spent over
# activities scheduled, with the emulator charging Shopify's recorded cost rules). Every worker must use the same
# figure: the task-queue rate is one value per queue on the server.
DEFAULT_POINTS_PER_ACTIVITY = float(default_of("RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"))  # 14


@dataclass(frozen=True)
class ShopLimit:
    """One shop's dispatch rate; every worker polling the shop's queue sets the same figure."""

    domain: str
    plan: str
    points_per_activity: float = DEFAULT_POINTS_PER_ACTIVITY

    @property
    def restore_rate(self) -> int:
        return RESTORE_RATES[self.plan]

    @property
    def activities_per_second(self) -> float:
        return self.restore_rate / self.points_per_activity


def points_per_activity_from_env() -> float:
    raw = str(env_given("RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"))
    value = float(raw)
    if value <= 0:
        raise ValueError(f"RETURNS_SHOPIFY_POINTS_PER_ACTIVITY must be positive, got {raw!r}")
    return value


def shop_limits(mappings: Iterable[MappingDef]) -> list[ShopLimit]:
    """The shops a deployment serves, from its mappings; every worker derives the same rates from them."""
    per_activity = points_per_activity_from_env()
    limits: dict[str, ShopLimit] = {}
    for mapping in mappings:
        limit = ShopLimit(mapping.shop_domain, mapping.plan, per_activity)
        known = limits.get(limit.domain)
        if known is None or limit.restore_rate < known.restore_rate:  # two brands, one shop: the slower plan
            limits[limit.domain] = limit
    return sorted(limits.values(), key=lambda limit: limit.domain)


def shop_task_queue(base: str, domain: str) -> str:
    """The shop's activity queue, derived from the deployment's queue so two deployments never share one."""
    return f"{base}.shopify.{re.sub(r'[^a-z0-9.-]', '-', domain.lower())}"
