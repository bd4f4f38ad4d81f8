"""The client under Shopify's cost limit: a backlog for one shop drains at the bucket's rate, THROTTLED never
reaches the caller, and several processes (several budgets) sharing one shop still drain at that rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from emulators.rebound.scenarios import Scenario
from emulators.shopify import OrderLineSeed, ShopifyEmulator
from emulators.shopify.cost import Plan, plan_named
from engine.errors import ShopifyThrottledError
from engine.shopify.client import ShopConnection, ShopifyClient
from engine.shopify.plans import ShopLimit, shop_task_queue
from engine.shopify.throttle import CostBudget
from engine.workers.build import build_worker
from engine.workers.starter import handle_for
from tests.conftest import Harness, running_harness

DOMAIN = "throttle.myshopify.com"
RATE = 100  # points/s
PLAN = Plan.custom(restore_rate=RATE, maximum_available=300)


@pytest.fixture
async def world(shopify: ShopifyEmulator) -> AsyncIterator[tuple[ShopifyEmulator, str, httpx.AsyncClient]]:
    store = shopify.store
    store.add_shop(DOMAIN, access_token="t", locations=[("gid://shopify/Location/1", "W")])
    store.add_product(DOMAIN, "A", stock={"gid://shopify/Location/1": 1})
    order_id = store.add_order(
        DOMAIN, name="#1", processed_at=datetime.now(UTC), lines=[OrderLineSeed("A", 1, Decimal("5"))]
    )
    shopify.set_plan(DOMAIN, PLAN)
    async with httpx.AsyncClient(timeout=10) as http:
        yield shopify, order_id, http


def client(shopify: ShopifyEmulator, http: httpx.AsyncClient, budget: CostBudget, **kw: float) -> ShopifyClient:
    connection = ShopConnection(DOMAIN, "2026-04", "t", f"{shopify.base_url}/shops/{DOMAIN}")
    deadline = kw.get("deadline")
    return ShopifyClient(connection, http, budget, deadline=deadline)


async def backlog(shopify: ShopifyEmulator, order_id: str, http: httpx.AsyncClient, budgets: list[CostBudget], n: int):  # type: ignore[no-untyped-def]
    """``n`` order reads at once, spread over the budgets (one budget = one worker process)."""
    variables = {"id": order_id, "metafieldKey": "aa", "bonusKey": "bb"}
    started = time.monotonic()
    spent_before = shopify.bucket(DOMAIN).charged
    calls = [client(shopify, http, budgets[i % len(budgets)]).execute("OrderForReturn", variables) for i in range(n)]
    results = await asyncio.gather(*calls)
    elapsed = time.monotonic() - started
    spent = shopify.bucket(DOMAIN).charged - spent_before
    return results, elapsed, spent


async def test_one_process_backlog_waits_instead_of_being_throttled(world) -> None:  # type: ignore[no-untyped-def]
    shopify, order_id, http = world
    budget = CostBudget()
    results, elapsed, spent = await backlog(shopify, order_id, http, [budget], 24)

    assert all(r["order"]["id"] == order_id for r in results)
    # Only the first request, sent before its cost was known, may meet THROTTLED; it was retried in place.
    assert shopify.bucket(DOMAIN).throttled <= 1
    assert budget.stats.throttled_responses == shopify.bucket(DOMAIN).throttled
    # Drained at the bucket's rate: what was spent beyond the initial bucket took spent/RATE seconds.
    assert elapsed >= (spent - PLAN.maximum_available) / RATE * 0.8


async def test_two_processes_share_the_shop_bucket_through_shopify(world) -> None:  # type: ignore[no-untyped-def]
    shopify, order_id, http = world
    budgets = [CostBudget(), CostBudget()]
    results, elapsed, spent = await backlog(shopify, order_id, http, budgets, 24)

    assert [r["order"]["id"] for r in results] == [order_id] * 24  # every call answered: THROTTLED absorbed
    throttled = shopify.bucket(DOMAIN).throttled
    assert throttled == sum(b.stats.throttled_responses for b in budgets)
    assert throttled <= 24  # overlap costs at most about one THROTTLED per call, each free
    assert elapsed >= (spent - PLAN.maximum_available) / RATE * 0.8


async def test_a_wait_beyond_the_deadline_becomes_a_retry_after(world) -> None:  # type: ignore[no-untyped-def]
    shopify, order_id, http = world
    budget = CostBudget()
    variables = {"id": order_id, "metafieldKey": "aa", "bonusKey": "bb"}
    await client(shopify, http, budget).execute("OrderForReturn", variables)  # learns the cost (36: 0.36 s at 100/s)
    shopify.bucket(DOMAIN).available = 0  # another app (or process) just emptied the bucket
    seen = shopify.bucket(DOMAIN).charged
    with pytest.raises(ShopifyThrottledError) as raised:
        await client(shopify, http, budget, deadline=time.monotonic() + 0.1).execute("OrderForReturn", variables)
    assert raised.value.retry_after is not None and raised.value.retry_after > 0.1
    assert shopify.bucket(DOMAIN).charged == seen  # THROTTLED once (free), then not sent again
    assert shopify.bucket(DOMAIN).throttled == 1 and budget.stats.deferred == 1


def seeded_backlog(harness: Harness, prefix: str, n: int) -> list[Scenario]:
    """``n`` one-item CASTORE returns (grade A: restocked, refunded in full), seeded in Shopify, not yet pushed."""
    scenarios = [harness.new_return(f"{prefix}-{i}", seed=False) for i in range(n)]
    harness.seed(*scenarios)
    return scenarios


async def test_a_backlog_for_one_shop_never_fails_a_step_with_throttled(harness, caplog) -> None:  # type: ignore[no-untyped-def]
    """Ten returns at once on a shop whose bucket holds about one return's costliest step: the backlog waits
    (in the client, FIFO) and drains; no activity attempt ever fails with THROTTLED."""
    scenarios = seeded_backlog(harness, "backlog", 10)
    domain = harness.domain(scenarios[0])
    # OrderForReturn requests 36 points, ReturnCreate 57 (Shopify's recorded cost rules): 100 holds about one step
    harness.shopify.set_plan(domain, Plan.custom(restore_rate=100, maximum_available=100))
    harness.start_options = {"activity_timeout_seconds": 10}

    await asyncio.gather(*(harness.push_all(sc) for sc in scenarios))
    statuses = await asyncio.gather(*(harness.wait_state(sc, "refunded", timeout=120) for sc in scenarios))

    for sc, status in zip(scenarios, statuses, strict=True):
        assert status.state == "refunded" and not status.needs_attention, (sc.name, status.attention_reason)
        assert len(harness.shopify.store.refunds(domain, harness.order_id(sc))) == 1
    failures = [
        r.getMessage() for r in caplog.records if "THROTTLED" in r.getMessage() or "cost budget" in r.getMessage()
    ]
    assert failures == []
    assert harness.shopify.bucket(domain).charged > 100  # more than a bucketful: the backlog had to wait


async def test_a_shop_backlog_goes_through_the_shops_queue_and_no_workflow_sees_throttled(  # type: ignore[no-untyped-def]
    temporal_env, shopify, flows, mappings
) -> None:
    """Twelve returns at once on a Standard shop whose bucket is nearly empty, served by two worker sets (two
    processes' worth of cost budgets) polling the shop's queue: every Shopify step is dispatched on the shop's
    queue at the plan's rate, no step ever hands its attempt back for the budget, no workflow sees THROTTLED,
    and each return is refunded once."""
    domain = mappings["castore"].shop_domain
    limits = [ShopLimit(domain, "standard")]
    async with running_harness(temporal_env, shopify, flows, mappings, shops=limits) as harness:
        # A second process's worth of workers on the same queues: its own connection and its own cost budget.
        other = await Client.connect(harness.client.service_client.config.target_host)
        async with httpx.AsyncClient(timeout=10) as http:
            second = build_worker(other, harness.settings, http, token_lookup=harness.tokens.__getitem__, shops=limits)
            async with second:
                scenarios = seeded_backlog(harness, "queue", 12)
                shopify.set_plan(domain, plan_named("standard"))
                shopify.bucket(domain).available = 300.0  # another app just spent most of the bucket
                harness.start_options = {"activity_timeout_seconds": 30}  # the production default

                await asyncio.gather(*(harness.push_all(sc) for sc in scenarios))
                statuses = await asyncio.gather(*(harness.wait_state(sc, "refunded", timeout=240) for sc in scenarios))

    queue = shop_task_queue(harness.settings.task_queue, domain)
    for sc, status in zip(scenarios, statuses, strict=True):
        assert status.state == "refunded" and not status.needs_attention, (sc.name, status.attention_reason)
        assert status.budget_waits == 0, sc.name
        assert len(shopify.store.refunds(domain, harness.order_id(sc))) == 1
        queues, throttled = set(), 0
        async for event in handle_for(harness.client, sc.brand, sc.rebound_return_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                queues.add(event.activity_task_scheduled_event_attributes.task_queue.name)
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                throttled += "Throttled" in str(event.activity_task_failed_event_attributes.failure)
        assert queues == {queue}, sc.name
        assert throttled == 0, sc.name
    assert shopify.bucket(domain).charged > 300  # more than was left: the backlog had to wait for the refill


async def test_a_shop_on_another_plan_than_its_mapping_says_is_reported_once(world, caplog) -> None:  # type: ignore[no-untyped-def]
    """The mapping says Plus (1,000 points/s) but Shopify restores 100: the queue would be dispatched ten times too
    fast, so the worker says so, once, naming the shop and both rates."""
    shopify, order_id, http = world
    budget = CostBudget()
    budget.declare_rate(DOMAIN, 1000.0)
    variables = {"id": order_id, "metafieldKey": "aa", "bonusKey": "bb"}
    with caplog.at_level("WARNING", logger="engine.shopify.throttle"):
        for _ in range(3):
            await client(shopify, http, budget).execute("OrderForReturn", variables)
    warnings = [r.getMessage() for r in caplog.records if r.name == "engine.shopify.throttle"]
    assert len(warnings) == 1 and DOMAIN in warnings[0]
    assert "restores 100 points/s" in warnings[0] and "shop.plan means 1000" in warnings[0]

    agreeing = CostBudget()
    agreeing.declare_rate(DOMAIN, float(RATE))
    caplog.clear()
    await client(shopify, http, agreeing).execute("OrderForReturn", variables)
    assert [r for r in caplog.records if r.name == "engine.shopify.throttle"] == []
