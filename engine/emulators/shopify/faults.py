"""Fault injection seam: consulted before executing a request and after a write has committed.

Two ways to use it: random rates (``configure(error_rate=0.1, ...)``, seeded for reproducibility) and a
deterministic queue (``fail_next("lost_response")``) for tests that need an exact failure. Kinds:

* ``error``          - before execution: HTTP 503 (Shopify's body), nothing executed;
* ``timeout``        - before execution: hold the request for ``timeout_seconds``, then 504, nothing executed;
* ``lost_response``  - after a committed write: the client gets HTTP 502, but the write stays done.

``hold_after_commit(operation, seconds)`` delays the response of one operation after its write committed
(a slow Shopify), so a test can kill a worker while the write is done but unanswered. ``commits`` counts
committed writes per operation name.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["error", "timeout", "lost_response"]
BEFORE: tuple[FaultKind, ...] = ("error", "timeout")


@dataclass
class FaultRates:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    lost_response_rate: float = 0.0
    timeout_seconds: float = 30.0


@dataclass
class Faults:
    rates: FaultRates = field(default_factory=FaultRates)
    seed: int | None = None
    _queue: deque[FaultKind] = field(default_factory=deque)
    _random: random.Random = field(default_factory=random.Random)
    injected: list[FaultKind] = field(default_factory=list)
    holds: dict[str, float] = field(default_factory=dict)
    commits: dict[str, int] = field(default_factory=dict)
    _held: list[asyncio.Event] = field(default_factory=list)

    def hold_after_commit(self, operation: str, seconds: float) -> None:
        """Answer ``operation`` only ``seconds`` after its write committed (0 removes the hold and releases
        responses being held, so the server can stop promptly)."""
        if seconds > 0:
            self.holds[operation] = seconds
        else:
            self.holds.pop(operation, None)
            self._release_holds()

    def _release_holds(self) -> None:
        for event in self._held:
            event.set()
        self._held.clear()

    async def hold(self, seconds: float) -> None:
        event = asyncio.Event()
        self._held.append(event)
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass

    def record_commit(self, operation: str | None) -> float:
        """Count a committed write; returns how long to hold its response."""
        name = operation or "<anonymous>"
        self.commits[name] = self.commits.get(name, 0) + 1
        return self.holds.get(name, 0.0)

    def configure(self, *, seed: int | None = None, **rates: float) -> None:
        """Set ``error_rate``, ``timeout_rate``, ``lost_response_rate`` (0..1) or ``timeout_seconds``."""
        for name, value in rates.items():
            if not hasattr(self.rates, name):
                raise ValueError(f"unknown fault setting {name!r}")
            setattr(self.rates, name, float(value))
        if seed is not None:
            self.seed = seed
            self._random.seed(seed)

    def fail_next(self, kind: FaultKind, count: int = 1) -> None:
        """Queue ``count`` faults of one kind for the next eligible requests."""
        self._queue.extend([kind] * count)

    def clear(self) -> None:
        self.rates = FaultRates()
        self._queue.clear()
        self.injected.clear()
        self.holds.clear()
        self._release_holds()

    def describe(self) -> dict[str, Any]:
        return {"rates": asdict(self.rates), "queued": list(self._queue), "injected": list(self.injected)}

    def _take(self, kinds: tuple[FaultKind, ...]) -> FaultKind | None:
        if self._queue and self._queue[0] in kinds:
            kind = self._queue.popleft()
            self.injected.append(kind)
            return kind
        for kind in kinds:
            rate = {"error": self.rates.error_rate, "timeout": self.rates.timeout_rate}.get(
                kind, self.rates.lost_response_rate
            )
            if rate > 0 and self._random.random() < rate:
                self.injected.append(kind)
                return kind
        return None

    def before_execute(self) -> FaultKind | None:
        return self._take(BEFORE)

    def after_commit(self, wrote: bool) -> FaultKind | None:
        return self._take(("lost_response",)) if wrote else None
