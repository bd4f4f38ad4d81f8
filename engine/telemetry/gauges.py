"""Gauges read from Temporal and the event store on a timer: returns by state and needing attention per brand, held
pushes, and each shop queue's backlog and oldest waiting task (the server's task-queue stats). Observed from a cache
so an export never waits on Temporal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from engine.ingest.store import EventStore
from engine.telemetry.instruments import NAME

log = logging.getLogger(__name__)


class Gauges:
    def __init__(self, client: Client, brands: Sequence[str], states: Iterable[str], shop_queues: dict[str, str],
                 store: EventStore | None = None) -> None:  # fmt: skip
        self.client, self.brands, self.states = client, list(brands), sorted(set(states))
        self.shop_queues, self.store = shop_queues, store
        self.by_state: dict[tuple[str, str], int] = {}
        self.attention: dict[str, int] = {}
        self.held: dict[str, int] = {}
        self.backlog: dict[str, tuple[int, float]] = {}
        meter = metrics.get_meter(NAME)
        meter.create_observable_gauge("returns.by_state", [self._states], description="Running returns per state")
        meter.create_observable_gauge("returns.needs_attention", [self._attention],
                                      description="Returns held or past an SLA, per brand")  # fmt: skip
        meter.create_observable_gauge("returns.held_pushes", [self._held], description="Pushes kept for replay")
        meter.create_observable_gauge("shopify.queue.backlog", [self._backlog_count],
                                      description="Activities waiting on each shop's queue")  # fmt: skip
        meter.create_observable_gauge("shopify.queue.oldest", [self._backlog_age], unit="s",
                                      description="Oldest activity waiting on each shop's queue")  # fmt: skip

    async def refresh(self) -> None:
        for brand in self.brands:
            for state in self.states:
                query = f"Brand = '{brand}' AND ReturnState = '{state}' AND ExecutionStatus = 'Running'"
                self.by_state[(brand, state)] = (await self.client.count_workflows(query)).count
            query = f"Brand = '{brand}' AND NeedsAttention = true AND ExecutionStatus = 'Running'"
            self.attention[brand] = (await self.client.count_workflows(query)).count
        if self.store is not None:
            self.held = await self.store.counts()
        for shop, queue in self.shop_queues.items():
            request = DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                report_stats=True,
            )
            stats = (await self.client.workflow_service.describe_task_queue(request)).stats
            self.backlog[shop] = (
                stats.approximate_backlog_count,
                stats.approximate_backlog_age.ToTimedelta().total_seconds(),
            )

    async def run(self, every: float = 15.0) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # a gauge that cannot be read now is read next time
                log.warning("telemetry gauges not refreshed: %s", exc)
            await asyncio.sleep(every)

    def _states(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"brand": b, "state": s}) for (b, s), n in self.by_state.items()]

    def _attention(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"brand": b}) for b, n in self.attention.items()]

    def _held(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"kind": k}) for k, n in self.held.items()]

    def _backlog_count(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count, {"shop": shop}) for shop, (count, _age) in self.backlog.items()]

    def _backlog_age(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(age, {"shop": shop}) for shop, (_count, age) in self.backlog.items()]
