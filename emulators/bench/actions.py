"""Temporal actions per return (what Temporal Cloud bills), counted from the real histories of finished returns: the
engine's `Return` workflow and the bare workflow (emulators.bench.bare) carry CASTORE returns through the same four
pushes on one dev server, worker set and Shopify emulator, in two modes. Burst: each return's four pushes back to
back. Paced: each push only once every return has settled after the one before (nothing in flight), then a pause,
so each return waits in each state, where its flow declares SLAs (flows/*.yaml `sla:`): a timer each for returns
started before visibility 1, the SLA sweep's `SlaDueAt` for returns started since.

    python -m emulators.bench.actions [--returns 10] [--gap 1.0] [--write]

The formula (`actions`) is Temporal Cloud's action definitions read off a history: https://docs.temporal.io/cloud/actions
(source: temporalio/documentation, docs/evaluate/temporal-cloud/actions.mdx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from emulators.bench.bare import BareReturn
from emulators.bench.engine_vs_bare import World
from emulators.bench.report import write_result, write_section
from emulators.progress import Progress
from emulators.rebound.scenarios import Scenario
from engine.shopify.plans import shop_limits
from engine.temporal.binaries import temporal_cli
from engine.temporal.converter import DATA_CONVERTER
from engine.temporal.sandbox import workflow_runner
from engine.workers.build import build_worker
from engine.workflow import search

# Kinds of billable action, in the order the section lists them; each with how it is read off the history.
KINDS: dict[str, str] = {
    "workflow started": "WorkflowExecutionStarted (a Signal-With-Start's signal, recorded before the first workflow "
    "task, is part of this one action)",
    "signals received": "WorkflowExecutionSignaled, less the start's",
    "activities": "ActivityTaskScheduled",
    "activity retries": "ActivityTaskStarted's attempt - 1 (the started event records the last attempt)",
    "timers": "TimerStarted (SLA waits, sleeps, the linger)",
    "search attribute upserts": "UpsertWorkflowSearchAttributes (one per command, however many attributes; none for "
    "one setting only TemporalChangeVersion; attributes given at start are free)",
    "markers": "MarkerRecorded, once per workflow task however many (local activities, side effects, patches)",
    "signals sent": "SignalExternalWorkflowExecutionInitiated",
    "child workflows": "StartChildWorkflowExecutionInitiated, 2 each (the start and the execution)",
    "updates": "WorkflowExecutionUpdateAccepted",
    "nexus operations": "NexusOperationScheduled",
    "options updated": "WorkflowExecutionOptionsUpdated",
}
FREE_ATTRIBUTES = {"TemporalChangeVersion"}
E = EventType


def actions(events: Iterable[HistoryEvent]) -> Counter[str]:
    """Billable actions in one workflow run's history, by kind (KINDS). Pure: the events alone. Not in a history, so
    not counted: queries, activity heartbeats, rejected updates, exports, schedules."""
    counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    first_task_scheduled = False
    marker_tasks: set[int] = set()
    for event in events:
        t = event.event_type
        if t == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            first_task_scheduled = True
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            counts["workflow started"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            if first_task_scheduled:  # before it: Signal-With-Start's signal, one action with the start
                counts["signals received"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts["activities"] += 1
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            counts["activity retries"] += max(event.activity_task_started_event_attributes.attempt - 1, 0)
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            counts["timers"] += 1
        elif t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if set(fields) - FREE_ATTRIBUTES:
                counts["search attribute upserts"] += 1
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            marker_tasks.add(event.marker_recorded_event_attributes.workflow_task_completed_event_id)
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            counts["signals sent"] += 1
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            counts["child workflows"] += 2
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts["updates"] += 1
        elif t == E.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED:
            counts["nexus operations"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
            counts["options updated"] += 1
    counts["markers"] = len(marker_tasks)
    return counts


def formula() -> str:
    """The formula as the section prints it."""
    lines = [f"- **{kind}**: {how}" for kind, how in KINDS.items()]
    return "\n".join(["Actions per return = the sum over its history of:", *lines])


def workflow_id_of(kind: str, sc: Scenario) -> str:
    from engine.workflow.messages import workflow_id

    return workflow_id(sc.brand, sc.rebound_return_id) if kind == "engine" else "bare-" + sc.rebound_return_id


async def settled(world: World, ids: list[str]) -> None:
    """Until no workflow of `ids` has a workflow task or an activity in flight: each waits for its next push."""
    pending = list(ids)
    while pending:
        still = []
        for wf in pending:
            raw = (await world.client.get_workflow_handle(wf).describe()).raw_description
            if raw.HasField("pending_workflow_task") or raw.pending_activities:
                still.append(wf)
        pending = still
        if pending:
            await asyncio.sleep(0.1)


async def drive(world: World, kind: str, n: int, gap: float | None) -> list[Counter[str]]:
    """`n` returns through their four pushes, burst (`gap` None) or paced; each one's history counted once it is
    finished (its Shopify return closed, nothing left in flight): its actions by kind."""
    scenarios = world.batch(n)
    ids = [workflow_id_of(kind, sc) for sc in scenarios]

    async def burst(sc: Scenario) -> None:
        for step in range(4):
            await world.push(kind, sc, step)

    with Progress(f"{kind} {'paced' if gap is not None else 'burst'} returns", n) as progress:
        if gap is None:
            await asyncio.gather(*(burst(sc) for sc in scenarios))
        else:
            for step in range(4):
                await asyncio.gather(*(world.push(kind, sc, step) for sc in scenarios))
                await settled(world, ids)
                if step < 3:
                    await asyncio.sleep(gap)  # waiting in the state: its SLA timer runs
        pending = scenarios
        while pending:
            pending = [sc for sc in pending if not world.closed(sc)]
            progress.update(n - len(pending))
            if pending:
                await asyncio.sleep(0.05)
        await settled(world, ids)
    return [actions((await world.client.get_workflow_handle(wf).fetch_history()).events) for wf in ids]


def per_return(counted: list[Counter[str]]) -> dict[str, Any]:
    """Mean actions per return by kind and in all, and the fewest and most of one return."""
    n = len(counted)
    kinds = {kind: round(sum(c[kind] for c in counted) / n, 2) for kind in KINDS}
    totals = [sum(c.values()) for c in counted]
    return {"kinds": kinds, "total": round(sum(totals) / n, 2), "min": min(totals), "max": max(totals)}


async def run(returns: int, gap: float) -> dict[str, Any]:
    os.environ["RETURNS_SHOPIFY_POINTS_PER_ACTIVITY"] = "0.01"  # the shop queue's dispatch cap lifted, as the bucket
    from emulators.shopify.server import ShopifyEmulator

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
        out: dict[str, Any] = {"returns": returns, "gap_s": gap}
        for kind in ("engine", "bare"):
            out[kind] = {"paced": per_return(await drive(world, kind, returns, gap)),
                         "burst": per_return(await drive(world, kind, returns, None))}  # fmt: skip
    out["actions_per_return"] = out["engine"]["paced"]["total"]
    return out


def render(r: dict[str, Any]) -> str:
    e, b = r["engine"], r["bare"]
    cols = [e["paced"], e["burst"], b["paced"], b["burst"]]
    rows = ["| per return | engine, paced | engine, burst | bare, paced | bare, burst |", "|---|---|---|---|---|"]
    for kind in KINDS:
        if any(c["kinds"][kind] for c in cols):
            rows.append(f"| {kind} | " + " | ".join(f"{c['kinds'][kind]:g}" for c in cols) + " |")
    rows.append("| **total** | " + " | ".join(f"**{c['total']:g}** ({c['min']}-{c['max']})" for c in cols) + " |")
    return "\n".join([
        f"{r['returns']} CASTORE returns per column (one unit, graded A, refunded), each workflow's history fetched "
        "once its Shopify return is closed and nothing is in flight, its billable actions counted by the formula below "
        "(`emulators.bench.actions.actions`). Paced: each push once every return has settled after the one before, "
        f"then {r['gap_s']} s, so each return waits in each state under its SLA (kept by the SLA sweep, not a timer); "
        "burst: each return's "
        "four pushes back to back. The engine's `Return` workflow lingers after the refund (its flow's `linger`): the "
        "linger timer is counted, its firing and the close cost nothing. Bare: `emulators.bench.bare`, the same events "
        "and activities with no interpreter. `python -m emulators.bench.actions --write`.",
        "",
        *rows,
        "",
        "Total: mean per return (fewest-most over the returns). Kinds no column used are left out.",
        "",
        formula(),
        "",
        "Not in a history, so not counted: queries (the UI's call stack included), activity heartbeats, rejected "
        "updates, exports, schedules. Source: Temporal Cloud's action definitions, "
        "https://docs.temporal.io/cloud/actions (a Signal-With-Start is one action whether or not it starts the "
        "workflow; all markers of one workflow task are one action).",
        "",
        "Not per return: SLAs are kept by the `sla-sweep` schedule (engine.workers.sla_sweep), not a timer per state: "
        "each run is a workflow start and one activity (2 actions, every `RETURNS_SLA_SWEEP_EVERY`, 10m: about 8,600 "
        "a month for the whole namespace), plus one `sla_due` signal per return whose SLA falls due.",
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=10)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds each paced return waits in each state")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.returns, args.gap))
    print(json.dumps(result))
    print(render(result))
    if args.write:
        write_section("Temporal actions per return", render(result))
        write_result("actions", result)


if __name__ == "__main__":
    main()
