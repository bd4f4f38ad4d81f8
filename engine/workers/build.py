"""Build the workers: the return workflows on the deployment's queue, the Shopify activities on one queue per shop
(dispatched by the server at that shop's rate, ``engine.shopify.plans``), and the registries' workflows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from types import TracebackType

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from engine.activities.all import ShopifyActivities
from engine.definitions.mapping import load_mappings
from engine.registry.client import REGISTRY_TASK_QUEUE
from engine.registry.flow_workflow import FlowRegistryWorkflow
from engine.registry.workflow import MappingRegistryWorkflow
from engine.settings import Settings, shopify_token
from engine.settings.environment import env_int
from engine.shopify.plans import ShopLimit, shop_limits, shop_task_queue
from engine.temporal.sandbox import workflow_runner
from engine.workers.sla_sweep import SlaSweepActivities
from engine.workers.sla_sweep_workflow import SlaSweepWorkflow
from engine.workflow.legacy.workflow_v1 import LegacyReturnWorkflow
from engine.workflow.return_workflow import ReturnWorkflow


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
    serve_returns: bool = True,
    serve_shops: bool = True,
    **options: object,
) -> ReturnWorkers:
    """The return workflows (`serve_returns`) and the shops' Shopify queues (`serve_shops`) of one process."""
    activities = ShopifyActivities(settings, http, token_lookup)
    # Few Shopify calls in flight per queue and process: the server already dispatches each shop's queue at the
    # shop's rate; a handful at a time keeps an attempt's wait for the cost budget short.
    options.setdefault("max_concurrent_activities", env_int("RETURNS_MAX_CONCURRENT_ACTIVITIES"))
    # The shops come from the caller's mappings when it has them loaded; else from the mappings directory.
    if shops is None:
        if settings.mappings_dir is None:
            raise ValueError("build_worker needs the shops, or a mappings directory to read them from")
        shops = shop_limits(load_mappings(settings.mappings_dir).values())
    limits = list(shops)
    for limit in limits:
        activities.budget.declare_rate(limit.domain, limit.restore_rate)
    workers = []
    if serve_returns:
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                # Returns started before flow format 2 run to their end on the first workflow.
                workflows=[ReturnWorkflow, LegacyReturnWorkflow, SlaSweepWorkflow],
                activities=[*activities.all(), SlaSweepActivities(client).sweep_sla],
                workflow_runner=workflow_runner(),
                **options,  # type: ignore[arg-type]
            )
        )
    if serve_shops:
        workers.extend(
            Worker(
                client,
                task_queue=shop_task_queue(settings.task_queue, limit.domain),
                activities=activities.all(),
                # Server-side: one rate for the queue, whichever worker polls it (all derive the same figure).
                max_task_queue_activities_per_second=limit.activities_per_second,
                **options,  # type: ignore[arg-type]
            )
            for limit in limits
        )
    return ReturnWorkers(workers, limits if serve_shops else [], activities)


def build_registry_worker(client: Client) -> Worker:
    """The brands' mapping registries and the flows'; any process may poll it (workers, the CLI while it deploys)."""
    return Worker(
        client,
        task_queue=REGISTRY_TASK_QUEUE,
        workflows=[MappingRegistryWorkflow, FlowRegistryWorkflow],
        workflow_runner=workflow_runner(),
    )
