"""Client-side view of Shopify's per-shop cost bucket, so calls wait for points instead of being THROTTLED.

Shopify reports `throttleStatus` (maximumAvailable, currentlyAvailable, restoreRate) on every response; the
bucket refills continuously. Before a request we estimate what is available now and wait for the deficit.
This budget is per process; across worker processes the shared limit is the task queue's rate limit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_COST = 50.0
MAX_WAIT_IN_PLACE = 2.0  # longer waits become a retry with a delay, so no worker slot idles on a timer


@dataclass
class _Bucket:
    maximum: float = 2000.0
    available: float = 2000.0
    restore_rate: float = 100.0
    seen_at: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def now_available(self) -> float:
        elapsed = time.monotonic() - self.seen_at
        return min(self.maximum, self.available + elapsed * self.restore_rate)


class CostBudget:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._costs: dict[str, float] = {}
        self.waited_seconds = 0.0

    def _bucket(self, shop: str) -> _Bucket:
        return self._buckets.setdefault(shop, _Bucket())

    async def acquire(self, shop: str, operation: str) -> float:
        """Reserve the operation's last requested cost, waiting briefly if needed.

        Returns 0 when reserved, or the seconds to come back after when the wait would be long."""
        bucket = self._bucket(shop)
        cost = min(self._costs.get(operation, DEFAULT_COST), bucket.maximum)
        async with bucket.lock:
            deficit = cost - bucket.now_available()
            if deficit > 0:
                delay = deficit / bucket.restore_rate
                if delay > MAX_WAIT_IN_PLACE:
                    return delay
                self.waited_seconds += delay
                await asyncio.sleep(delay)
            bucket.available = bucket.now_available() - cost
            bucket.seen_at = time.monotonic()
            return 0.0

    def observe(self, shop: str, operation: str, cost: dict[str, Any] | None) -> float | None:
        """Record Shopify's view; returns seconds to wait if the request was throttled."""
        if not cost:
            return None
        bucket = self._bucket(shop)
        status = cost.get("throttleStatus") or {}
        if cost.get("requestedQueryCost") is not None:
            self._costs[operation] = float(cost["requestedQueryCost"])
        if status:
            bucket.maximum = float(status.get("maximumAvailable", bucket.maximum))
            bucket.available = float(status.get("currentlyAvailable", bucket.available))
            bucket.restore_rate = float(status.get("restoreRate", bucket.restore_rate)) or bucket.restore_rate
            bucket.seen_at = time.monotonic()
        if cost.get("actualQueryCost") is None and status:
            deficit = self._costs.get(operation, DEFAULT_COST) - bucket.available
            return max(deficit, 0.0) / bucket.restore_rate
        return None
