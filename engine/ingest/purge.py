"""The event store's retention purge in the worker (role `events`): a Temporal Schedule, `events-purge`, starts
`EventsPurgeWorkflow` every `RETURNS_PURGE_EVERY` (default 1h; a run still going when the next is due makes it
skip), and the activity purges the store named by the worker's settings with the worker's retention policy."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.worker import Worker

from engine.ingest.purge_workflow import EventsPurgeWorkflow
from engine.ingest.retention import PurgeResult, RetentionPolicy
from engine.ingest.store import open_event_store
from engine.temporal.sandbox import workflow_runner
from engine.temporal.schedules import ensure_schedule

EVENTS_TASK_QUEUE = "returns-events"
PURGE_SCHEDULE_ID = "events-purge"
DEFAULT_PURGE_EVERY = timedelta(hours=1)


class EventsPurgeActivities:
    """Opens the store for each run (hourly): an idle worker holds no database connection."""

    def __init__(self, store_url: str, policy: RetentionPolicy) -> None:
        self._store_url = store_url
        self._policy = policy

    @activity.defn(name="purge_events")
    async def purge_events(self) -> PurgeResult:
        store = await open_event_store(self._store_url)
        try:
            result = await store.purge(self._policy)
        finally:
            await store.close()
        activity.logger.info("event store purged: %s", result.counts())
        return result


def build_events_worker(client: Client, activities: EventsPurgeActivities, *, task_queue: str = EVENTS_TASK_QUEUE,
                        **options: object) -> Worker:  # fmt: skip
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[EventsPurgeWorkflow],
        activities=[activities.purge_events],
        workflow_runner=workflow_runner(),
        **options,  # type: ignore[arg-type]
    )


async def ensure_purge_schedule(
    client: Client, *, every: timedelta = DEFAULT_PURGE_EVERY, task_queue: str = EVENTS_TASK_QUEUE
) -> str:
    """Create the purge schedule if it does not exist (an existing one is left as operators set it)."""
    action = ScheduleActionStartWorkflow(EventsPurgeWorkflow.run, id=f"{PURGE_SCHEDULE_ID}-run", task_queue=task_queue)
    return await ensure_schedule(client, PURGE_SCHEDULE_ID, action, every=every, overlap=ScheduleOverlapPolicy.SKIP)
