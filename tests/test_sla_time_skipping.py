"""SLA timers on the time-skipping test server (it has no custom search attributes, so they are off)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from emulators.rebound.scenarios import ScenarioBuilder
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.shopify.plans import shop_limits
from engine.temporal.binaries import temporal_test_server
from engine.workers.build import build_worker
from engine.workflow.messages import OverrideResult, ParcelLost, ReturnStatus, workflow_id
from tests.conftest import Harness, shopify_settings


@pytest.fixture(scope="module")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(temporal_test_server()))
    try:
        yield env
    finally:
        await env.shutdown()


async def test_sla_breach_flags_needs_attention_and_the_next_milestone_clears_it(
    skipping_env: WorkflowEnvironment,
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
) -> None:
    tokens: dict[str, str] = {}
    assert shopify.base_url
    settings = shopify_settings(shopify.base_url, f"sla-{uuid.uuid4()}", "")
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
    h = Harness(skipping_env.client, flows, mappings, shopify, settings, tokens, builder,
                {"activity_timeout_seconds": 10, "search_attributes": False})  # fmt: skip
    sc = builder.new("no scan", "castore", lines=1)
    builder.returned(sc, 0, 1, "A")
    builder.lifecycle(sc, until="postalIncoming")
    h.seed(sc)
    registered, in_transit = sc.pushes

    async with httpx.AsyncClient(timeout=10) as http:
        shops = shop_limits(mappings.values())
        async with build_worker(skipping_env.client, settings, http, token_lookup=tokens.__getitem__, shops=shops):
            await h.push(sc, registered)
            for _ in range(200):
                status = await h.status(sc)
                if status.shopify_return is not None:
                    break
                await asyncio.sleep(0.05)
            assert not status.needs_attention

            await skipping_env.sleep(timedelta(days=20))
            assert not (await h.status(sc)).needs_attention  # 20 days: still inside the 21-day SLA
            await skipping_env.sleep(timedelta(days=2))
            breached = await h.status(sc)
            assert breached.state == "requested" and breached.needs_attention
            assert breached.attention_reason == "SLA: no carrier scan 21 days after the return was registered"
            assert [a.kind for a in breached.audit].count("sla") == 1

            await h.push(sc, in_transit)
            for _ in range(200):
                cleared = await h.status(sc)
                if cleared.state == "in_transit":
                    break
                await asyncio.sleep(0.05)
            assert cleared.state == "in_transit" and not cleared.needs_attention


async def test_a_parcel_that_never_arrives_is_named_and_an_operator_can_let_the_return_go_on(
    skipping_env: WorkflowEnvironment,
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
) -> None:
    """CASTORE waits for every parcel. The second is late: a week after the first arrived (castore's
    parcel_lost_after) the return needs attention with that parcel's tracking number; when it then turns up the
    exception clears. A third parcel never comes: the operator declares it lost and the return is restocked and
    refunded for what arrived, the lost unit counted missing."""
    tokens: dict[str, str] = {}
    assert shopify.base_url
    settings = shopify_settings(shopify.base_url, f"parcels-{uuid.uuid4()}", "")
    now = await skipping_env.get_current_time()  # the server's clock: earlier tests skipped it ahead
    builder = ScenarioBuilder(mappings, now=now, seed=secrets.randbelow(10**8))
    h = Harness(skipping_env.client, flows, mappings, shopify, settings, tokens, builder,
                {"activity_timeout_seconds": 10, "search_attributes": False})  # fmt: skip
    sc = builder.new("three parcels", "castore", lines=3, days_ago=4, quantity=1)
    for i in range(3):
        builder.returned(sc, i, 1, "A")
    builder.in_parcels(sc, [0], [1], [2], late_days=(0, 10, None))
    builder.parcel_lifecycle(sc, start=now - timedelta(days=2))
    builder.expect(sc)
    h.seed(sc)
    first, late, lost = (p.tracking_number for p in sc.parcels)
    late_pushes = [p for p in sc.pushes if p["order"]["trackingNumber"] == late and
                   p["order"]["statusDescription"] in ("arrivedAtHub", "processed")]  # fmt: skip

    async def settled(check: Callable[[ReturnStatus], bool]) -> ReturnStatus:
        for _ in range(300):
            status = await h.status(sc)
            if check(status):
                return status
            await asyncio.sleep(0.05)
        return status

    async with httpx.AsyncClient(timeout=10) as http:
        shops = shop_limits(mappings.values())
        async with build_worker(skipping_env.client, settings, http, token_lookup=tokens.__getitem__, shops=shops):
            for payload in sc.pushes:
                if payload not in late_pushes:
                    await h.push(sc, payload)
            early = len(sc.pushes) - len(late_pushes)
            waiting = await settled(lambda s: sum(a.kind == "event" for a in s.audit) == early
                                    and "in_transit:attach_tracking" in s.steps_done)  # fmt: skip
            assert waiting.state == "in_transit" and not waiting.needs_attention

            await skipping_env.sleep(timedelta(days=8))  # the first parcel arrived ~1 day ago: 7 days have passed
            flagged = await settled(lambda s: s.needs_attention)
            assert flagged.state == "in_transit" and flagged.restocked == {}
            assert flagged.attention_reason is not None
            assert flagged.attention_reason.startswith(
                f"SLA: parcel {late}, {lost} not arrived 7d after parcel {first}"
            )

            for payload in late_pushes:
                await h.push(sc, payload)
            still = await settled(lambda s: any(p.tracking_number == late and p.arrived_at for p in s.parcels)
                                  and (s.attention_reason or "").startswith(f"SLA: parcel {lost} "))  # fmt: skip
            assert still.state == "in_transit", still.attention_reason
            assert still.attention_reason is not None and late not in still.attention_reason

            handle = skipping_env.client.get_workflow_handle(workflow_id("castore", sc.rebound_return_id))
            result = await handle.execute_update(
                "parcel_lost", ParcelLost("ops@castore", "carrier confirmed lost", lost), result_type=OverrideResult
            )
            assert "count as missing" in result.message
            done = await settled(lambda s: s.state == "refunded" and s.finished)

    assert done.state == "refunded" and not done.needs_attention, done.attention_reason
    dc = mappings["castore"].locations["dc"].id
    arrived = sc.order_lines[:2]
    assert done.restocked == {f"{line.sku}@{dc}": 1 for line in arrived}
    missing = next(i for i in done.items if i.sku == sc.order_lines[2].sku)
    assert missing.disposition == "missing"
    refunds = shopify.store.refunds(h.domain(sc), h.order_id(sc))
    assert [r["amount"] for r in refunds] == [sum((line.unit_price for line in arrived), Decimal(0)) - Decimal("2.95")]
