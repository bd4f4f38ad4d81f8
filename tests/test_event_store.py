"""The held-event store's contract, on both homes: SQLite (embedded default) and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from temporalio.client import Client

from engine.ingest import sqlite_schema, store_postgres, store_sqlite
from engine.ingest.app import READY_TIMEOUT_SECONDS, readiness
from engine.ingest.store import Claimed, EventStore, NewHeld, NotClaimed, open_event_store
from tests.postgres import OwnPostgres
from tests.stores import count_commits


def held(n: int = 0, *, status: str = "failed", brand: str = "castore", authenticated: bool = True) -> NewHeld:
    return NewHeld(
        brand=brand,
        status=status,  # type: ignore[arg-type]
        http_status=503,
        reason=f"Temporal unavailable #{n}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer secret", "X-Rebound-Timestamp": "1"},
        body=b'{"order": {"reboundOrderId": "%d"}}' % n,
        authenticated=authenticated,
        event_id=f"ev-{n}",
    )


async def test_held_events_are_kept_raw_and_listed_by_status_and_brand(store: EventStore) -> None:
    first = await store.hold(held(1))
    second = await store.hold(held(2, status="rejected", brand="cult"))
    assert second > first
    got = await store.get(first)
    assert got is not None
    assert got.body == b'{"order": {"reboundOrderId": "1"}}' and got.http_status == 503 and got.authenticated
    assert got.headers == {"Content-Type": "application/json", "X-Rebound-Timestamp": "1"}  # never Authorization
    assert got.event_id == "ev-1" and got.received_at > 0 and got.replayed_at is None
    assert [e.id for e in await store.list(status="failed")] == [first]
    assert [e.id for e in await store.list(brand="cult")] == [second]
    assert await store.counts() == {"failed": 1, "rejected": 1}
    assert await store.get(second + 100) is None


async def test_of_several_receivers_given_one_event_exactly_one_hands_it_off(store: EventStore, store_url: str) -> None:
    other = await open_event_store(store_url)
    try:
        claims = await asyncio.gather(
            *(s.claim_event("ev-9", "castore", "return-castore-9") for s in (store, other) * 3)
        )
        assert sorted(claims) == ["claimed"] + ["in_flight"] * 5
        await store.confirm_event("ev-9")
        assert await other.claim_event("ev-9", "castore", "return-castore-9") == "accepted"
    finally:
        await other.close()


async def test_a_failed_hand_off_releases_the_event_for_the_next_copy(store: EventStore) -> None:
    assert await store.claim_event("ev-10", "castore", "wf") == "claimed"
    await store.release_event("ev-10")
    assert await store.claim_event("ev-10", "castore", "wf") == "claimed"
    await store.confirm_event("ev-10")
    await store.release_event("ev-10")  # an accepted event is never released
    assert await store.claim_event("ev-10", "castore", "wf") == "accepted"


async def test_a_delivery_claim_left_by_a_dead_receiver_expires(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await store.claim_event("ev-11", "castore", "wf") == "claimed"  # ... and the receiver died here
    assert await store.claim_event("ev-11", "castore", "wf") == "in_flight"
    monkeypatch.setattr(store_sqlite, "DELIVERY_CLAIM_SECONDS", -1.0)
    monkeypatch.setattr(store_postgres, "DELIVERY_CLAIM_SECONDS", -1.0)
    assert await store.claim_event("ev-11", "castore", "wf") == "claimed"


async def test_a_held_event_is_replayed_once_and_by_one_process_at_a_time(store: EventStore, store_url: str) -> None:
    held_id = await store.hold(held(3))
    other = await open_event_store(store_url)  # a second receiver process on the same database
    try:
        claims = await asyncio.gather(*(s.claim_replay(held_id) for s in (store, other, store, other)))
        assert sum(isinstance(c, Claimed) for c in claims) == 1
        assert {c.reason for c in claims if isinstance(c, NotClaimed)} == {"busy"}
        await store.mark_replayed(held_id, "202 accepted")
        again = await other.claim_replay(held_id)
        assert again == NotClaimed("replayed", "202 accepted")
        done = await other.get(held_id)
        assert done is not None and done.status == "replayed" and done.replayed_at is not None
    finally:
        await other.close()
    assert await store.claim_replay(held_id + 1000) == NotClaimed("missing")


async def test_a_replay_that_did_not_go_through_frees_the_event(store: EventStore) -> None:
    held_id = await store.hold(held(4))
    assert isinstance(await store.claim_replay(held_id), Claimed)
    await store.note_replay_attempt(held_id, "503 failed")
    claim = await store.claim_replay(held_id)
    assert isinstance(claim, Claimed) and claim.event.replay_result == "503 failed"


async def test_a_claim_left_by_a_dead_process_expires(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    held_id = await store.hold(held(5))
    assert isinstance(await store.claim_replay(held_id), Claimed)  # ... and the process died here
    assert await store.claim_replay(held_id) == NotClaimed("busy", "another process is replaying it")
    monkeypatch.setattr(store_sqlite, "REPLAY_CLAIM_SECONDS", -1.0)
    monkeypatch.setattr(store_postgres, "REPLAY_CLAIM_SECONDS", -1.0)
    assert isinstance(await store.claim_replay(held_id), Claimed)


async def store_problem(store: EventStore) -> str | None:
    """What the receiver's /readyz says of the event store (None: nothing), and that it says it in time."""
    temporal = await Client.connect("127.0.0.1:1", lazy=True)  # readiness asks both; only the store's part counts
    started = time.monotonic()
    problems = [p for p in await readiness(temporal, store) if not p.startswith("temporal: ")]
    assert time.monotonic() - started < READY_TIMEOUT_SECONDS + 1
    assert len(problems) <= 1, problems
    return problems[0] if problems else None


