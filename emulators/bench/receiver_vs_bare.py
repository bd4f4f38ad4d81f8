"""The push receiver against a bare signal-with-start, with the CPU each process spends per push.

`returns serve` runs in its own process (with `--workers N`, uvicorn's N worker processes under it), against a
Temporal dev server on this machine; no worker polls: what is measured is the hand-off (2xx only after Temporal
has the event and the receiver's store has claimed it). The same sender processes (emulators.bench.push_sender,
`--senders` of them, each with its share of the returns and of the requests in flight) drive both sides:
pre-signed HTTP/1.1 requests on raw keep-alive connections to the receiver; pre-built signal-with-start requests
straight to Temporal for the bare side. Every process's CPU (user + system, all threads) is read from /proc
just before the senders start and just after the last one finishes: the senders, the receiver's processes, the
Temporal dev server, and this process (it hosts the registry worker that answers the receiver's mapping and flow
look-ups, every 5 s).

    python -m emulators.bench.receiver_vs_bare [--returns 250] [--runs 3] [--senders 2] [--workers 1,2] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from emulators.bench import proc_cpu
from emulators.bench.report import write_result, write_section
from emulators.bench.server_cpu import temporal_server_pid
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
from engine.temporal.converter import DATA_CONVERTER
from engine.workers.build import build_registry_worker
from engine.workflow import search

BRAND = "castore"
# The rate limits stay on (their buckets are taken per push, as in production) but out of reach: one sender host
# sends every push, faster than the default 100/s per client and 200/s per brand once the bursts are spent.
UNLIMITED = {"RETURNS_RATE_PER_CLIENT": "1000000/1000000", "RETURNS_RATE_PER_BRAND": "1000000/1000000"}
THREAD_KINDS = ("event loop", "Temporal client runtime", "other threads")
TREES = ("receiver", "temporal")  # roles whose CPU includes their processes' child processes


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


class Senders:
    """The sender processes, driven line by line (push_sender's protocol)."""

    def __init__(self, processes: list[asyncio.subprocess.Process]) -> None:
        self.processes = processes

    @classmethod
    async def start(cls, count: int, secret: str) -> Senders:
        env = {**os.environ, "BENCH_SECRET": secret}
        processes = [
            await asyncio.create_subprocess_exec(sys.executable, "-m", "emulators.bench.push_sender", env=env,
                                                 stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            for _ in range(count)
        ]  # fmt: skip
        return cls(processes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    async def ask(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for process, order in zip(self.processes, orders, strict=True):
            assert process.stdin is not None
            process.stdin.write((json.dumps(order) + "\n").encode())
            await process.stdin.drain()

        async def answer(process: asyncio.subprocess.Process) -> dict[str, Any]:
            assert process.stdout is not None
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError(f"sender {process.pid} exited ({await process.wait()})")
            result: dict[str, Any] = json.loads(line)
            return result

        return list(await asyncio.gather(*(answer(p) for p in self.processes)))

    async def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None and process.returncode is None:
                process.stdin.write(b'{"cmd": "quit"}\n')
                process.stdin.close()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()


async def phase(
    senders: Senders, folder: Path, name: str, batch: list[list[dict[str, Any]]], concurrency: int,
    target: dict[str, Any], roles: dict[str, list[int]],
) -> dict[str, Any]:  # fmt: skip
    """One timed run: every sender prepared (its share written out, signed or encoded, connected), then the CPU
    of every process read, the senders started together, and the CPU read again when the last one is done."""
    count = len(senders.processes)
    orders = []
    for k in range(count):  # a return's pushes all go through one sender, so their order holds
        share = folder / f"{name}-{k}.json"
        share.write_text(json.dumps([wave[k::count] for wave in batch]))
        in_flight = concurrency // count + (1 if k < concurrency % count else 0)
        orders.append({"cmd": "prepare", "file": str(share), "concurrency": in_flight, **target})
    await senders.ask(orders)
    pids = {role: [pid for p in found for pid in proc_cpu.descendants(p)] if role in TREES else found
            for role, found in roles.items()}  # fmt: skip
    before = {role: proc_cpu.total(found) for role, found in pids.items()}
    threads_before = {pid: proc_cpu.threads(pid) for pid in pids.get("receiver", [])}
    started = time.monotonic()
    answers = await senders.ask([{"cmd": "go"}] * count)
    seconds = time.monotonic() - started
    after = {role: proc_cpu.total(found) for role, found in pids.items()}
    by_kind: dict[str, float] = {}
    for pid, earlier in threads_before.items():
        for tid, (name, cpu) in proc_cpu.threads(pid).items():
            kind = proc_cpu.thread_kind(pid, tid, name)
            by_kind[kind] = by_kind.get(kind, 0.0) + cpu - earlier.get(tid, (name, 0.0))[1]
    pushes = sum(len(wave) for wave in batch)
    statuses: dict[str, int] = {}
    for got in answers:
        for status, n in got["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "pushes": pushes,
        "seconds": round(seconds, 3),
        "per_s": round(pushes / seconds, 1),
        "statuses": statuses,
        "cpu_ms_per_push": {role: round((after[role] - before[role]) * 1000 / pushes, 3) for role in pids},
        "processes": {role: len(found) for role, found in pids.items()},
        "receiver_threads_ms_per_push": {kind: round(cpu * 1000 / pushes, 3) for kind, cpu in by_kind.items()},
    }


def _median_cpu(phases: list[dict[str, Any]], key: str = "cpu_ms_per_push") -> dict[str, float]:
    roles = {role for p in phases for role in p[key]}
    return {role: round(statistics.median(p[key].get(role, 0.0) for p in phases), 2) for role in sorted(roles)}


async def run(returns: int, runs: int, senders_count: int, workers: list[int], concurrency: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    secret = secrets.token_hex(16)
    bare_phases: list[dict[str, Any]] = []
    receiver_phases: dict[int, list[dict[str, Any]]] = {n: [] for n in workers}
    load_before = os.getloadavg()
    async with AsyncExitStack() as stack:
        env = await WorkflowEnvironment.start_local(
            data_converter=DATA_CONVERTER,
            dev_server_existing_path=str(temporal_cli()),
            search_attributes=search.ALL,
            dev_server_log_level="error",
        )
        stack.push_async_callback(env.shutdown)
        temporal = [temporal_server_pid()]  # the `temporal` binary start_local ran under this process
        await stack.enter_async_context(build_registry_worker(env.client))
        for flow in load_flows(REPO_ROOT / "flows").values():
            await deploy_flow(env.client, flow, operator="bench")
        for mapping in load_mappings(REPO_ROOT / "mappings").values():
            await deploy(env.client, mapping, operator="bench")
        address = env.client.service_client.config.target_host
        senders = await Senders.start(senders_count, secret)
        stack.push_async_callback(senders.stop)

        progress = Progress("runs (bare, then the receiver with each --workers)", runs * (1 + len(workers)))
        async with progress.ticking():
            for n in workers:
                port = free_port()
                data = folder / f"serve-{n}"
                serve_env = {"TEMPORAL_ADDRESS": address, secret_env_name(BRAND): secret, "RETURNS_DATA_DIR": str(data),
                             "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", **UNLIMITED}  # fmt: skip
                serve = spawn(["serve", "--port", str(port), "--workers", str(n), "--no-access-log"], serve_env,
                              folder / f"serve-{n}.log")  # fmt: skip
                stack.callback(serve.kill)
                await wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
                if n > 1:  # every worker process up (each answers /healthz once its app has started)
                    await asyncio.sleep(2)
                url = f"http://127.0.0.1:{port}"
                for run_no in range(runs):
                    if n == workers[0]:  # the bare side does not depend on the receiver: once per run
                        got = await phase(senders, folder, f"bare-{run_no}", waves(returns, seed=2000 + run_no),
                                          concurrency, {"mode": "bare", "address": address},
                                          {"senders": senders.pids, "temporal": temporal,
                                           "bench": [os.getpid()]})  # fmt: skip
                        bare_phases.append(got)
                        progress.advance()
                    got = await phase(senders, folder, f"receiver-{n}-{run_no}",
                                      waves(returns, seed=1000 + 100 * n + run_no), concurrency,
                                      {"mode": "receiver", "url": url, "brand": BRAND},
                                      {"receiver": [serve.process.pid], "senders": senders.pids,
                                       "temporal": temporal, "bench": [os.getpid()]})  # fmt: skip
                    assert got["statuses"].get("202", 0) == returns * 4, got
                    receiver_phases[n].append(got)
                    progress.advance()
                serve.kill()
    bare = statistics.median(p["per_s"] for p in bare_phases)
    by_workers: dict[str, Any] = {}
    for n, phases in receiver_phases.items():
        per_s = statistics.median(p["per_s"] for p in phases)
        by_workers[str(n)] = {"per_s": round(per_s), "runs": [round(p["per_s"]) for p in phases],
                              "over_bare": round(per_s / bare, 2), "cpu_ms_per_push": _median_cpu(phases),
                              "processes": phases[0]["processes"],
                              "threads_ms_per_push": _median_cpu(phases, "receiver_threads_ms_per_push")}  # fmt: skip
    first = by_workers[str(workers[0])]
    return {
        "pushes_per_run": returns * 4, "runs": runs, "senders": senders_count, "concurrency": concurrency,
        "workers": workers, "receiver_per_s": first["per_s"], "bare_per_s": round(bare),
        "receiver_over_bare": first["over_bare"], "receiver_runs": first["runs"],
        "bare_runs": [round(p["per_s"]) for p in bare_phases],
        "receiver_cpu_ms_per_push": first["cpu_ms_per_push"]["receiver"],
        "bare_cpu_ms_per_push": _median_cpu(bare_phases), "by_workers": by_workers,
        "load_average_before": [round(x, 2) for x in load_before], "cores": os.cpu_count(),
    }  # fmt: skip


def _cpu(cpu: dict[str, float], role: str) -> str:
    return f"{cpu[role]:.2f}" if role in cpu else "-"


def render(r: dict[str, Any]) -> str:
    first = r["workers"][0]
    rows = [
        f"{r['pushes_per_run']} pushes per run ({r['pushes_per_run'] // 4} returns x 4 milestones, in waves: three "
        f"of four reach a return already running), {r['concurrency']} in flight, median of {r['runs']} runs, "
        f"{r['cores']} cores ({platform.machine()}; load average {r['load_average_before'][0]} when it started). "
        "Receiver: `returns serve --workers N` (HMAC check, schema, translation, event store claim and confirm in "
        "SQLite, Temporal hand-off; 2xx only once Temporal has the event), no Temporal worker polling. Bare: the same "
        "events as signal-with-start straight to the same dev server. The same "
        f"{r['senders']} sender processes drive both (`emulators.bench.push_sender`), each with its share of the "
        "returns and of the requests in flight, and with everything built before the clock starts: for the "
        "receiver each push's whole HTTP/1.1 request, signed as Rebound signs it, written on raw keep-alive "
        "connections; for the bare side each push's `SignalWithStartWorkflowExecutionRequest`, handed to the "
        "Temporal client's service call as it is.",
        "",
        "CPU per push: each process's user + system time (all its threads) read from `/proc/<pid>/stat` just before "
        "the senders start and just after the last one is done, divided by the pushes: the receiver (the `returns "
        "serve` process and its worker processes), the senders, the Temporal dev server (the `temporal` process "
        "`WorkflowEnvironment.start_local` started), and the bench's own process (it hosts the registry worker "
        "that answers the receiver's mapping and flow look-ups, cached 5 s). Wall-clock figures (pushes/s) "
        "depend on whatever else the machine is doing; CPU per push much less.",
        "",
        "| | pushes/s | runs | receiver CPU ms/push | sender CPU ms/push | Temporal CPU ms/push "
        "| bench process ms/push |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in r["workers"]:
        w = r["by_workers"][str(n)]
        cpu = w["cpu_ms_per_push"]
        count = w["processes"]["receiver"]
        label = f"receiver, `--workers {n}` ({count} process{'es' if count != 1 else ''})"
        rows.append(f"| {label} | {w['per_s']} | {w['runs']} | {_cpu(cpu, 'receiver')} | {_cpu(cpu, 'senders')} "
                    f"| {_cpu(cpu, 'temporal')} | {_cpu(cpu, 'bench')} |")  # fmt: skip
    cpu = r["bare_cpu_ms_per_push"]
    rows += [
        f"| bare signal-with-start | {r['bare_per_s']} | {r['bare_runs']} | - | {_cpu(cpu, 'senders')} "
        f"| {_cpu(cpu, 'temporal')} | {_cpu(cpu, 'bench')} |",
        f"| **receiver / bare** (`--workers {first}`) | **{r['receiver_over_bare']}** | | | | | |",
        "",
        f"Receiver CPU per push (`--workers {first}`, median of the runs): **{r['receiver_cpu_ms_per_push']} ms**. "
        "`python -m emulators.bench.receiver_vs_bare --write`.",
        "",
        "The receiver's CPU per push by thread (`/proc/<pid>/task/<tid>/stat`, same moments; the medians need not "
        "add up to the total): the main thread runs the event loop (HTTP, checks, translation, the Temporal "
        "client's Python side, the event store's claims and confirmations), the Temporal client's runtime its Rust "
        "threads (gRPC), the other threads are Python's own (`asyncio.to_thread`: the event store's durable "
        "writes, and any claim that found SQLite's write lock taken).",
        "",
        "| `--workers` | " + " | ".join(THREAD_KINDS) + " |",
        "|---|" + "---|" * len(THREAD_KINDS),
    ]
    for n in r["workers"]:
        split = r["by_workers"][str(n)].get("threads_ms_per_push", {})
        rows.append(f"| {n} | " + " | ".join(_cpu(split, kind) for kind in THREAD_KINDS) + " |")
    rows.append("")
    for n in r["workers"][1:]:
        w = r["by_workers"][str(n)]
        rows.append(f"With `--workers {n}`: {w['per_s']} pushes/s, {w['over_bare']} of bare, on {r['cores']} cores "
                    "shared with the senders and the Temporal server.")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--senders", type=int, default=2, help="sender processes (default 2)")
    parser.add_argument("--workers", default="1,2", help="`returns serve --workers` values to measure (default 1,2)")
    parser.add_argument("--concurrency", type=int, default=25, help="requests in flight, all senders together")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    workers = [int(n) for n in args.workers.split(",")]
    result = asyncio.run(run(args.returns, args.runs, args.senders, workers, args.concurrency))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Push receiver against a bare signal-with-start", render(result))
        write_result("receiver_vs_bare", result)
    sys.stdout.flush()
    # Everything is shut down and written; the Temporal runtime's threads have aborted this process at interpreter
    # teardown ("PyGILState_Release: thread state ... must be current", seen once in 20 runs): skip the teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
