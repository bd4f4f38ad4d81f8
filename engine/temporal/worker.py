"""Build the worker: the return workflow plus the Shopify activities, on one task queue."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack

import httpx
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from engine.activities.shopify_steps import ShopifyActivities
from engine.registry.client import REGISTRY_TASK_QUEUE
from engine.registry.workflow import MappingRegistryWorkflow
from engine.settings import Settings, shopify_token
from engine.workflow.return_workflow import ReturnWorkflow


def workflow_runner() -> SandboxedWorkflowRunner:
    # jmespath is pure and deterministic; passing it through avoids re-importing it for every run.
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("jmespath"))


def build_worker(
    client: Client,
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    token_lookup: Callable[[str], str] = shopify_token,
    **options: object,
) -> Worker:
    activities = ShopifyActivities(settings, http, token_lookup)
    # Few Shopify calls in flight per worker: under a backlog, many concurrent activities each get a sliver of
    # the shop's cost budget and time out re-reading; a handful at a time finish and free the budget.
    options.setdefault("max_concurrent_activities", int(os.environ.get("RETURNS_MAX_CONCURRENT_ACTIVITIES", "8")))
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ReturnWorkflow],
        activities=activities.all(),
        workflow_runner=workflow_runner(),
        **options,  # type: ignore[arg-type]
    )


def build_registry_worker(client: Client) -> Worker:
    """The brands' mapping registries; any process may poll it (workers, and the CLI while it deploys)."""
    return Worker(
        client,
        task_queue=REGISTRY_TASK_QUEUE,
        workflows=[MappingRegistryWorkflow],
        workflow_runner=workflow_runner(),
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.namespace)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; in-flight activities get a grace period, then retry elsewhere."""
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(build_worker(client, settings, http))
            await stack.enter_async_context(build_registry_worker(client))
            rebound_url, rebound_token = os.environ.get("REBOUND_API_URL"), os.environ.get("REBOUND_API_TOKEN")
            if rebound_url and rebound_token:  # the drift monitor's schedules need Rebound's API
                from engine.drift.activities import DriftActivities
                from engine.drift.worker import build_drift_worker
                from engine.registry.client import ActiveMappings

                mappings = ActiveMappings(client).get
                drift = DriftActivities(
                    client,
                    settings,
                    http,
                    rebound_api_url=rebound_url,
                    rebound_api_token=rebound_token,
                    mappings=mappings,
                )
                await stack.enter_async_context(build_drift_worker(client, drift))
            print(f"worker polling {settings.task_queue!r} on {settings.temporal_address}", flush=True)
            await stop.wait()
