"""The engine against its own ceiling, in one run: full lifecycles per second of the engine's `Return` workflow and
of a bare hand-written workflow (emulators.bench.bare) doing the same four events and the same activities, on the
same dev server, worker set and Shopify emulator (its bucket lifted: Shopify's rate is measured by the backlog
bench); then the paced latency from the inspection push to the refund in Shopify.

    python -m emulators.bench.engine_vs_bare [--returns 150] [--paced 60] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from emulators.bench.bare import BareReturn, BareStart
from emulators.bench.report import write_result, write_section
from emulators.demo import seed_shopify
from emulators.paths import REPO_ROOT
from emulators.progress import Progress
from emulators.rebound.scenarios import Scenario, ScenarioBuilder
from emulators.shopify.cost import Plan
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.rebound.translate import translate
from engine.settings import Settings
from engine.shopify.plans import shop_limits, shop_task_queue
from engine.temporal.binaries import temporal_cli
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_worker
from engine.workers.starter import deliver, handle_for
from engine.workflow import search
from engine.workflow.messages import workflow_id
from engine.workflow.return_workflow import ReturnWorkflow

BRAND = "castore"
UNLIMITED = Plan.custom(1_000_000, 100_000_000)


class World:
    """One dev server, one emulator, one worker set; a fresh batch of returns per measurement."""

    def __init__(self, env: WorkflowEnvironment, emulator: ShopifyEmulator, http: httpx.AsyncClient) -> None:
        self.env, self.emulator, self.http = env, emulator, http
        self.flows = load_flows(REPO_ROOT / "flows")
        self.mappings = load_mappings(REPO_ROOT / "mappings")
        self.mapping = self.mappings[BRAND]
        self.builder = ScenarioBuilder(self.mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
        self.tokens: dict[str, str] = {}
        self.settings = Settings(temporal_address="", task_queue=f"bench-{uuid.uuid4()}",
                                 shopify_endpoint=f"{emulator.base_url}/shops/{{shop}}")  # fmt: skip

    @property
    def client(self) -> Client:
        return self.env.client

    def batch(self, n: int) -> list[Scenario]:
        out = []
        for i in range(n):
            sc = self.builder.new(f"bench-{i}", BRAND, lines=1)
            self.builder.returned(sc, 0, 1, "A")
            self.builder.lifecycle(sc)
            self.builder.expect(sc)
            out.append(sc)
        seed_shopify(self.emulator.store, self.mappings, out, self.tokens)
        self.emulator.set_plan(self.mapping.shop_domain, UNLIMITED)
        return out

    def closed(self, sc: Scenario) -> bool:
        store, domain = self.emulator.store, self.mapping.shop_domain
        order_id = store.find_order_id(domain, sc.order_name)
        return bool(order_id) and any(r["status"] == "CLOSED" for r in store.returns(domain, order_id or ""))

    async def push(self, kind: str, sc: Scenario, step: int) -> None:
        event = translate(sc.pushes[step], self.mapping).event
        assert event is not None
        if kind == "engine":
            await deliver(self.client, event, flow=self.flows[self.mapping.flow], mapping=self.mapping,
                          task_queue=self.settings.task_queue, running=step > 0)  # fmt: skip
        elif step == 0:
            start = BareStart(BRAND, sc.rebound_return_id, self.mapping,
                              shop_task_queue(self.settings.task_queue, self.mapping.shop_domain))  # fmt: skip
            await self.client.start_workflow(BareReturn.run, start, id="bare-" + sc.rebound_return_id,
                                             task_queue=self.settings.task_queue + "-bare", start_signal="event",
                                             start_signal_args=[event])  # fmt: skip
        else:
            await self.client.get_workflow_handle("bare-" + sc.rebound_return_id).signal("event", event)


async def lifecycles(world: World, kind: str, n: int) -> dict[str, Any]:
    """All `n` returns registered at once, then carried, received and inspected: returns/s until every Shopify
    return is closed; CPU-s of this process (worker, emulator and client alike) per return; history size."""
    scenarios = world.batch(n)
    progress = Progress(f"{kind} lifecycles", n)
    cpu, started = time.process_time(), time.monotonic()
    async with progress.ticking():
        for step in range(4):
            await asyncio.gather(*(world.push(kind, sc, step) for sc in scenarios))
        pending = scenarios
        while pending:
            pending = [sc for sc in pending if not world.closed(sc)]
            progress.update(n - len(pending))
            if pending:
                await asyncio.sleep(0.05)
    seconds = time.monotonic() - started
    cpu_per_return = (time.process_time() - cpu) / n
    rid = scenarios[0].rebound_return_id
    wf = workflow_id(BRAND, rid) if kind == "engine" else "bare-" + rid
    history = await world.client.get_workflow_handle(wf).fetch_history()
    return {"returns": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 2),
            "cpu_ms_per_return": round(cpu_per_return * 1000), "history_kb": round(len(history.to_json()) / 1024, 1),
            "history_events": len(history.events)}  # fmt: skip


async def paced(world: World, n: int, every: float) -> dict[str, Any]:
    """Returns waiting at the hub; one inspection push every `every` seconds; from the push leaving the sender to
    the refund existing in Shopify (watched in the emulator's store, in this process)."""
    scenarios = world.batch(n)
    for step in range(3):
        await asyncio.gather(*(world.push("engine", sc, step) for sc in scenarios))
    for sc in scenarios:
        while (await handle_for(world.client, BRAND, sc.rebound_return_id).query(ReturnWorkflow.status)).state != \
                "received":  # fmt: skip
            await asyncio.sleep(0.05)
    store, domain = world.emulator.store, world.mapping.shop_domain

    async def until_refunded(sc: Scenario, pushed: float) -> float:
        order_id = store.find_order_id(domain, sc.order_name) or ""
        while not store.refunds(domain, order_id):  # the emulator is in this process: a look costs microseconds
            await asyncio.sleep(0.002)
        return (time.monotonic() - pushed) * 1000

    watchers = []
    with Progress("paced inspections", n) as progress:
        for sc in scenarios:
            pushed = time.monotonic()
            await world.push("engine", sc, 3)
            watchers.append(asyncio.create_task(until_refunded(sc, pushed)))
            progress.advance()
            await asyncio.sleep(every)
    latencies = await asyncio.wait_for(asyncio.gather(*watchers), timeout=300)
    q = statistics.quantiles(latencies, n=100)
    return {"returns": n, "every_s": every, "p50_ms": round(q[49]), "p95_ms": round(q[94]), "p99_ms": round(q[98])}


async def run(returns: int, paced_returns: int) -> dict[str, Any]:
    os.environ["RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"] = "0.01"  # the shop queue's dispatch cap lifted, as the bucket
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_cli()), search_attributes=search.ALL, dev_server_log_level="error"
        )
        stack.push_async_callback(env.shutdown)
        emulator = ShopifyEmulator()
        await emulator.start()
        stack.push_async_callback(emulator.stop)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)))
        world = World(env, emulator, http)
        world.batch(1)  # the shop exists before the workers start
        shops = shop_limits(world.mappings.values())
        await stack.enter_async_context(build_worker(env.client, world.settings, http,
                                                     token_lookup=world.tokens.__getitem__, shops=shops))  # fmt: skip
        bare = Worker(env.client, task_queue=world.settings.task_queue + "-bare", workflows=[BareReturn],
                      workflow_runner=workflow_runner())  # fmt: skip
        await stack.enter_async_context(bare)
        await lifecycles(world, "engine", 20)  # warm both paths up (imports, caches, connections)
        await lifecycles(world, "bare", 20)
        bare_run = await lifecycles(world, "bare", returns)
        engine_run = await lifecycles(world, "engine", returns)
        latency = await paced(world, paced_returns, 0.2)
    return {"engine": engine_run, "bare": bare_run, "engine_over_bare": round(engine_run["per_second"] /
            bare_run["per_second"], 2), "latency": latency}  # fmt: skip


