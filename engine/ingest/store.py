"""Held events: every push the receiver could not hand to Temporal (rejected, failed, late) is kept, with its raw
body and the headers needed to check it again, until it is replayed (then the body is cleared). Accepted event ids
are kept too, to acknowledge duplicates cheaply. `purge` deletes what the retention policy no longer keeps
(`engine.ingest.retention`).

Two homes, one contract: SQLite under `.data/` is the embedded default (one machine); PostgreSQL
(`RETURNS_DATABASE_URL=postgresql://...`) is the shared home several receivers on several machines need.
`open_event_store(url)` picks one; both create or migrate their tables on open.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol

from engine.ingest.retention import PURGE_BATCH, PurgeResult, RetentionPolicy

HeldStatus = Literal["rejected", "failed", "late", "replayed"]
HELD_STATUSES: tuple[HeldStatus, ...] = ("rejected", "failed", "late", "replayed")

KEPT_HEADERS = ("content-type", "x-rebound-signature", "x-rebound-timestamp", "user-agent")  # never Authorization
# A replayed event keeps no body and only this header: the body and its signature were only kept to replay it.
KEPT_AFTER_REPLAY = "content-type"
MAX_REASON = 2000
# A replay claimed by a process that died is free again after this long.
REPLAY_CLAIM_SECONDS = 300.0
# A hand-off to Temporal takes well under a second; a delivery claim older than this belongs to a dead receiver.
DELIVERY_CLAIM_SECONDS = 60.0

# claim_event: "claimed" (this receiver hands it off now), "accepted" (already with Temporal: a duplicate),
# "in_flight" (another receiver is handing it off this moment: answer 503 so the sender retries).
EventClaim = Literal["claimed", "accepted", "in_flight"]


@dataclass
class HeldEvent:
    id: int
    received_at: float
    brand: str
    status: str
    http_status: int
    reason: str
    authenticated: bool
    event_id: str | None
    headers: dict[str, str]
    body: bytes
    replayed_at: float | None
    replay_result: str | None


@dataclass(frozen=True)
class NewHeld:
    """What the receiver holds; the store adds the id and the time."""

    brand: str
    status: HeldStatus
    http_status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    authenticated: bool
    event_id: str | None = None

    def kept_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() in KEPT_HEADERS}


@dataclass(frozen=True)
class Claimed:
    event: HeldEvent


@dataclass(frozen=True)
class NotClaimed:
    reason: Literal["missing", "replayed", "busy"]
    detail: str = ""


class EventStore(Protocol):
    """What the receiver, the pull and `returns events` need; every method is safe from several processes."""

    url_for_humans: str

    async def hold(self, held: NewHeld) -> int: ...

    async def claim_event(self, event_id: str, brand: str, workflow_id: str) -> EventClaim:
        """Take an event for hand-off: of several receivers given copies at once, exactly one gets "claimed"."""
        ...

    async def confirm_event(self, event_id: str) -> None:
        """Temporal has the claimed event: later copies are duplicates."""
        ...

    async def release_event(self, event_id: str) -> None:
        """The hand-off failed: the next copy (or a replay) may claim it again."""
        ...

    async def claim_replay(self, held_id: int) -> Claimed | NotClaimed:
        """Take a held event for replay: only one process at a time may replay it, and never twice."""
        ...

    async def mark_replayed(self, held_id: int, result: str) -> None:
        """The event is with Temporal: record the result, and clear its body and headers (but Content-Type)."""
        ...

    async def note_replay_attempt(self, held_id: int, result: str) -> None:
        """Record a replay that did not go through, and free the event for another try."""
        ...

    async def list(
        self, *, status: str | None = None, brand: str | None = None, limit: int = 100
    ) -> list[HeldEvent]: ...

    async def get(self, held_id: int) -> HeldEvent | None: ...

    async def counts(self) -> dict[str, int]: ...

    async def purge(
        self, policy: RetentionPolicy, as_of: float | None = None, *, dry_run: bool = False, batch: int = PURGE_BATCH
    ) -> PurgeResult:
        """Delete what the policy no longer keeps, `as_of` (epoch seconds; None: the store's clock), `batch` rows
        per statement; `dry_run` only counts. Held events a replay has claimed are left for that replay."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot be reached (readiness)."""
        ...

    async def close(self) -> None: ...


def now() -> float:
    return time.time()


async def open_event_store(url: str) -> EventStore:
    """`sqlite:///path/events.sqlite` (the embedded default) or `postgresql://user@host/db` (production)."""
    if url.startswith(("postgresql://", "postgres://")):
        from engine.ingest.store_postgres import PostgresEventStore

        return await PostgresEventStore.open(url)
    if url.startswith("sqlite:///"):
        from pathlib import Path

        from engine.ingest.store_sqlite import SqliteEventStore

        return await SqliteEventStore.open(Path(url.removeprefix("sqlite:///")))
    raise ValueError(f"RETURNS_DATABASE_URL must start with sqlite:/// or postgresql://, not {url.split(':')[0]!r}")
