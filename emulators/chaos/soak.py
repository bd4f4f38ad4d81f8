"""One soak: the world (emulators, engine processes), the returns, the fault schedule, and what came of it."""

from __future__ import annotations

import asyncio
import math
import random
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from emulators.chaos.cluster import Cluster
from emulators.chaos.invariants import Invariant, World, check
from emulators.demo import app_refund_hook, apply_plans, inspects, pay_owed, seed_shopify
from emulators.paths import flows_dir, mappings_dir
from emulators.processes import spawn
from emulators.progress import Progress
from emulators.rebound.scenarios import Scenario, demo_population
from emulators.rebound.server import PushFaults, PushStats, ReboundEmulator
from emulators.shopify.server import ShopifyEmulator
from engine.definitions.flow import load_flows
from engine.definitions.mapping import MappingDef, load_mappings
from engine.drift.model import Finding
from engine.drift.schedule import ensure_drift_schedule, run_now
from engine.drift.worker import DRIFT_TASK_QUEUE
from engine.drift.workflow import DriftInput
from engine.ingest.pull import PULL_TASK_QUEUE, PullInput, ReboundPullWorkflow
from engine.ingest.signatures import secret_env_name
from engine.ingest.store import open_event_store
from engine.registry.client import deploy
from engine.registry.flows import deploy_flow
from engine.settings import token_env_name
from engine.workers.starter import handle_for
from engine.workflow import search
from engine.workflow.messages import ReturnStatus, workflow_id
from engine.workflow.return_workflow import ReturnWorkflow

TASK_QUEUE = "returns"
# Shopify's faults: 5 % of calls in all, every kind the brief names.
SHOPIFY_FAULTS: dict[str, Any] = {"http_500_rate": 0.01, "http_503_rate": 0.01, "timeout_rate": 0.005,
                                  "throttled_rate": 0.01, "lost_response_rate": 0.01,
                                  "read_timeout_rate": 0.005, "http_500_after_commit_rate": 0.005}  # fmt: skip


@dataclass
class Settings:
    returns: int = 1000
    seed: int = 7
    workers: int = 2
    data: Path = Path(".data/chaos")
    plan: str | None = None  # every shop on this plan (a faster soak); None: each brand's own
    staff_rate: float = 0.01
    kill_every: tuple[float, float] = (4.0, 10.0)  # seconds between worker kills
    settle_timeout: float = 1800.0


@dataclass
class Result:
    settings: Settings
    scenarios: int
    invariants: list[Invariant]
    pushes: PushStats
    shopify_faults: Counter[str]
    kills: int
    restarts: dict[str, int]
    staff_refunds: int
    held: dict[str, int]
    pulled: int
    seconds: float
    unexpected_holds: list[str] = field(default_factory=list)  # held with a reason no scenario expected


def _mappings(s: Settings) -> Path:
    """The brands' mappings, copied; with every shop on one plan when the soak asks for it."""
    target = s.data / "mappings"
    shutil.copytree(mappings_dir(), target)
    if s.plan:
        for path in target.glob("*.yaml"):
            path.write_text(re.sub(r"(?m)^  plan: \S+", f"  plan: {s.plan}", path.read_text()))
    return target


def _staff_candidates(scenarios: list[Scenario], mappings: dict[str, MappingDef], rng: random.Random,
                      rate: float) -> set[str]:  # fmt: skip
    """Returns whose items a person refunds by hand in the Shopify admin before the engine does."""
    eligible = [sc for sc in scenarios if mappings[sc.brand].refund.issuer == "engine" and sc.expected_state ==
                "refunded" and not sc.parcels and not sc.same_order_as]  # fmt: skip
    count = max(1, round(len(scenarios) * rate))
    return {sc.rebound_return_id for sc in rng.sample(eligible, min(count, len(eligible)))}


