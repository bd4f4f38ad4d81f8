"""The engine against its own ceiling, in one run: full lifecycles per second of the engine's `Return` workflow and
of a bare hand-written workflow (emulators.bench.bare) doing the same four events and the same activities, on the
same dev server, worker set and Shopify emulator (its bucket lifted: Shopify's rate is measured by the backlog
bench), with the CPU each spends per return in this process (worker, emulator, client) and in the Temporal dev
server (read from /proc); the same again paced, returns waiting in each state while later pushes arrive, so the SLA
waits happen; then the paced latency from the inspection push to the refund in Shopify.

    python -m emulators.bench.engine_vs_bare [--returns 150] [--spaced 50] [--paced 60] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import statistics
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from emulators.bench.bare import BareReturn, BareStart
from emulators.bench.report import write_result, write_section
from emulators.bench.server_cpu import CpuMeter, cpu_seconds, temporal_server_pid
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
from engine.temporal.converter import DATA_CONVERTER
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_worker
from engine.workers.starter import deliver, handle_for
from engine.workflow import search
from engine.workflow.messages import workflow_id
from engine.workflow.return_workflow import ReturnWorkflow

BRAND = "castore"
# What a workflow does after its Shopify return is closed (its last upserts and workflow tasks, the linger timer)
# lands inside the CPU reading, not in the next run's: the meter stops this long after the last return closes.
SETTLE = 1.0
SPACING = (0.4, 1.5)  # paced lifecycles: a new return every 0.4 s, each of its pushes 1.5 s after the one before
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

    @functools.cached_property
    def server_pid(self) -> int:
        """The dev server's process, a child of this one (WorkflowEnvironment.start_local)."""
        return temporal_server_pid()

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


async def until_closed(world: World, scenarios: list[Scenario], progress: Progress) -> None:
    pending = scenarios
    while pending:
        pending = [sc for sc in pending if not world.closed(sc)]
        progress.update(len(scenarios) - len(pending))
        if pending:
            await asyncio.sleep(0.05)


async def lifecycles(world: World, kind: str, n: int) -> dict[str, Any]:
    """All `n` returns registered at once, then carried, received and inspected: returns/s until every Shopify
    return is closed; CPU per return of this process (worker, emulator and client alike) and of the dev server;
    history size."""
    scenarios = world.batch(n)
    progress = Progress(f"{kind} lifecycles", n)
    meter = CpuMeter(world.server_pid).start()
    async with progress.ticking():
        for step in range(4):
            await asyncio.gather(*(world.push(kind, sc, step) for sc in scenarios))
        await until_closed(world, scenarios, progress)
    seconds = time.monotonic() - meter.started
    await asyncio.sleep(SETTLE)
    meter.stop()
    rid = scenarios[0].rebound_return_id
    wf = workflow_id(BRAND, rid) if kind == "engine" else "bare-" + rid
    history = await world.client.get_workflow_handle(wf).fetch_history()
    return {"returns": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 2),
            **meter.per_return_ms(n), "history_kb": round(len(history.to_json()) / 1024, 1),
            "history_events": len(history.events)}  # fmt: skip


async def spaced(world: World, kind: str, n: int, every: float, gap: float) -> dict[str, Any]:
    """Paced lifecycles: a return registered every `every` seconds, each of its later pushes `gap` seconds after the
    one before, so returns wait in each state under its SLA while others' pushes arrive. CPU per
    return as in `lifecycles`, over the whole run; then, from every history, the timers started per return."""
    from emulators.bench.actions import actions, workflow_id_of  # here: that module builds on this one's World

    scenarios = world.batch(n)

    async def one(i: int, sc: Scenario) -> None:
        await asyncio.sleep(i * every)
        for step in range(4):
            if step:
                await asyncio.sleep(gap)
            await world.push(kind, sc, step)

    progress = Progress(f"{kind} paced lifecycles", n)
    meter = CpuMeter(world.server_pid).start()
    async with progress.ticking():
        await asyncio.gather(*(one(i, sc) for i, sc in enumerate(scenarios)))
        await until_closed(world, scenarios, progress)
    await asyncio.sleep(SETTLE)
    meter.stop()
    counted: Counter[str] = Counter()
    for sc in scenarios:
        history = await world.client.get_workflow_handle(workflow_id_of(kind, sc)).fetch_history()
        counted.update(actions(history.events))
    return {"returns": n, "every_s": every, "gap_s": gap, "seconds": round(meter.seconds, 2),
            **meter.per_return_ms(n), "timers_per_return": round(counted["timers"] / n, 2),
            "actions_per_return": round(sum(counted.values()) / n, 2)}  # fmt: skip


async def server_idle(world: World, seconds: float = 3.0) -> float:
    """The dev server's CPU while nothing is asked of it (the workers polling): ms per second."""
    before = cpu_seconds(world.server_pid)
    await asyncio.sleep(seconds)
    return round((cpu_seconds(world.server_pid) - before) * 1000 / seconds, 1)


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


