"""Pushes per second from a signed HTTP push to durable hand-off (signal-with-start accepted by Temporal).

A real dev server and the real receiver on loopback; no worker polls the queue, so only the hand-off is
measured. Several runs; the median is reported. `python -m emulators.bench.ingest_throughput [--pushes N]`.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from emulators.bench.report import write_section
from emulators.paths import REPO_ROOT
from emulators.rebound.scenarios import ScenarioBuilder
from emulators.rebound.server import ReboundEmulator
from engine.definitions.flow import load_flows
from engine.definitions.mapping import MappingDef, load_mappings
from engine.ingest.receiver import Receiver
from engine.ingest.serve import AppServer
from engine.ingest.store import open_event_store
from engine.registry.flows import flows_from
from engine.temporal.binaries import temporal_cli
from engine.workflow import search


async def one_run(env: WorkflowEnvironment, pushes: int, concurrency: int, folder: Path) -> tuple[float, int]:
    mappings = load_mappings(REPO_ROOT / "mappings")
    secrets = {"castore": uuid.uuid4().hex}

    async def lookup(brand: str) -> MappingDef:
        return mappings[brand]

    store = await open_event_store(f"sqlite:///{folder / f'events-{uuid.uuid4().hex}.sqlite'}")
    receiver = Receiver(client=env.client, flows=flows_from(load_flows(REPO_ROOT / "flows")), mappings=lookup,
                        store=store, task_queue=f"bench-{uuid.uuid4()}", secrets=secrets.get)  # fmt: skip
    server = AppServer(receiver.app())
    url = await server.start()
    rebound = ReboundEmulator(api_token="t", secrets=secrets)
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=time.time_ns() % 10**8)
    payloads: list[dict[str, Any]] = []
    while len(payloads) < pushes:
        sc = builder.new("bench", "castore", lines=1)
        builder.returned(sc, 0, 1, "A")
        builder.lifecycle(sc)
        payloads.extend(sc.pushes)
    payloads = payloads[:pushes]
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:

        async def send(payload: dict[str, Any]) -> int:
            async with semaphore:
                return await rebound.push(http, url, "castore", payload)

        started = time.perf_counter()
        statuses = await asyncio.gather(*(send(p) for p in payloads))
        elapsed = time.perf_counter() - started
    await server.stop()
    await store.close()
    return pushes / elapsed, statuses.count(202)


async def main(pushes: int, runs: int, concurrency: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()), search_attributes=search.ALL, dev_server_log_level="error"
    )
    rates = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(runs):
                rate, accepted = await one_run(env, pushes, concurrency, Path(tmp))
                if accepted != pushes:
                    raise SystemExit(f"run {n + 1}: only {accepted}/{pushes} pushes accepted")
                rates.append(rate)
                print(f"run {n + 1}: {rate:.0f} pushes/s ({accepted}/{pushes} accepted)", flush=True)
    finally:
        await env.shutdown()
    median = statistics.median(rates)
    body = (
        f"{pushes} HMAC-signed pushes per run over loopback HTTP, {concurrency} in flight, each answered 202 only "
        f"after signal-with-start succeeded on a local Temporal dev server (SQLite in memory).\n\n"
        f"| runs | median pushes/s | min | max |\n|---|---|---|---|\n"
        f"| {runs} | **{median:.0f}** | {min(rates):.0f} | {max(rates):.0f} |\n\n"
        f"Per run: {json.dumps([round(r) for r in rates])}."
    )
    write_section("Push receiver: pushes/s to durable hand-off", body)
    print(f"median {median:.0f} pushes/s over {runs} runs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(main(args.pushes, args.runs, args.concurrency))