def render(r: dict[str, Any]) -> str:
    e, b, lat = r["engine"], r["bare"], r["latency"]
    return "\n".join([
        f"{e['returns']} CASTORE returns per run, all registered at once, then carried, received and inspected; "
        "one worker set in this process, dev server in memory, Shopify emulator in process with its bucket and the "
        "shop queue's cap lifted. Bare: `emulators.bench.bare`, the same events and activities with no "
        "interpreter. `python -m emulators.bench.engine_vs_bare --write`.",
        "",
        "| | engine | bare | engine / bare |",
        "|---|---|---|---|",
        f"| full lifecycles/s | {e['per_second']} | {b['per_second']} | **{r['engine_over_bare']}** |",
        f"| CPU ms per return (whole process) | {e['cpu_ms_per_return']} | {b['cpu_ms_per_return']} | |",
        f"| history per return (KB, events) | {e['history_kb']}, {e['history_events']} | {b['history_kb']}, "
        f"{b['history_events']} | |",
        "",
        f"Paced: {lat['returns']} returns at the hub, one inspection push every {lat['every_s']} s, from the push "
        f"to the refund in Shopify: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, **p99 {lat['p99_ms']} ms**.",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=150)
    parser.add_argument("--paced", type=int, default=60)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns, args.paced))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Engine against a bare workflow, and paced latency", render(result))
        write_result("engine_vs_bare", result)


if __name__ == "__main__":
    main()
