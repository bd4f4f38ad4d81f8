"""The event store under test, on SQLite and on a real PostgreSQL (each test runs on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine.ingest import store_sqlite
from engine.ingest.store import EventStore, open_event_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    opened = await open_event_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def count_commits(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many SQLite write transactions (group commits) happen from now on."""
    commits = 0
    real = store_sqlite.SqliteEventStore._commit

    def counting(self: store_sqlite.SqliteEventStore, works: list[Any], durable: bool = True) -> list[Any]:
        nonlocal commits
        commits += 1
        return real(self, works, durable)

    monkeypatch.setattr(store_sqlite.SqliteEventStore, "_commit", counting)
    return lambda: commits
