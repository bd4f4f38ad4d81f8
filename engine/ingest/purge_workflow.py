"""The scheduled purge, as a workflow: one activity on the worker that opens the event store and purges it. Its
input is empty: the store's URL and the retention policy are the worker's own settings, read where the purge
runs, so nothing of them enters history."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from engine.ingest.retention import PurgeResult


@workflow.defn(name="EventsPurge")
class EventsPurgeWorkflow:
    @workflow.run
    async def run(self) -> PurgeResult:
        # Each batch is committed as it goes: a retry starts where the failed attempt stopped; a run that still
        # fails leaves the rest to the schedule's next run.
        result: PurgeResult = await workflow.execute_activity(
            "purge_events",
            result_type=PurgeResult,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return result
