"""The scheduled pull, as a workflow: compute the window from the previous run's cursor, run the pull."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow


@dataclass
class PullInput:
    brand: str
    lookback_seconds: int = 30 * 86400  # first run: Rebound's last 30 days
    overlap_seconds: int = 600  # re-read a margin: Rebound's clock and ours are not the same clock


@dataclass
class PullRequest:
    brand: str
    updated_since: str


@dataclass
class PullResult:
    cursor: str
    returns_seen: int = 0
    events_seen: int = 0
    accepted: int = 0
    duplicates: int = 0
    held: int = 0


@workflow.defn(name="ReboundPull")
class ReboundPullWorkflow:
    @workflow.run
    async def run(self, inp: PullInput) -> PullResult:
        last = workflow.get_last_completion_result(PullResult) if workflow.has_last_completion_result() else None
        if last is not None:
            since = workflow.now().fromisoformat(last.cursor.replace("Z", "+00:00")) - timedelta(
                seconds=inp.overlap_seconds
            )
        else:
            since = workflow.now() - timedelta(seconds=inp.lookback_seconds)
        request = PullRequest(inp.brand, since.isoformat(timespec="microseconds").replace("+00:00", "Z"))
        result: PullResult = await workflow.execute_activity(
            "pull_rebound",
            request,
            result_type=PullResult,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=1),
        )
        if last is not None and result.cursor < last.cursor:
            result.cursor = last.cursor  # never move backwards
        return result