async def test_ping_says_up_while_the_store_answers_and_down_with_the_reason_once_it_is_closed(
    store: EventStore,
) -> None:
    await store.ping()  # returns: the store answers
    assert await store_problem(store) is None
    await store.close()  # the receiver shutting down under a request
    with pytest.raises(Exception, match="closed") as down:  # sqlite3.ProgrammingError, psycopg_pool.PoolClosed
        await store.ping()
    assert await store_problem(store) == f"event store: {type(down.value).__name__}: {down.value}"


async def test_ping_says_down_naming_the_reason_while_postgres_is_stopped_and_up_once_it_is_back(
    own_postgres: OwnPostgres,
) -> None:
    store = await open_event_store(own_postgres.url)
    try:
        held_id = await store.hold(held(7))
        assert await store_problem(store) is None
        own_postgres.stop()
        # The pool's connection learns first that the server shut down; after it, a new one cannot be made.
        reasons = [await store_problem(store) for _ in range(3)]
        assert all(r and r.startswith("event store: ") for r in reasons), reasons
        assert "Is the server running" in str(reasons[-1]) and ".s.PGSQL.5432" in str(reasons[-1]), reasons
        own_postgres.start()
        assert await until_up(store), await store_problem(store)
        got = await store.get(held_id)
        assert got is not None and got.body == held(7).body  # the same database, nothing lost
    finally:
        await store.close()


async def test_ping_says_down_in_time_when_postgres_stops_answering_and_up_once_it_answers(
    own_postgres: OwnPostgres,
) -> None:
    """A database host cut off the network answers nothing: no error comes, only silence; the ping says so itself
    before the readiness check gives up on it (a bare timeout would name no reason)."""
    store = await open_event_store(own_postgres.url)
    try:
        assert await store_problem(store) is None
        own_postgres.freeze()
        for _ in range(2):  # the pooled connection, then a new one
            reason = await store_problem(store)
            assert reason is not None and reason.startswith("event store: "), reason
            assert "the database did not answer within" in reason, reason
        own_postgres.thaw()
        assert await until_up(store), await store_problem(store)
    finally:
        await store.close()


async def until_up(store: EventStore, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while await store_problem(store) is not None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)
    return True


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_ping_says_down_naming_the_file_when_the_sqlite_file_is_gone(tmp_path: Path, how: str) -> None:
    """Writes to a file deleted (or replaced) under the store still succeed, into a file nobody will open again:
    the ping is what tells."""
    path = tmp_path / "events.sqlite"
    store = await open_event_store(f"sqlite:///{path}")
    try:
        await store.hold(held(8))
        assert await store_problem(store) is None
        if how == "deleted":
            path.unlink()
        else:
            other = tmp_path / "other.sqlite"
            sqlite3.connect(other).close()
            other.replace(path)
        reason = await store_problem(store)
        assert reason is not None and reason.startswith("event store: ") and str(path) in reason, reason
        assert f"the database file was {how}" in reason, reason
    finally:
        await store.close()


async def test_several_processes_opening_postgres_at_once_migrate_it_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(open_event_store(postgres_url) for _ in range(4)))
    try:
        held_id = await stores[0].hold(held(6))
        assert (await stores[3].get(held_id)) is not None
    finally:
        for s in stores:
            await s.close()
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT version FROM returns_schema_version ORDER BY version").fetchall()
    assert versions == [(v,) for v, _ in store_postgres.MIGRATIONS]


async def test_postgres_url_password_is_never_shown(postgres_url: str) -> None:
    assert "hunter2" not in store_postgres.redacted("postgresql://returns:hunter2@db.internal:5432/returns")
    assert "db.internal" in store_postgres.redacted("postgresql://returns:hunter2@db.internal:5432/returns")


