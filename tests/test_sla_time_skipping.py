"""SLA timers on the time-skipping test server (it has no custom search attributes, so they are off)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from emulators.rebound.scenarios import ScenarioBuilder
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.shopify.plans import shop_limits
from engine.temporal.binaries import temporal_test_server
from engine.temporal.worker import build_worker
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
                if "requested:sync_order_status" in status.steps_done:
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
