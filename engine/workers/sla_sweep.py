"""SLAs without a timer per return: a return started with visibility 1 shows when its SLA falls due in the search
attribute SlaDueAt (set in the upsert its state change needs anyway), and a Temporal Schedule, `sla-sweep`, starts
`SlaSweep` every `RETURNS_SLA_SWEEP_EVERY` (default 10m): it lists the running returns whose SlaDueAt has passed
and signals each `sla_due`; the return looks at its deadlines and flags the breach as a timer would have. A breach
is seen up to one interval late (SLAs are days); the sweep costs two actions a run for the whole namespace, where a
timer per state cost one per state per return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from engine.temporal.schedules import ensure_schedule
from engine.workers.sla_sweep_workflow import SlaSweepWorkflow, SweepResult
from engine.workflow.search import RETURNS_QUERY

SWEEP_SCHEDULE_ID = "sla-sweep"
DEFAULT_SWEEP_EVERY = timedelta(minutes=10)


def due_query(now: datetime) -> str:
    """The running returns whose SLA has fallen due by `now` (visibility's query language)."""
    at = now.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f"{RETURNS_QUERY} AND ExecutionStatus = 'Running' AND SlaDueAt <= '{at}'"


async def sweep(client: Client, now: datetime | None = None) -> SweepResult:
    """Wake each running return whose SlaDueAt has passed (one finished since is skipped)."""
    result = SweepResult()
    async for execution in client.list_workflows(due_query(now or datetime.now(UTC))):
        result.due += 1
        try:
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).signal("sla_due")
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        result.woken += 1
        if activity.in_activity():
            activity.heartbeat(result.woken)
    return result


class SlaSweepActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name="sweep_sla")
    async def sweep_sla(self) -> SweepResult:
        result = await sweep(self.client)
        activity.logger.info("SLA sweep: %d due, %d woken", result.due, result.woken)
        return result


async def ensure_sweep_schedule(client: Client, *, task_queue: str, every: timedelta = DEFAULT_SWEEP_EVERY) -> str:
    """Create the sweep's schedule if it does not exist (an existing one is left as operators set it)."""
    action = ScheduleActionStartWorkflow(SlaSweepWorkflow.run, id=f"{SWEEP_SCHEDULE_ID}-run", task_queue=task_queue)
    return await ensure_schedule(client, SWEEP_SCHEDULE_ID, action, every=every, overlap=ScheduleOverlapPolicy.SKIP)
