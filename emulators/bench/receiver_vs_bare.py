"""The push receiver against a bare signal-with-start, in one run: `returns serve` in its own process, the sender
in another (emulators.bench.push_sender), against the same dev server; the bare side hands the same events to
Temporal directly. No worker polls: what is measured is the hand-off (2xx only after Temporal has the event and
the receiver's store has recorded it).

    python -m emulators.bench.receiver_vs_bare [--returns 250] [--runs 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from emulators.bench.report import write_result, write_section
from emulators.paths import REPO_ROOT
from emulators.processes import free_port, spawn, wait_http
from emulators.progress import Progress
from emulators.rebound.scenarios import ScenarioBuilder
from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.ingest.signatures import secret_env_name
from engine.registry.client import deploy
from engine.registry.flows import deploy_flow
from engine.temporal.binaries import temporal_cli
from engine.workers.build import build_registry_worker
from engine.workflow import search

BRAND = "castore"


def waves(returns: int, seed: int) -> list[list[dict[str, Any]]]:
    """Every return's four pushes, in four waves (registrations first): three of four reach a running return."""
    mappings = load_mappings(REPO_ROOT / "mappings")
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=seed)
    scenarios = []
    for i in range(returns):
        sc = builder.new(f"push-{i}", BRAND, lines=1)
        builder.returned(sc, 0, 1, "A")
        builder.lifecycle(sc)
        scenarios.append(sc)
    return [[sc.pushes[step] for sc in scenarios] for step in range(4)]


def _send(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "emulators.bench.push_sender", *args], capture_output=True,
                          text=True, timeout=900, env=env, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def run(returns: int, runs: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    secret = secrets.token_hex(16)
    receiver_rates, bare_rates = [], []
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal_cli()), search_attributes=search.ALL, dev_server_log_level="error"
        )
        stack.push_async_callback(env.shutdown)
        await stack.enter_async_context(build_registry_worker(env.client))
        for flow in load_flows(REPO_ROOT / "flows").values():
            await deploy_flow(env.client, flow, operator="bench")
        for mapping in load_mappings(REPO_ROOT / "mappings").values():
            await deploy(env.client, mapping, operator="bench")
        address = env.client.service_client.config.target_host
        port = free_port()
        serve_env = {"TEMPORAL_ADDRESS": address, secret_env_name(BRAND): secret, "RETURNS_DATA_DIR": str(folder),
                     "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}  # fmt: skip
        serve = spawn(["serve", "--port", str(port), "--no-access-log"], serve_env, folder / "serve.log")
        stack.callback(serve.kill)
        await wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)

        progress = Progress("runs (receiver, bare)", runs * 2)
        async with progress.ticking():
            for run_no in range(runs):
                batch = waves(returns, seed=1000 + run_no)
                pushes_file = folder / f"pushes-{run_no}.json"
                pushes_file.write_text(json.dumps(batch))
                got = await asyncio.to_thread(_send, [str(pushes_file), "--url",
                                                      f"http://127.0.0.1:{port}", "--brand", BRAND],
                                              {**os.environ, "BENCH_SECRET": secret})  # fmt: skip
                accepted = got["statuses"].get("202", 0)
                assert accepted == returns * 4, got
                receiver_rates.append(returns * 4 / got["seconds"])
                progress.advance()
                bare_file = folder / f"pushes-bare-{run_no}.json"
                bare_file.write_text(json.dumps(waves(returns, seed=2000 + run_no)))
                got = await asyncio.to_thread(_send, [str(bare_file), "--bare", address])
                bare_rates.append(returns * 4 / got["seconds"])
                progress.advance()
    receiver, bare = statistics.median(receiver_rates), statistics.median(bare_rates)
    return {"pushes_per_run": returns * 4, "runs": runs, "receiver_per_s": round(receiver), "bare_per_s": round(bare),
            "receiver_over_bare": round(receiver / bare, 2), "receiver_runs": [round(r) for r in receiver_rates],
            "bare_runs": [round(r) for r in bare_rates]}  # fmt: skip


def render(r: dict[str, Any]) -> str:
    return "\n".join([
        f"{r['pushes_per_run']} pushes per run ({r['pushes_per_run'] // 4} returns x 4 milestones, in waves: three "
        "of four reach a return already running), 25 in flight, median of "
        f"{r['runs']} runs. Receiver: `returns serve` in its own process (HMAC check, schema, translation, event "
        "store claim and confirm in SQLite, Temporal hand-off), the sender in another; bare: the same events as "
        "signal-with-start from a process straight to the same dev server. "
        "`python -m emulators.bench.receiver_vs_bare --write`.",
        "",
        "| | pushes/s | runs |",
        "|---|---|---|",
        f"| receiver | {r['receiver_per_s']} | {r['receiver_runs']} |",
        f"| bare signal-with-start | {r['bare_per_s']} | {r['bare_runs']} |",
        f"| **receiver / bare** | **{r['receiver_over_bare']}** | |",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns, args.runs))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Push receiver against a bare signal-with-start", render(result))
        write_result("receiver_vs_bare", result)


if __name__ == "__main__":
    main()
