"""Fault injection seam: consulted before executing a request and after a write has committed.

Two ways to use it: random rates, per run and optionally per operation name (``configure(error_rate=0.1)``,
``configure(operation="RefundCreate", lost_response_rate=0.5)``, seeded for reproducibility), and a
deterministic queue (``fail_next("lost_response")``, optionally for one operation) for tests that need an
exact failure. An operation's name is the request's ``operationName``, or without one the name of the document's
only operation. Kinds, and what the client sees:

Before execution (nothing is executed, nothing is charged):

* ``http_500`` / ``http_502`` / ``http_503`` - that status with Shopify's body (``error`` is ``http_503``);
* ``timeout``         - the request is held ``timeout_seconds``, then 504;
* ``connect_timeout`` - the request is held ``timeout_seconds``, then the connection is dropped without a
  response (the client's connect/read timeout fires first when it is shorter);
* ``throttled``       - ``THROTTLED`` with Shopify's shape and the shop's real ``throttleStatus``;
* ``manual_refund``   - a staff member refunds by hand in the admin just before this request executes: before
  a ``refundCreate``, the same lines and amount; before a ``returnProcess``, the same processing (its lines and
  refund, the person as the refund's ``staffMember``) made in the admin; before a request about one order
  (``$id`` an Order gid, such as ``OrderRefunds``, or a Return gid, such as ``ReturnFinancialOutcome``: its
  order), everything still refundable on it;
* ``app_refund``      - the same, done by Rebound's own Shopify app (no ``staffMember``).

After execution:

* ``lost_response``   - after a committed write: the client gets HTTP 502, but the write stays done;
* ``read_timeout``    - after a committed write: the response is held ``timeout_seconds`` then 504 (the
  client's read timeout fires first): the write is done, the outcome unknown to the client;
* ``http_500_after_commit`` - after a committed write: HTTP 500 with Shopify's body (Shopify failing after the
  write, e.g. while rendering the payload), the write stays done;
* ``slow``            - any request: answered correctly, ``slow_seconds`` late.

``hold_after_commit(operation, seconds)`` delays the response of one operation after its write committed
(a slow Shopify), so a test can kill a worker while the write is done but unanswered. ``commits`` counts
committed writes per operation name; ``injected`` lists every fault injected, ``injected_by_operation``
counts them per (operation, kind).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "error",
    "http_500",
    "http_502",
    "http_503",
    "timeout",
    "connect_timeout",
    "throttled",
    "manual_refund",
    "app_refund",
    "lost_response",
    "read_timeout",
    "slow",
    "http_500_after_commit",
]
KINDS: tuple[str, ...] = get_args(FaultKind)
AFTER_COMMIT: tuple[FaultKind, ...] = ("lost_response", "read_timeout", "http_500_after_commit")
AFTER_ANY: tuple[FaultKind, ...] = ("slow",)
# Every other kind, in declaration order: the order of seeded random draws depends on it.
BEFORE: tuple[FaultKind, ...] = tuple(k for k in get_args(FaultKind) if k not in AFTER_COMMIT + AFTER_ANY)
ALL_OPERATIONS = "*"
HTTP_STATUS = {"error": 503, "http_500": 500, "http_502": 502, "http_503": 503}
HTTP_BODY = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class FaultRates:
    """Rates (0..1) of each kind for one scope (all operations, or one operation name)."""

    error_rate: float = 0.0
    http_500_rate: float = 0.0
    http_502_rate: float = 0.0
    http_503_rate: float = 0.0
    timeout_rate: float = 0.0
    connect_timeout_rate: float = 0.0
    throttled_rate: float = 0.0
    manual_refund_rate: float = 0.0
    app_refund_rate: float = 0.0
    lost_response_rate: float = 0.0
    read_timeout_rate: float = 0.0
    slow_rate: float = 0.0
    http_500_after_commit_rate: float = 0.0

    def rate(self, kind: FaultKind) -> float:
        return float(getattr(self, f"{kind}_rate"))

    def active(self) -> dict[str, float]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass
class Faults:
    rates: FaultRates = field(default_factory=FaultRates)  # all operations
    per_operation: dict[str, FaultRates] = field(default_factory=dict)
    timeout_seconds: float = 30.0
    slow_seconds: float = 2.0
    seed: int | None = None
    _queue: deque[tuple[FaultKind, str]] = field(default_factory=deque)
    _random: random.Random = field(default_factory=random.Random)
    injected: list[FaultKind] = field(default_factory=list)
    injected_by_operation: Counter[tuple[str, str]] = field(default_factory=Counter)
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
        """Sleep ``seconds``, or less if the faults are cleared (so a stopping server is not kept waiting)."""
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

    def configure(self, *, seed: int | None = None, operation: str | None = None, **rates: float) -> None:
        """Set ``<kind>_rate`` (0..1) for all operations or for ``operation``, or ``timeout_seconds`` /
        ``slow_seconds``."""
        scope = (
            self.rates
            if operation in (None, ALL_OPERATIONS)
            else self.per_operation.setdefault(str(operation), FaultRates())
        )
        for name, value in rates.items():
            if name in ("timeout_seconds", "slow_seconds"):
                setattr(self, name, float(value))
            elif hasattr(scope, name):
                setattr(scope, name, float(value))
            else:
                raise ValueError(f"unknown fault setting {name!r}")
        if seed is not None:
            self.seed = seed
            self._random.seed(seed)

    def fail_next(self, kind: FaultKind, count: int = 1, *, operation: str = ALL_OPERATIONS) -> None:
        """Queue ``count`` faults of one kind for the next eligible requests (of ``operation`` if given)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._queue.extend([(kind, operation)] * count)

    def clear(self) -> None:
        self.rates = FaultRates()
        self.per_operation.clear()
        self._queue.clear()
        self.injected.clear()
        self.injected_by_operation.clear()
        self.holds.clear()
        self._release_holds()

    def describe(self) -> dict[str, Any]:
        return {
            "rates": self.rates.active(),
            "perOperation": {op: r.active() for op, r in self.per_operation.items()},
            "timeoutSeconds": self.timeout_seconds,
            "slowSeconds": self.slow_seconds,
            "queued": [{"kind": k, "operation": op} for k, op in self._queue],
            "injected": list(self.injected),
        }

    def _take(self, kinds: tuple[FaultKind, ...], operation: str | None) -> FaultKind | None:
        name = operation or "<anonymous>"
        for index, (kind, target) in enumerate(self._queue):
            if target in (ALL_OPERATIONS, name) and kind in kinds:
                del self._queue[index]
                return self._record(kind, name)
        scopes = [self.rates] + ([self.per_operation[name]] if name in self.per_operation else [])
        for kind in kinds:
            for scope in scopes:
                rate = scope.rate(kind)
                if rate > 0 and self._random.random() < rate:
                    return self._record(kind, name)
        return None

    def _record(self, kind: FaultKind, operation: str) -> FaultKind:
        self.injected.append(kind)
        self.injected_by_operation[(operation, kind)] += 1
        return kind

    def before_execute(self, operation: str | None = None) -> FaultKind | None:
        return self._take(BEFORE, operation)

    def after_commit(self, wrote: bool, operation: str | None = None) -> FaultKind | None:
        kinds = (AFTER_COMMIT + AFTER_ANY) if wrote else AFTER_ANY
        return self._take(kinds, operation)