class Staff:
    """Plays Rebound's app refunding at its milestones, and a person at the desk: for a chosen return, once its
    Shopify return is open and before the milestone that makes its refund due reaches Rebound, a refund by hand
    of every unit sent back."""

    def __init__(self, emulator: ShopifyEmulator, rebound: ReboundEmulator, mappings: dict[str, MappingDef],
                 scenarios: list[Scenario], chosen: set[str]) -> None:  # fmt: skip
        self.emulator, self.rebound, self.mappings, self.chosen = emulator, rebound, mappings, chosen
        self.by_id = {sc.rebound_return_id: sc for sc in scenarios}
        self.done: dict[str, str] = {}
        self.on_publish = app_refund_hook(emulator.store, mappings, scenarios)

    async def drive(self, receiver_url: str, faults: PushFaults) -> None:
        """The chosen returns' pushes: registration, the refund by hand once Shopify shows the return, the rest."""
        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(*(self._one(http, receiver_url, faults, self.by_id[rid]) for rid in self.chosen))

    async def _one(self, http: httpx.AsyncClient, receiver_url: str, faults: PushFaults, sc: Scenario) -> None:
        store, domain = self.emulator.store, self.mappings[sc.brand].shop_domain
        first, *rest = sc.pushes
        await self._push(http, receiver_url, faults, sc, first)
        order_id = store.find_order_id(domain, sc.order_name)
        for _ in range(600):
            if order_id and store.returns(domain, order_id):
                lines, _ = sc.app_refund()  # every unit the customer sends back
                amount = min(sc.expected_refund, Decimal(str(store.order_summary(domain, order_id)["net_payment"])))
                note = "refunded by hand at the desk"
                self.done[sc.rebound_return_id] = store.refund_by_hand(domain, order_id, lines, amount, note=note)
                break
            await asyncio.sleep(0.5)
        for payload in rest:
            await self._push(http, receiver_url, faults, sc, payload)

    async def _push(self, http: httpx.AsyncClient, url: str, faults: PushFaults, sc: Scenario,
                    payload: dict[str, Any]) -> None:  # fmt: skip
        self.rebound.publish(sc.brand, payload)
        self.on_publish(sc.brand, payload)
        await self.rebound.deliver(http, url, sc.brand, payload, faults)


async def _monkey(cluster: Cluster, rng: random.Random, stop: asyncio.Event, counts: Counter[str],
                  every: tuple[float, float]) -> None:  # fmt: skip
    """SIGKILL a worker now and then, and start it again a moment later."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(*every))
            return
        except TimeoutError:
            pass
        for index, proc in enumerate(cluster.worker_procs):  # one that died on its own is a finding too
            if proc.process.poll() is not None:
                counts["worker exited on its own"] += 1
                await cluster.start_worker(index)
        index = rng.randrange(len(cluster.worker_procs))
        cluster.kill_worker(index)
        counts["worker SIGKILL"] += 1
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await cluster.start_worker(index)


async def _visible(client: Client) -> dict[str, tuple[str, bool]]:
    """Every return's state and hold as the search attributes show them (one list call, no workflow replayed)."""
    found: dict[str, tuple[str, bool]] = {}
    query = f"WorkflowType = 'Return' AND TaskQueue = '{TASK_QUEUE}'"
    async for wf in client.list_workflows(query):
        attrs = wf.typed_search_attributes
        found[wf.id] = (attrs.get(search.RETURN_STATE) or "", bool(attrs.get(search.NEEDS_ATTENTION)))
    return found


async def _statuses(client: Client, scenarios: list[Scenario], timeout: float, progress: Progress | None = None,
                    each_round: Callable[[], None] = lambda: None) -> dict[str, ReturnStatus]:  # fmt: skip
    """Every return's status once each has settled (finished, or held), or at the deadline. Visibility says which
    may have; only those are asked (a query of a return no worker has cached replays its whole history)."""
    deadline = time.monotonic() + timeout
    statuses: dict[str, ReturnStatus] = {}
    pending = list(scenarios)
    while pending:
        each_round()  # customers pay what they owe for a dearer exchange
        try:
            visible = await _visible(client)
        except Exception:  # noqa: BLE001 - the server restarting
            visible = {}
        still = []
        for sc in pending:
            state, held = visible.get(workflow_id(sc.brand, sc.rebound_return_id), ("", False))
            if not held and state != sc.expected_state and time.monotonic() < deadline:
                still.append(sc)
                continue
            try:
                status = await handle_for(client, sc.brand, sc.rebound_return_id).query(ReturnWorkflow.status)
            except Exception:  # noqa: BLE001 - not started yet (a push still to be pulled) or the server busy
                still.append(sc)
                continue
            statuses[sc.rebound_return_id] = status
            settled = status.needs_attention or (status.finished and status.state == sc.expected_state)
            if not settled:
                still.append(sc)
        pending = still
        if progress is not None:
            progress.update(len(scenarios) - len(pending))
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(2.0)
    return statuses


