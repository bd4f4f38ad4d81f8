"""A wall clock tests can move, so time-based rules (idempotency key expiry) are testable without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """UTC "now" plus an adjustable offset; ``advance`` only moves forward, like real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self._fixed = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._fixed if self._fixed is not None else datetime.now(UTC)
        return (base + self._offset).replace(microsecond=0)

    def advance(self, delta: timedelta | None = None, *, hours: float = 0, seconds: float = 0) -> datetime:
        step = (delta or timedelta(0)) + timedelta(hours=hours, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._offset += step
        return self.now()


def iso(moment: datetime | None) -> str | None:
    """DateTime scalar as Shopify prints it: ``2026-11-26T10:00:00Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