def cheaper(engine: dict[str, Any], bare: dict[str, Any]) -> float:
    """Bare's CPU per return over the engine's, worker and server together: 1.0 is as cheap as bare."""
    return round(bare["total_cpu_ms"] / engine["total_cpu_ms"], 2)


async def run(returns: int, spaced_returns: int, paced_returns: int) -> dict[str, Any]:
    os.environ["RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"] = "0.01"  # the shop queue's dispatch cap lifted, as the bucket
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=str(temporal_cli()),
            search_attributes=search.ALL,
            dev_server_log_level="error",
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
        idle = await server_idle(world)
        every, gap = SPACING
        bare_spaced = await spaced(world, "bare", spaced_returns, every, gap)
        engine_spaced = await spaced(world, "engine", spaced_returns, every, gap)
        latency = await paced(world, paced_returns, 0.2)
    return {"engine": engine_run, "bare": bare_run, "engine_over_bare": cheaper(engine_run, bare_run),
            "throughput_ratio": round(engine_run["per_second"] / bare_run["per_second"], 2),
            "spaced": {"engine": engine_spaced, "bare": bare_spaced, "engine_over_bare": cheaper(engine_spaced,
                       bare_spaced), "server_idle_ms_per_s": idle},
            "latency": latency}  # fmt: skip


def render(r: dict[str, Any]) -> str:
    e, b, lat, sp = r["engine"], r["bare"], r["latency"], r["spaced"]
    se, sb = sp["engine"], sp["bare"]
    return "\n".join([
        f"{e['returns']} CASTORE returns per run, all registered at once, then carried, received and inspected; "
        "one worker set in this process, dev server in memory, Shopify emulator in process with its bucket and the "
        "shop queue's cap lifted. Bare: `emulators.bench.bare`, the same events and activities with no "
        "interpreter. CPU: this process's (worker, emulator and the client pushing) from `time.process_time`, the "
        "dev server's (the `temporal` process `WorkflowEnvironment.start_local` spawned) from utime + stime in "
        f"/proc/<pid>/stat, each read before the run and {SETTLE:g} s after its last return closed (what a workflow "
        "does after that counts too). `python -m emulators.bench.engine_vs_bare --write`.",
        "",
        "| | engine | bare | engine / bare |",
        "|---|---|---|---|",
        f"| CPU ms per return, worker process + server | {e['total_cpu_ms']} | {b['total_cpu_ms']} | "
        f"**{r['engine_over_bare']}** (bare's over the engine's) |",
        f"| CPU ms per return, worker process | {e['worker_cpu_ms']} | {b['worker_cpu_ms']} | |",
        f"| CPU ms per return, Temporal server | {e['server_cpu_ms']} | {b['server_cpu_ms']} | |",
        f"| full lifecycles/s | {e['per_second']} | {b['per_second']} | {r['throughput_ratio']} |",
        f"| history per return (KB, events) | {e['history_kb']}, {e['history_events']} | {b['history_kb']}, "
        f"{b['history_events']} | |",
        "",
        "Paced, so returns wait under their SLAs (the engine keeps them by the SLA sweep, no timer each): "
        f"{se['returns']} returns, one registered every {se['every_s']} s, each of its "
        f"later pushes {se['gap_s']} s after the one before (each return waits in each state while others' pushes "
        f"arrive); CPU over the whole run ({se['seconds']} s engine, {sb['seconds']} s bare; the server idles at "
        f"{sp['server_idle_ms_per_s']} ms/s with the workers polling, counted in).",
        "",
        "| paced | engine | bare | engine / bare |",
        "|---|---|---|---|",
        f"| CPU ms per return, worker process + server | {se['total_cpu_ms']} | {sb['total_cpu_ms']} | "
        f"**{sp['engine_over_bare']}** |",
        f"| CPU ms per return, worker process | {se['worker_cpu_ms']} | {sb['worker_cpu_ms']} | |",
        f"| CPU ms per return, Temporal server | {se['server_cpu_ms']} | {sb['server_cpu_ms']} | |",
        f"| timers started per return (from the histories) | {se['timers_per_return']} | {sb['timers_per_return']} | |",
        f"| Temporal actions per return (emulators.bench.actions) | {se['actions_per_return']} | "
        f"{sb['actions_per_return']} | |",
        "",
        f"Paced latency: {lat['returns']} returns at the hub, one inspection push every {lat['every_s']} s, from the "
        f"push to the refund in Shopify: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, **p99 {lat['p99_ms']} ms**.",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=150)
    parser.add_argument("--spaced", type=int, default=50, help="returns in the paced CPU runs (waiting in states)")
    parser.add_argument("--paced", type=int, default=60, help="returns in the push-to-refund latency run")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns, args.spaced, args.paced))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Engine against a bare workflow, and paced latency", render(result))
        write_result("engine_vs_bare", result)


if __name__ == "__main__":
    main()
