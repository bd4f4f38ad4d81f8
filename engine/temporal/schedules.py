"""Create-if-missing for the per-brand Temporal Schedules (drift, Rebound pull)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)


async def ensure_schedule(
    client: Client,
    sid: str,
    action: ScheduleActionStartWorkflow,
    *,
    every: timedelta,
    overlap: ScheduleOverlapPolicy,
) -> str:
    """Create the schedule unless it exists: an existing one is left as operators set it."""
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=overlap),
    )
    try:
        await client.create_schedule(sid, schedule)
    except ScheduleAlreadyRunningError:
        pass
    return sid
