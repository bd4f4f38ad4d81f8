"""Pull fallback: a Temporal Schedule per brand asks Rebound's API for returns updated since the last run
and feeds every milestone through the receiver's own pipeline, so a dropped push is caught and a repeated one
is a no-op. The cursor is durable without any store of ours: each run returns it, and Temporal hands the
previous run's result to the next (last completion result)."""

import json
from datetime import timedelta

import httpx
from temporalio import activity
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy

from engine.ingest.pull_workflow import PullInput, PullRequest, PullResult, ReboundPullWorkflow
from engine.ingest.receiver import Receiver
from engine.rebound.pull_api import return_pages
from engine.temporal.schedules import ensure_schedule

__all__ = [
    "PULL_TASK_QUEUE",
    "PullInput",
    "PullRequest",
    "PullResult",
    "ReboundPullActivities",
    "ReboundPullWorkflow",
    "ensure_pull_schedule",
]


PULL_TASK_QUEUE = "rebound-pull"
DEFAULT_PULL_EVERY = timedelta(minutes=5)


class ReboundPullActivities:
    def __init__(self, receiver: Receiver, api_url: str, api_token: str, http: httpx.AsyncClient) -> None:
        self._receiver = receiver
        self._api_url = api_url.rstrip("/")
        self._token = api_token
        self._http = http

    @activity.defn(name="pull_rebound")
    async def pull_rebound(self, req: PullRequest) -> PullResult:
        result = PullResult(cursor=req.updated_since)
        pages = return_pages(
            self._http, self._api_url, self._token, req.brand, updated_since=req.updated_since, limit=100
        )
        async for returns in pages:
            for ret in returns:
                result.returns_seen += 1
                result.cursor = max(result.cursor, ret["updatedAt"])
                for payload in ret["events"]:
                    result.events_seen += 1
                    outcome = await self._receiver.ingest(
                        req.brand, {}, json.dumps(payload).encode(), authenticated=True
                    )
                    if outcome.http_status == 202:
                        result.accepted += 1
                    elif outcome.body.get("status") == "duplicate":
                        result.duplicates += 1
                    elif outcome.held_id is not None:
                        result.held += 1
            activity.heartbeat(result.cursor)
        return result


def schedule_id(brand: str) -> str:
    return f"rebound-pull-{brand}"


async def ensure_pull_schedule(
    client: Client, brand: str, *, every: timedelta, task_queue: str, overlap_seconds: int = 600
) -> str:
    """Create the brand's pull schedule if it does not exist (an existing one is left as operators set it)."""
    action = ScheduleActionStartWorkflow(
        ReboundPullWorkflow.run,
        PullInput(brand, overlap_seconds=overlap_seconds),
        id=f"rebound-pull-run-{brand}",
        task_queue=task_queue,
    )
    return await ensure_schedule(client, schedule_id(brand), action, every=every, overlap=ScheduleOverlapPolicy.SKIP)