async def test_a_sqlite_file_from_before_versioning_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    old = sqlite3.connect(path)
    old.executescript(sqlite_schema.MIGRATIONS[0][1])
    old.execute(
        "INSERT INTO held_events (received_at, brand, status, http_status, reason, authenticated, event_id, headers,"
        " body) VALUES (1.0, 'castore', 'failed', 503, 'old', 1, 'ev-old', '{}', x'7b7d')"
    )
    old.commit()
    old.close()
    store = await open_event_store(f"sqlite:///{path}")
    try:
        [kept] = await store.list()
        assert kept.reason == "old" and kept.body == b"{}"
        assert isinstance(await store.claim_replay(kept.id), Claimed)  # the new column exists
    finally:
        await store.close()
    reopened = await open_event_store(f"sqlite:///{path}")  # opening again changes nothing
    await reopened.close()


def test_unknown_database_url_is_refused_with_the_scheme() -> None:
    with pytest.raises(ValueError, match="'mysql'"):
        asyncio.run(open_event_store("mysql://db/returns"))


async def test_a_burst_of_writes_shares_commits_and_every_acknowledged_one_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite commits a burst in groups (one fsync each, not one per push); each write is durable when it returns,
    a duplicate in the same group is told apart, and closing waits for the group in flight."""
    url = f"sqlite:///{tmp_path / 'burst.sqlite'}"
    store = await open_event_store(url)
    commits = count_commits(monkeypatch)
    try:
        ids = [f"evt-{i}" for i in range(300)]
        claims = await asyncio.gather(*(store.claim_event(i, "castore", "wf") for i in [*ids, ids[0]]))
        await asyncio.gather(*(store.confirm_event(i) for i in ids))
    finally:
        await store.close()
    assert claims[:300] == ["claimed"] * 300 and claims[300] in ("in_flight", "accepted")
    assert commits() < 300, commits()  # grouped: far fewer commits than writes
    reopened = sqlite3.connect(str(tmp_path / "burst.sqlite"))
    assert reopened.execute("SELECT COUNT(*) FROM accepted_events WHERE state = 'accepted'").fetchone() == (300,)


async def test_claims_commit_on_the_loop_without_fsync_and_holds_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: delivery claims, confirmations and releases commit on the event loop with synchronous=NORMAL (seen
    by every other connection at once); a hold goes to the thread with synchronous=FULL (on disk before it is
    acknowledged). When another writer holds the lock, a claim waits in the thread, not on the loop."""
    monkeypatch.setattr(store_sqlite, "FAST_CHECKPOINT_EVERY", 2)
    url = f"sqlite:///{tmp_path / 'sync.sqlite'}"
    store = await open_event_store(url)
    assert isinstance(store, store_sqlite.SqliteEventStore)
    threaded: list[tuple[int, bool, str]] = []
    real = store_sqlite.SqliteEventStore._commit

    def recording(self: store_sqlite.SqliteEventStore, works: list[Any], durable: bool = True) -> list[Any]:
        outcomes = real(self, works, durable)
        threaded.append((len(works), durable, self._synchronous))
        return outcomes

    monkeypatch.setattr(store_sqlite.SqliteEventStore, "_commit", recording)
    other = sqlite3.connect(str(tmp_path / "sync.sqlite"), isolation_level=None)
    try:
        assert await store.claim_event("evt-1", "castore", "wf") == "claimed"
        assert other.execute("SELECT state FROM accepted_events WHERE event_id = 'evt-1'").fetchone() == ("delivering",)
        await store.confirm_event("evt-1")
        await store.release_event("evt-2")
        assert threaded == [] and store._checkpoint is not None  # none in the thread; a checkpoint after two
        held = NewHeld("castore", "failed", 503, "Temporal unavailable", {}, b"{}", True, "evt-3")
        await store.hold(held)
        assert threaded == [(1, True, "FULL")]
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        claim = asyncio.create_task(store.claim_event("evt-4", "castore", "wf"))
        await asyncio.sleep(0.2)
        assert not claim.done()  # waiting in the thread for the lock, the event loop free
        other.execute("COMMIT")
        assert await claim == "claimed" and threaded[1:] == [(1, False, "NORMAL")]
        assert other.execute("SELECT COUNT(*) FROM accepted_events").fetchone() == (2,)
    finally:
        other.close()
        await store.close()


async def test_confirmations_a_moment_apart_share_one_commit(tmp_path: Path) -> None:
    """Nobody waits for a confirmation (the push was answered once Temporal had it): those of pushes answered a few
    milliseconds apart share a commit instead of each turn of the loop making its own; each is then visible."""
    store = await open_event_store(f"sqlite:///{tmp_path / 'events.db'}")
    assert isinstance(store, store_sqlite.SqliteEventStore)
    try:
        for n in range(3):
            assert await store.claim_event(f"e{n}", "castore", "wf") == "claimed"
        before = store._fast_commits
        confirms = []
        for n in range(3):
            confirms.append(asyncio.ensure_future(store.confirm_event(f"e{n}")))
            await asyncio.sleep(0.002)  # other turns of the loop in between
        await asyncio.gather(*confirms)
        assert store._fast_commits - before == 1
        assert [await store.claim_event(f"e{n}", "castore", "wf") for n in range(3)] == ["accepted"] * 3
    finally:
        await store.close()