async def _retrying(what: str, call: Any, attempts: int = 30) -> Any:
    for attempt in range(attempts):
        try:
            return await call()
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(2.0)
    raise AssertionError(what)


async def soak(s: Settings, say: Any = print) -> Result:
    started = time.monotonic()

    def clock() -> str:
        return f"[{time.monotonic() - started:5.0f}s]"

    shutil.rmtree(s.data, ignore_errors=True)
    s.data.mkdir(parents=True)
    rng = random.Random(s.seed)
    flows = load_flows(flows_dir())
    mappings = load_mappings(_mappings(s))
    inspected = {brand for brand, m in mappings.items() if inspects(flows[m.flow])}
    per_round = len(demo_population(mappings, now=datetime.now(UTC), seed=s.seed, inspected=inspected))
    scenarios = demo_population(mappings, now=datetime.now(UTC), seed=s.seed, inspected=inspected,
                                rounds=math.ceil(s.returns / per_round))[: max(s.returns, per_round)]  # fmt: skip
    emulator = ShopifyEmulator()
    brand_secrets = {brand: secrets.token_hex(16) for brand in mappings}
    rebound = ReboundEmulator(api_token=secrets.token_hex(16), secrets=brand_secrets)
    counts: Counter[str] = Counter()
    cluster: Cluster | None = None
    stop = asyncio.Event()
    try:
        base_url = await emulator.start()
        rebound_url = await rebound.start()
        tokens: dict[str, str] = {}
        seed_shopify(emulator.store, mappings, scenarios, tokens)
        apply_plans(emulator, mappings)
        emulator.faults.timeout_seconds = 3.0
        emulator.faults.configure(seed=s.seed, **SHOPIFY_FAULTS)
        env = {
            "RETURNS_TASK_QUEUE": TASK_QUEUE, "RETURNS_DATA_DIR": str(s.data), "RETURNS_MAPPINGS_DIR": str(s.data /
            "mappings"), "SHOPIFY_ENDPOINT": f"{base_url}/shops/{{shop}}", "REBOUND_API_URL": rebound_url,
            "REBOUND_API_TOKEN": rebound.api_token, "RETURNS_PULL_EVERY": "1m", "RETURNS_LOG_LEVEL": "warning",
            "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
            **{token_env_name(domain): token for domain, token in tokens.items()},
            **{secret_env_name(brand): secret for brand, secret in brand_secrets.items()},
        }  # fmt: skip
        cluster = Cluster(s.data, env, workers=s.workers)
        env["TEMPORAL_ADDRESS"] = cluster.address
        await cluster.start_temporal()
        for index in range(s.workers):
            await cluster.start_worker(index)
        client = await Client.connect(cluster.address)
        for flow in flows.values():
            await deploy_flow(client, flow, operator="chaos", note="make chaos")
        for mapping in mappings.values():
            await deploy(client, mapping, operator="chaos", note="make chaos")
        await cluster.start_receiver()
        say(
            f"{clock()} {len(scenarios)} returns (the demo's {per_round} kinds, repeated), seed {s.seed}; Temporal "
            f"{cluster.address} on {s.data / 'temporal.db'}, {s.workers} workers, receiver {cluster.receiver_url}"
        )
        chosen = _staff_candidates(scenarios, mappings, rng, s.staff_rate)
        staff = Staff(emulator, rebound, mappings, scenarios, chosen)
        monkey = asyncio.create_task(_monkey(cluster, random.Random(s.seed + 1), stop, counts, s.kill_every))

        faults = PushFaults(drop_rate=0.02, duplicate_rate=0.05, reorder_rate=0.05, seed=s.seed, retries=6)
        published = Progress("milestones published", sum(len(sc.pushes) for sc in scenarios))
        async with published.ticking(lambda: rebound.milestones):
            desk = asyncio.create_task(staff.drive(cluster.receiver_url, PushFaults(retries=30, seed=s.seed)))
            pushes = [(sc.brand, p) for sc, p in _interleave(scenarios, rng) if sc.rebound_return_id not in chosen]
            thirds = [pushes[: len(pushes) * 2 // 5], pushes[len(pushes) * 2 // 5 : len(pushes) * 7 // 10],
                      pushes[len(pushes) * 7 // 10 :]]  # fmt: skip
            stats = await rebound.push_stream(cluster.receiver_url, thirds[0], faults, on_publish=staff.on_publish)
            published.say(f"{clock()} pushed {stats.sent}; the Temporal dev server is stopped while pushes arrive ...",
                          say)  # fmt: skip
            faults.seed += 1
            pushing = asyncio.create_task(
                rebound.push_stream(cluster.receiver_url, thirds[1], faults, on_publish=staff.on_publish)
            )
            await asyncio.sleep(1.0)
            await cluster.restart_temporal(down_seconds=3.0)
            await pushing
            published.say(f"{clock()} pushed {stats.sent}; the receiver is SIGKILLed while pushes arrive ...", say)
            faults.seed += 1
            pushing = asyncio.create_task(
                rebound.push_stream(cluster.receiver_url, thirds[2], faults, on_publish=staff.on_publish)
            )
            await asyncio.sleep(1.0)
            cluster.kill_receiver()
            await asyncio.sleep(1.0)
            await cluster.start_receiver()
            await pushing
            await desk
        say(
            f"{clock()} pushed {stats.sent} ({stats.duplicated} duplicated, {stats.reordered} out of order, "
            f"{stats.dropped} dropped, {stats.undelivered} undelivered after retries); pulling ..."
        )
        pulled = 0
        for brand in sorted(mappings):
            got = await _retrying("pull", lambda b=brand: client.execute_workflow(
                ReboundPullWorkflow.run, PullInput(b), id=f"chaos-pull-{b}", task_queue=PULL_TASK_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING))  # fmt: skip
            pulled += got.accepted
        say(f"{clock()} pull caught {pulled}; waiting for every return to settle ...")
        settling = Progress("returns settled", len(scenarios))
        async with settling.ticking():
            paying = partial(pay_owed, emulator.store, mappings, scenarios)
            statuses = await _statuses(client, scenarios, s.settle_timeout / 2, settling, paying)
            stop.set()
            await monkey
            statuses = await _statuses(client, scenarios, s.settle_timeout / 2, settling, paying)
        say(f"{clock()} settled; replaying held pushes, then the drift monitor ...")
        replay = spawn(["events", "replay"], env, s.data / "replay.log")  # the operator's replay of held pushes
        await asyncio.to_thread(replay.process.wait, 300)
        store = await open_event_store(f"sqlite:///{s.data / 'events.sqlite'}")
        try:
            held = await store.counts()
        finally:
            await store.close()
        findings: list[Finding] = []
        for brand in sorted(mappings):
            inp = DriftInput(brand, workflow_task_queue=TASK_QUEUE, unknown_grace_seconds=0)
            sid = await ensure_drift_schedule(client, mappings[brand], inp, task_queue=DRIFT_TASK_QUEUE)
            findings.extend((await run_now(client, sid, timeout=600)).findings)
        world = World(emulator.store, mappings, scenarios, statuses, staff.done, findings,
                      held_unresolved=held.get("failed", 0), held_total=sum(held.values()))  # fmt: skip
        holds: list[str] = []
        invariants = check(world, holds)
        faults_seen = Counter(str(kind) for kind in emulator.faults.injected)
        return Result(s, len(scenarios), invariants, stats, faults_seen, counts["worker SIGKILL"],
                      dict(cluster.starts), len(staff.done), held, pulled, time.monotonic() - started,
                      holds)  # fmt: skip
    finally:
        stop.set()
        if cluster is not None:
            await cluster.stop()
        await rebound.stop()
        await emulator.stop()


def _interleave(scenarios: list[Scenario], rng: random.Random) -> list[tuple[Scenario, dict[str, Any]]]:
    """Returns start at different times and move at their own pace: each return's pushes in its order, the
    returns mixed (seeded)."""
    queues = {sc.rebound_return_id: (sc, list(sc.pushes)) for sc in scenarios}
    out: list[tuple[Scenario, dict[str, Any]]] = []
    active: list[str] = []
    waiting = [sc.rebound_return_id for sc in scenarios]
    while waiting or active:
        while waiting and (len(active) < 40 or not active):
            active.append(waiting.pop(0))
        rid = rng.choice(active)
        sc, queue = queues[rid]
        out.append((sc, queue.pop(0)))
        if not queue:
            active.remove(rid)
    return out


def timedelta_text(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
