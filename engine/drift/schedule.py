"""One Temporal Schedule per brand, every `slas.drift_check_every` of its mapping (default 1 h), and an
on-demand run through the same schedule (so it carries first-seen times like the scheduled ones)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from engine.definitions.mapping import MappingDef
from engine.drift.workflow import DriftInput, DriftResult, DriftWorkflow
from engine.temporal.schedules import ensure_schedule

DEFAULT_EVERY_SECONDS = 3600


def schedule_id(brand: str) -> str:
    return f"drift-{brand}"


def interval_for(mapping: MappingDef) -> timedelta:
    return timedelta(seconds=mapping.sla_seconds.get("drift_check_every", DEFAULT_EVERY_SECONDS))


async def ensure_drift_schedule(
    client: Client, mapping: MappingDef, inp: DriftInput, *, task_queue: str, sid: str | None = None
) -> str:
    """Create the brand's drift schedule if missing (an existing one is left as operators set it, but for an alert
    URL an older version put in its arguments: that is taken out)."""
    sid = sid or schedule_id(mapping.brand)
    action = ScheduleActionStartWorkflow(DriftWorkflow.run, inp, id=f"{sid}-run", task_queue=task_queue)
    await ensure_schedule(client, sid, action, every=interval_for(mapping), overlap=ScheduleOverlapPolicy.BUFFER_ONE)
    await scrub_alert_url(client, sid)
    return sid


async def scrub_alert_url(client: Client, sid: str) -> bool:
    """Remove a webhook URL from the schedule's stored arguments (the worker's DRIFT_ALERT_URL is used instead).
    True when there was one."""
    scrubbed = False

    async def update(given: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal scrubbed
        schedule = given.description.schedule
        action = schedule.action
        if not isinstance(action, ScheduleActionStartWorkflow) or len(action.args) != 1:
            return None
        [old] = await client.data_converter.decode(list(action.args), [DriftInput])
        if not isinstance(old, DriftInput) or not old.alert_url:
            return None
        action.args = [dataclasses.replace(old, alert=True, alert_url=None)]
        scrubbed = True
        return ScheduleUpdate(schedule)

    await client.get_schedule_handle(sid).update(update)
    return scrubbed


async def _actions(client: Client, sid: str) -> set[tuple[str, str]]:
    """(workflow id, run id) of the schedule's recent and running actions. Two runs may share a workflow id
    (it carries the start time to the second), never a run id."""
    info = (await client.get_schedule_handle(sid).describe()).info
    actions = [a.action for a in info.recent_actions] + list(info.running_actions)
    pairs = {(str(getattr(a, "workflow_id", "")), str(getattr(a, "first_execution_run_id", ""))) for a in actions}
    return {p for p in pairs if p[0]}


async def run_now(client: Client, sid: str, *, timeout: float = 600.0) -> DriftResult:
    """Trigger the schedule now and wait for that run's result."""
    before = await _actions(client, sid)
    await client.get_schedule_handle(sid).trigger(overlap=ScheduleOverlapPolicy.BUFFER_ONE)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        started = await _actions(client, sid) - before
        if started:
            break
        if loop.time() > deadline:
            raise TimeoutError(f"schedule {sid} did not start a run within {timeout:.0f}s")
        await asyncio.sleep(0.1)
    workflow_id, run_id = sorted(started)[-1]
    handle = client.get_workflow_handle(workflow_id, run_id=run_id or None, result_type=DriftResult)
    return await asyncio.wait_for(handle.result(), timeout=max(deadline - loop.time(), 1.0))
