"""Client-side view of Shopify's per-shop cost bucket, so calls wait for points instead of being THROTTLED.

Shopify reports ``throttleStatus`` (maximumAvailable, currentlyAvailable, restoreRate) on every response; the
bucket refills continuously and a request is admitted only if the bucket holds its *requested* cost.

Admission is a FIFO queue per shop: the head waits until the bucket, as this process sees it, holds the
operation's requested cost (the last requestedQueryCost Shopify reported for it), then takes it and is sent.
Shopify refunds requested minus actual, and the next answer's ``currentlyAvailable`` carries that refund back
into the estimate, so the queue drains at the restore rate divided by the *actual* cost. A request that would
wait longer than its caller's deadline is not admitted, and is told when to come back: the expected drain
time of the queue ahead of it (actual costs over the restore rate), so a deferred activity attempt returns
once, after the backlog, rather than every few seconds.

Across worker processes two things share the shop's bucket. The Temporal server hands out the shop's activities
at the plan's rate for all workers together (the shop's own task queue, ``engine.shopify.plans``), so processes
rarely compete. And Shopify's own bucket is the source of truth: every response's ``currentlyAvailable`` already
includes what every other process spent, and replaces this process's estimate (minus what this process has sent
but not yet heard back about). When processes still overlap, Shopify answers THROTTLED, which costs no points;
the client waits for exactly the deficit Shopify reported and retries in place, so the THROTTLED never leaves
the client (see docs/benchmarks.md for measured THROTTLED counts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_COST = 50.0
log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    maximum: float = 2000.0
    available: float = 2000.0  # may be negative: points promised to admitted requests not yet restored
    restore_rate: float = 100.0
    seen_at: float = 0.0
    in_flight: float = 0.0  # points admitted here whose response has not been observed yet
    learning: dict[str, asyncio.Event] = field(default_factory=dict)  # first call per operation, in flight
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO admission
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set by every observed answer
    queued_points: float = 0.0  # expected actual cost of the requests waiting in this process's queue

    def now_available(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.seen_at) * self.restore_rate)


@dataclass
class BudgetStats:
    admitted: int = 0
    waited: int = 0
    waited_seconds: float = 0.0
    throttled_responses: int = 0  # THROTTLED answers seen (and retried in place)
    deferred: int = 0  # requests not admitted before their deadline (became a retry with a delay)


@dataclass
class CostBudget:
    clock: Callable[[], float] = time.monotonic
    stats: BudgetStats = field(default_factory=BudgetStats)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _costs: dict[str, float] = field(default_factory=dict)
    _actual: dict[str, float] = field(default_factory=dict)
    _declared: dict[str, float] = field(default_factory=dict)  # shop -> restore rate its mapping's plan declares
    _warned: set[str] = field(default_factory=set)

    def declare_rate(self, shop: str, restore_rate: float) -> None:
        """The restore rate the shop's mapping declares (its plan): Shopify reporting another is logged, once,
        because the shop's queue is then dispatched at the wrong rate."""
        self._declared[shop] = restore_rate

    def _bucket(self, shop: str) -> _Bucket:
        bucket = self._buckets.get(shop)
        if bucket is None:
            bucket = self._buckets[shop] = _Bucket(seen_at=self.clock())
        return bucket

    def estimate(self, operation: str) -> float:
        return self._costs.get(operation, DEFAULT_COST)

    def actual_estimate(self, operation: str) -> float:
        """What a call usually ends up costing (Shopify refunds requested minus actual)."""
        return self._actual.get(operation, self.estimate(operation))

    def _queue_wait(self, bucket: _Bucket, operation: str) -> float:
        """How long until a request joining the queue now would be at its head and covered: the queue ahead
        drains at the restore rate (each costs its actual cost), then this one needs its requested cost."""
        ahead = bucket.queued_points / bucket.restore_rate
        return ahead + self.estimate(operation) / bucket.restore_rate

    async def admit(self, shop: str, operation: str, max_wait: float | None = None) -> tuple[float, float]:
        """Admit one request, first come first served: returns ``(waited, reserved)``. The head of the queue
        waits until the bucket, as last reported by Shopify, holds the operation's requested cost; answers
        arriving meanwhile (with their refunds of requested minus actual) shorten the wait. A request that
        could not be admitted within ``max_wait`` seconds reserves nothing: ``(seconds still needed, 0)``.

        While the first call of an operation is out (its cost, maybe the shop's bucket, still unknown) the
        others wait for its answer rather than guess."""
        bucket = self._bucket(shop)
        started = self.clock()
        deadline = None if max_wait is None else started + max_wait
        while (learning := bucket.learning.get(operation)) is not None:
            await learning.wait()
        if operation not in self._costs:
            bucket.learning[operation] = asyncio.Event()
        if deadline is not None and bucket.lock.locked():
            expected = self._queue_wait(bucket, operation)
            if self.clock() + expected > deadline:  # it would not reach the head in time: come back later
                return self._defer(bucket, operation, expected)
        mine = self.actual_estimate(operation)
        bucket.queued_points += mine
        try:
            timeout = None if deadline is None else max(deadline - self.clock(), 0.0)
            await asyncio.wait_for(bucket.lock.acquire(), timeout)
        except TimeoutError:
            return self._defer(bucket, operation, self._queue_wait(bucket, operation))
        finally:
            bucket.queued_points = max(bucket.queued_points - mine, 0.0)
        try:
            while True:
                now = self.clock()
                cost = min(self.estimate(operation), bucket.maximum)
                available = bucket.now_available(now)
                if cost <= available:
                    bucket.available = available - cost
                    bucket.seen_at = now
                    bucket.in_flight += cost
                    waited = now - started
                    self.stats.admitted += 1
                    if waited > 0.001:
                        self.stats.waited += 1
                        self.stats.waited_seconds += waited
                    return waited, cost
                wait = (cost - available) / bucket.restore_rate
                if deadline is not None and now + wait > deadline:
                    return self._defer(bucket, operation, wait)
                bucket.changed.clear()
                try:  # an answer arriving first may give points back sooner
                    await asyncio.wait_for(bucket.changed.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            bucket.lock.release()

    def _defer(self, bucket: _Bucket, operation: str, wait: float) -> tuple[float, float]:
        self.stats.deferred += 1
        self._learned(bucket, operation)
        return max(wait, 0.001), 0.0

    def _learned(self, bucket: _Bucket, operation: str) -> None:
        event = bucket.learning.pop(operation, None)
        if event is not None:
            event.set()

    def release(self, shop: str, operation: str, reserved: float) -> None:
        """A reserved request was not sent or got no answer: forget its reservation."""
        bucket = self._bucket(shop)
        bucket.in_flight = max(bucket.in_flight - reserved, 0.0)
        self._learned(bucket, operation)
        bucket.changed.set()

    def observe(
        self, shop: str, operation: str, reserved: float, cost: dict[str, Any] | None, *, throttled: bool = False
    ) -> None:
        """Take Shopify's view from a response to a request that reserved ``reserved`` points; a THROTTLED
        answer is counted (the caller retries, and the next admission waits for the reported deficit)."""
        bucket = self._bucket(shop)
        bucket.in_flight = max(bucket.in_flight - reserved, 0.0)
        self._learned(bucket, operation)
        bucket.changed.set()
        if not cost:
            if throttled:
                self.stats.throttled_responses += 1
            return
        requested = cost.get("requestedQueryCost")
        if requested is not None:
            self._costs[operation] = float(requested)
        if cost.get("actualQueryCost") is not None:
            self._actual[operation] = float(cost["actualQueryCost"])
        status = cost.get("throttleStatus") or {}
        self._check_declared_rate(shop, status.get("restoreRate"))
        if status:
            bucket.maximum = float(status.get("maximumAvailable", bucket.maximum))
            bucket.restore_rate = float(status.get("restoreRate") or bucket.restore_rate)
            # Shopify's figure counts everyone's spending; ours still owes what is in flight from here.
            bucket.available = float(status.get("currentlyAvailable", bucket.available)) - bucket.in_flight
            bucket.seen_at = self.clock()
        if throttled:
            self.stats.throttled_responses += 1

    def _check_declared_rate(self, shop: str, reported: Any) -> None:
        declared = self._declared.get(shop)
        if not reported or declared is None or float(reported) == declared or shop in self._warned:
            return
        self._warned.add(shop)
        log.warning(
            "%s: Shopify restores %s points/s but its mapping's shop.plan means %s; the shop's queue is dispatched"
            " at the wrong rate until shop.plan matches the shop's plan and the workers restart",
            shop, reported, declared,
        )  # fmt: skip
