"""A worker's memory with many returns open: `returns worker` in its own process serves N returns that were
registered and opened in Shopify and now wait for the carrier (their workflows open, on timers); its resident set
is read from /proc once they are all waiting, and its peak.

    python -m emulators.bench.worker_memory [--returns 10000] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from emulators.bench.engine_vs_bare import BRAND, UNLIMITED
from emulators.bench.report import write_result, write_section
from emulators.demo import seed_shopify
from emulators.paths import REPO_ROOT
from emulators.processes import spawn
from emulators.progress import Progress
from emulators.rebound.scenarios import ScenarioBuilder
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.rebound.translate import translate
from engine.settings import token_env_name
from engine.temporal.binaries import temporal_cli
from engine.temporal.converter import DATA_CONVERTER
from engine.workers.starter import deliver
from engine.workflow import search


def rss_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def run(returns: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    flows, mappings = load_flows(REPO_ROOT / "flows"), load_mappings(REPO_ROOT / "mappings")
    mapping = mappings[BRAND]
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=secrets.randbelow(10**8))
    scenarios = []
    for i in range(returns):
        sc = builder.new(f"open-{i}", BRAND, lines=1)
        builder.returned(sc, 0, 1, "A")
        builder.lifecycle(sc)
        scenarios.append(sc)
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=str(temporal_cli()),
            search_attributes=search.ALL,
            dev_server_log_level="error",
        )
        stack.push_async_callback(env.shutdown)
        emulator = ShopifyEmulator()
        base_url = await emulator.start()
        stack.push_async_callback(emulator.stop)
        tokens: dict[str, str] = {}
        seed_shopify(emulator.store, mappings, scenarios, tokens)
        emulator.set_plan(mapping.shop_domain, UNLIMITED)
        task_queue = f"memory-{secrets.token_hex(4)}"
        worker_env = {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host, "RETURNS_TASK_QUEUE": task_queue,
            "RETURNS_MAPPINGS_DIR": str(REPO_ROOT / "mappings"), "SHOPIFY_ENDPOINT": f"{base_url}/shops/{{shop}}",
            "RETURNS_SHOPIFY_POINTS_PER_ACTIVITY": "0.01", "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none", **{token_env_name(d): t for d, t in tokens.items()},
        }  # fmt: skip
        worker = spawn(["worker", "--roles", "returns,shops"], worker_env, folder / "worker.log")
        stack.callback(worker.kill)
        await worker.wait_for_line("ready;", timeout=120)
        idle = rss_mib(worker.process.pid)[0]
        started = time.monotonic()
        gate = asyncio.Semaphore(50)
        shop = emulator.store.shop(mapping.shop_domain)
        registered = Progress("returns registered", returns)

        async def register(payload: dict[str, Any]) -> None:
            event = translate(payload, mapping).event
            assert event is not None
            async with gate:
                await deliver(env.client, event, flow=flows[mapping.flow], mapping=mapping, task_queue=task_queue)
            registered.advance()

        async with registered.ticking():
            await asyncio.gather(*(register(sc.pushes[0]) for sc in scenarios))
        opened = Progress("returns opened in Shopify", returns)
        async with opened.ticking(lambda: len(shop.returns)):
            while len(shop.returns) < returns:
                await asyncio.sleep(1.0)
        await asyncio.sleep(5.0)  # the last workflow tasks settle on their timers
        rss, peak = rss_mib(worker.process.pid)
        seconds = time.monotonic() - started
    return {"open_returns": returns, "rss_mib": round(rss), "peak_mib": round(peak), "idle_mib": round(idle),
            "seconds_to_open": round(seconds)}  # fmt: skip


def render(r: dict[str, Any]) -> str:
    return (
        f"`returns worker --roles returns,shops` in its own process; {r['open_returns']} returns registered, "
        f"validated and opened in Shopify ({r['seconds_to_open']} s), each now waiting for the carrier on its SLA "
        f"timer. Resident set: **{r['rss_mib']} MiB** with them open (peak {r['peak_mib']} MiB; {r['idle_mib']} MiB "
        "idle before the first). Memory is bounded by the SDK's workflow cache (`max_cached_workflows`), not by the "
        "number of open returns: an evicted return is replayed from history when its next event comes. "
        "`python -m emulators.bench.worker_memory --write`."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10000)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Worker memory with returns open", render(result))
        write_result("worker_memory", result)


if __name__ == "__main__":
    main()
