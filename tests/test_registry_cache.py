"""The receiver's cache of active definitions (engine.registry.client.ActiveDefinitions): pushes that find it
expired share one query, a failed query fails each of them and is not cached, and a waiter cancelled does not
cancel the query for the others."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from engine.registry.client import ActiveDefinitions, NoDeployedMapping


class SlowRegistry:
    def __init__(self) -> None:
        self.queries = 0
        self.fail = False

    async def active(self, client: Any, key: str) -> dict[str, str]:
        self.queries += 1
        await asyncio.sleep(0.05)
        if self.fail:
            raise NoDeployedMapping(f"no active mapping for {key!r}")
        return {"key": key, "version": str(self.queries)}

    @staticmethod
    def content(active: dict[str, str]) -> dict[str, str]:
        return active


async def test_one_query_for_the_pushes_in_flight() -> None:
    registry = SlowRegistry()
    cache: ActiveDefinitions[Any] = ActiveDefinitions(cast(Any, registry), cast(Any, None), ttl_seconds=0.2)
    got = await asyncio.gather(*(cache.get("castore") for _ in range(25)))
    assert registry.queries == 1 and all(doc is got[0] for doc in got)
    assert await cache.get("castore") is got[0] and registry.queries == 1  # cached
    await asyncio.sleep(0.25)
    await asyncio.gather(*(cache.get("castore") for _ in range(25)), cache.get("other"))
    assert registry.queries == 3  # expired: one more for castore, one for the other key


async def test_a_failed_query_fails_its_waiters_and_is_not_kept() -> None:
    registry = SlowRegistry()
    registry.fail = True
    cache: ActiveDefinitions[Any] = ActiveDefinitions(cast(Any, registry), cast(Any, None))
    results = await asyncio.gather(*(cache.get("castore") for _ in range(5)), return_exceptions=True)
    assert registry.queries == 1 and all(isinstance(r, NoDeployedMapping) for r in results)
    registry.fail = False
    assert (await cache.get("castore"))["version"] == "2"


async def test_a_cancelled_waiter_leaves_the_query_to_the_others() -> None:
    registry = SlowRegistry()
    cache: ActiveDefinitions[Any] = ActiveDefinitions(cast(Any, registry), cast(Any, None))
    first = asyncio.create_task(cache.get("castore"))
    second = asyncio.create_task(cache.get("castore"))
    await asyncio.sleep(0.01)
    first.cancel()
    assert (await second)["version"] == "1"
    with pytest.raises(asyncio.CancelledError):
        await first
