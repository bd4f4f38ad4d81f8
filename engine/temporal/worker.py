"""Build the workers: the return workflow on the deployment's queue, and the Shopify activities on one queue per
shop, dispatched by the server at that shop's rate (``engine.shopify.plans``)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from types import TracebackType

import httpx
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from engine.activities.shopify_steps import ShopifyActivities
from engine.definitions.mapping import load_mappings
from engine.registry.client import REGISTRY_TASK_QUEUE
from engine.registry.workflow import MappingRegistryWorkflow
from engine.settings import Settings, shopify_token
from engine.shopify.plans import ShopLimit, shop_limits, shop_task_queue
from engine.temporal.connection import connect
from engine.workflow.return_workflow import ReturnWorkflow


def workflow_runner() -> SandboxedWorkflowRunner:
    # jmespath is pure and deterministic; passing it through avoids re-importing it for every run.
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("jmespath"))


class ReturnWorkers:
    """The worker set of one process, entered and left together: the return workflows on the deployment's queue,
    and one activity worker per shop on that shop's queue. All share one ShopifyActivities, so one cost budget
    per process. The deployment's queue also serves the Shopify activities of returns started before shop queues
    existed (their histories schedule there)."""

    def __init__(self, workers: list[Worker], limits: list[ShopLimit], activities: ShopifyActivities) -> None:
        self.workers = workers
        self.limits = limits
        self.activities = activities
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> ReturnWorkers:
        await self._stack.__aenter__()
        try:
            for worker in self.workers:
                await self._stack.enter_async_context(worker)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)


def build_worker(
    client: Client,
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    token_lookup: Callable[[str], str] = shopify_token,
    shops: Iterable[ShopLimit] | None = None,
    **options: object,
) -> ReturnWorkers:
    activities = ShopifyActivities(settings, http, token_lookup)
    # Few Shopify calls in flight per queue and process: the server already dispatches each shop's queue at the
    # shop's rate; a handful at a time keeps an attempt's wait for the cost budget short.
    options.setdefault("max_concurrent_activities", int(os.environ.get("RETURNS_MAX_CONCURRENT_ACTIVITIES", "8")))
    # The shops come from the caller's mappings when it has them loaded; a worker process reads its mappings dir.
    limits = list(shop_limits(load_mappings(settings.mappings_dir).values()) if shops is None else shops)
    for limit in limits:
        activities.budget.declare_rate(limit.domain, limit.restore_rate)
    main = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ReturnWorkflow],
        activities=activities.all(),
        workflow_runner=workflow_runner(),
        **options,  # type: ignore[arg-type]
    )
    per_shop = [
        Worker(
            client,
            task_queue=shop_task_queue(settings.task_queue, limit.domain),
            activities=activities.all(),
            # Server-side: one rate for the queue, whichever worker polls it (all derive the same figure).
            max_task_queue_activities_per_second=limit.activities_per_second,
            **options,  # type: ignore[arg-type]
        )
        for limit in limits
    ]
    return ReturnWorkers([main, *per_shop], limits, activities)


def build_registry_worker(client: Client) -> Worker:
    """The brands' mapping registries; any process may poll it (workers, and the CLI while it deploys)."""
    return Worker(
        client,
        task_queue=REGISTRY_TASK_QUEUE,
        workflows=[MappingRegistryWorkflow],
        workflow_runner=workflow_runner(),
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; in-flight activities get a grace period, then retry elsewhere."""
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        async with AsyncExitStack() as stack:
            returns = await stack.enter_async_context(build_worker(client, settings, http))
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
                    budget=returns.activities.budget,
                )
                await stack.enter_async_context(build_drift_worker(client, drift))
            shops = ", ".join(
                f"{limit.domain} ({limit.plan}, {limit.activities_per_second:.1f}/s)" for limit in returns.limits
            )
            print(f"worker polling {settings.task_queue!r} on {settings.temporal_address}; shops: {shops}", flush=True)
            await stop.wait()
