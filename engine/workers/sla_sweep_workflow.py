"""The SLA sweep, as a workflow: one activity that wakes every running return whose SlaDueAt has passed."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow


@dataclass
class SweepResult:
    due: int = 0  # running returns whose SlaDueAt had passed, as visibility showed them
    woken: int = 0  # of those, signalled `sla_due` (the rest finished since)


@workflow.defn(name="SlaSweep")
class SlaSweepWorkflow:
    @workflow.run
    async def run(self) -> SweepResult:
        result: SweepResult = await workflow.execute_activity(
            "sweep_sla",
            result_type=SweepResult,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=2),
        )
        return result
