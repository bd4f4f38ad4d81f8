"""The embedded event store: one SQLite file (WAL, fsync'd: an acknowledged hold survives a power cut), safe for
several processes on one machine. Calls run in a thread so the receiver's event loop never waits on the disk.

Two kinds of write. Holds, replay bookkeeping and purges commit with `synchronous=FULL`: the WAL is fsync'd
before the call returns, so what was acknowledged survives a power cut. The delivery claims (claim, confirm,
release of an accepted event's id) commit with `synchronous=NORMAL`: at once visible to every other connection
(which is what makes a claim exclusive among receivers) and kept through a crash of the process, but on disk
only with the next FULL commit or checkpoint. What a power cut can then lose is the record that the last moments'
events were handed to Temporal (who has them, durably): a copy Rebound sends again is claimed and handed over
again, and the return's workflow ignores it (it deduplicates by event id). Under the receiver bench the claims
and confirmations were two thirds of the commits, each with an fsync: 0.26 ms of CPU per commit.

Without an fsync such a commit takes microseconds, less than handing it to a thread and back: the claims are
committed on the event loop itself, through a second connection that never waits for SQLite's write lock. When
another writer holds it (a durable commit's fsync in this process's thread, another process), the group goes to
the thread like any other write. That connection leaves checkpoints to the thread's (one every
FAST_CHECKPOINT_EVERY of its commits), which can take an fsync."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.ingest.retention import PURGE_BATCH, PurgeResult, PurgeRule, RetentionPolicy, purge_rules
from engine.ingest.sqlite_schema import COLUMNS, HEADERS_AFTER_REPLAY, migrate
from engine.ingest.store import (
    DELIVERY_CLAIM_SECONDS,
    MAX_REASON,
    REPLAY_CLAIM_SECONDS,
    Claimed,
    EventClaim,
    HeldEvent,
    NewHeld,
    NotClaimed,
    now,
)

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
FAST_CHECKPOINT_EVERY = 500  # commits on the event loop between checkpoints (run in the store's thread)
# A confirmation nobody waits for (the push was answered once Temporal had it) waits this long for company: the
# claims and confirmations of the next pushes share its commit instead of each turn of the loop committing its own.
CONFIRM_WITHIN_SECONDS = 0.02


class SqliteEventStore:
    def __init__(self, path: Path, db: sqlite3.Connection, fast: sqlite3.Connection | None = None) -> None:
        self.url_for_humans = f"sqlite:///{path}"
        self._path = path.absolute()  # as opened, whatever the working directory becomes
        self._file = _identity(self._path)  # the file this connection writes, to tell it is still the one at the path
        self._db = db
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any], bool]] = []
        self._committer: asyncio.Task[None] | None = None
        self._synchronous = "FULL"  # as opened
        self._fast = fast  # synchronous=NORMAL, no busy wait: the event loop's own commits
        self._fast_pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._fast_scheduled = False
        self._fast_later: asyncio.TimerHandle | None = None
        self._fast_commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: Path) -> SqliteEventStore:
        def connect() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            migrate(db)
            return db

        def connect_fast() -> sqlite3.Connection:
            fast = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=0)
            fast.execute("PRAGMA synchronous=NORMAL")
            fast.execute("PRAGMA wal_autocheckpoint=0")
            return fast

        db = await asyncio.to_thread(connect)
        return cls(path, db, await asyncio.to_thread(connect_fast))

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return work(self._db)

        return await asyncio.to_thread(locked)

    async def _write(self, work: Callable[[sqlite3.Connection], T], *, durable: bool = True, within: float = 0.0) -> T:
        """A write, committed when this returns: durable (fsync'd), or only visible and crash-safe when `durable`
        is False (see the module's docstring). Writes that arrive while a commit is on disk wait for the next one
        and share it (group commit): one fsync for a burst of pushes instead of one each; a batch holding any
        durable write is committed durably. A non-durable write may wait up to `within` seconds for others to
        share its commit (the next turn of the loop's, if one comes sooner)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not durable and self._fast is not None:
            self._fast_pending.append((work, future))
            if self._fast_scheduled:
                pass  # the writes of this turn of the loop share the commit
            elif within <= 0:
                self._fast_scheduled = True
                loop.call_soon(self._commit_fast)
            elif self._fast_later is None:
                self._fast_later = loop.call_later(within, self._commit_fast)
        else:
            self._queue(work, future, durable)
        result: T = await future
        return result

    def _queue(self, work: Work, future: asyncio.Future[Any], durable: bool) -> None:
        self._pending.append((work, future, durable))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_pending())

    def _commit_fast(self) -> None:
        """The non-durable writes pending, committed now on the event loop; to the thread if SQLite's write lock is
        taken (no waiting here) or anything fails (rolled back: nothing of it was written)."""
        self._fast_scheduled = False
        if self._fast_later is not None:  # this commit takes what was waiting for company too
            self._fast_later.cancel()
            self._fast_later = None
        batch, self._fast_pending = self._fast_pending, []
        db = self._fast
        if not batch:
            return
        if db is None:  # closing
            for work, future in batch:
                self._queue(work, future, False)
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for work, _ in batch:
                try:
                    outcomes.append((True, work(db)))
                except sqlite3.Error as exc:  # this write failed on its own (its statement undone); the rest go on
                    outcomes.append((False, exc))
            db.execute("COMMIT")
        except Exception as exc:  # locked by another writer, or the commit failed: rolled back, the thread's turn
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
            except sqlite3.Error:
                self._fast = None  # in a state it cannot leave: every write goes through the thread from now on
            for work, future in batch:
                if isinstance(exc, sqlite3.Error):
                    self._queue(work, future, False)
                elif not future.done():  # not SQLite's doing: the same again would fail the same way
                    future.set_exception(exc)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._fast_commits += 1
        if self._fast_commits % FAST_CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.ensure_future(self._checkpoint_wal())

    async def _checkpoint_wal(self) -> None:
        """What the event loop's connection wrote, copied into the database file (by the thread's connection)."""
        await self._run(lambda db: db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall())

    async def _commit_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            durable = any(flag for _, _, flag in batch)
            try:
                outcomes = await asyncio.to_thread(self._commit, [work for work, _, _ in batch], durable)
            except BaseException as exc:  # the commit failed: nothing of the batch is durable
                for _, future, _ in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future, _), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, works: list[Callable[[sqlite3.Connection], Any]], durable: bool = True) -> list[tuple[bool, Any]]:
        with self._lock:
            synchronous = "FULL" if durable else "NORMAL"
            if synchronous != self._synchronous:  # read at COMMIT; set outside the transaction
                self._db.execute(f"PRAGMA synchronous={synchronous}")
                self._synchronous = synchronous
            self._db.execute("BEGIN IMMEDIATE")
            outcomes: list[tuple[bool, Any]] = []
            try:
                for work in works:
                    try:
                        outcomes.append((True, work(self._db)))
                    except sqlite3.Error as exc:  # this write failed on its own (its statement undone); the rest go on
                        outcomes.append((False, exc))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return outcomes

    async def hold(self, held: NewHeld) -> int:
        def insert(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "INSERT INTO held_events (received_at, brand, status, http_status, reason, authenticated, event_id,"
                " headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now(), held.brand, held.status, held.http_status, held.reason[:MAX_REASON], int(held.authenticated),
                 held.event_id, json.dumps(held.kept_headers()), held.body),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

        return await self._write(insert)

    async def claim_event(self, event_id: str, brand: str, workflow_id: str) -> EventClaim:
        def claim(db: sqlite3.Connection) -> EventClaim:
            t = now()
            taken = db.execute(
                "INSERT INTO accepted_events (event_id, brand, workflow_id, accepted_at, state, claimed_at)"
                " VALUES (?, ?, ?, ?, 'delivering', ?)"
                " ON CONFLICT (event_id) DO UPDATE SET claimed_at = excluded.claimed_at"
                " WHERE accepted_events.state = 'delivering' AND accepted_events.claimed_at < ?",
                (event_id, brand, workflow_id, t, t, t - DELIVERY_CLAIM_SECONDS),
            ).rowcount
            if taken:
                return "claimed"
            row = db.execute("SELECT state FROM accepted_events WHERE event_id = ?", (event_id,)).fetchone()
            return "accepted" if row and row[0] == "accepted" else "in_flight"

        return await self._write(claim, durable=False)

    async def confirm_event(self, event_id: str) -> None:
        await self._write(
            lambda db: db.execute(
                "UPDATE accepted_events SET state = 'accepted', accepted_at = ? WHERE event_id = ?", (now(), event_id)
            ),
            durable=False,
            within=CONFIRM_WITHIN_SECONDS,
        )

    async def release_event(self, event_id: str) -> None:
        await self._write(
            lambda db: db.execute(
                "DELETE FROM accepted_events WHERE event_id = ? AND state = 'delivering'", (event_id,)
            ),
            durable=False,
        )

    async def claim_replay(self, held_id: int) -> Claimed | NotClaimed:
        def claim(db: sqlite3.Connection) -> Claimed | NotClaimed:
            t = now()
            taken = db.execute(
                "UPDATE held_events SET replay_claimed_at = ? WHERE id = ? AND status != 'replayed'"
                " AND (replay_claimed_at IS NULL OR replay_claimed_at < ?)",
                (t, held_id, t - REPLAY_CLAIM_SECONDS),
            ).rowcount
            row = db.execute(f"SELECT {COLUMNS} FROM held_events WHERE id = ?", (held_id,)).fetchone()
            if row is None:
                return NotClaimed("missing")
            event = _row(row)
            if taken:
                return Claimed(event)
            if event.status == "replayed":
                return NotClaimed("replayed", event.replay_result or "")
            return NotClaimed("busy", "another process is replaying it")

        return await self._write(claim)

    async def mark_replayed(self, held_id: int, result: str) -> None:
        await self._write(
            lambda db: db.execute(
                "UPDATE held_events SET status = 'replayed', replayed_at = ?, replay_result = ?,"
                f" replay_claimed_at = NULL, body = x'', headers = {HEADERS_AFTER_REPLAY} WHERE id = ?",
                (now(), result, held_id),
            )
        )

    async def note_replay_attempt(self, held_id: int, result: str) -> None:
        await self._write(
            lambda db: db.execute(
                "UPDATE held_events SET replay_result = ?, replay_claimed_at = NULL WHERE id = ?", (result, held_id)
            )
        )

    async def list(self, *, status: str | None = None, brand: str | None = None, limit: int = 100) -> list[HeldEvent]:
        query = f"SELECT {COLUMNS} FROM held_events WHERE 1=1"
        args: list[Any] = []
        if status:
            query += " AND status = ?"
            args.append(status)
        if brand:
            query += " AND brand = ?"
            args.append(brand)
        query += " ORDER BY id LIMIT ?"
        args.append(limit)
        rows = await self._run(lambda db: db.execute(query, args).fetchall())
        return [_row(r) for r in rows]

    async def get(self, held_id: int) -> HeldEvent | None:
        row = await self._run(
            lambda db: db.execute(f"SELECT {COLUMNS} FROM held_events WHERE id = ?", (held_id,)).fetchone()
        )
        return _row(row) if row else None

    async def counts(self) -> dict[str, int]:
        rows = await self._run(
            lambda db: db.execute("SELECT status, COUNT(*) FROM held_events GROUP BY status ORDER BY status").fetchall()
        )
        return {status: n for status, n in rows}

    async def purge(
        self, policy: RetentionPolicy, as_of: float | None = None, *, dry_run: bool = False, batch: int = PURGE_BATCH
    ) -> PurgeResult:
        """Each batch is its own write (shared with the pushes of that moment): the write lock is never held for
        more than `batch` rows."""
        t = now() if as_of is None else as_of
        result = PurgeResult()
        for rule in purge_rules(policy):
            where, args = _condition(rule, t)
            if dry_run:
                setattr(result, rule.kind, await self._count(rule.table, where, args))
                continue
            deleted = batch
            while deleted == batch:
                deleted = await self._delete_batch(rule.table, where, args, batch)
                setattr(result, rule.kind, getattr(result, rule.kind) + deleted)
        return result

    async def _count(self, table: str, where: str, args: tuple[Any, ...]) -> int:
        row = await self._run(lambda db: db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", args).fetchone())
        return int(row[0])

    async def _delete_batch(self, table: str, where: str, args: tuple[Any, ...], batch: int) -> int:
        query = f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {where} LIMIT ?)"
        return await self._write(lambda db: int(db.execute(query, (*args, batch)).rowcount))

    async def ping(self) -> None:
        """Raise, saying why, if the connection is closed or the file at the path is no longer the one it writes
        (deleted or replaced under it: writes would still succeed, into a file nobody opens again)."""
        await self._run(lambda db: db.execute("SELECT 1").fetchone())
        try:
            now_there = _identity(self._path)
        except FileNotFoundError:
            raise FileNotFoundError(f"{self._path}: the database file was deleted under the store") from None
        if now_there != self._file:
            raise RuntimeError(f"{self._path}: the database file was replaced under the store")

    async def close(self) -> None:
        self._commit_fast()  # what is pending now, committed (or queued for the thread)
        fast, self._fast = self._fast, None
        if self._committer is not None:
            await self._committer  # what was acknowledged is on disk before the connection goes
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if fast is not None:
            fast.close()
        await self._run(lambda db: db.close())


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _condition(rule: PurgeRule, t: float) -> tuple[str, tuple[Any, ...]]:
    where = f"{rule.column} = ? AND {rule.since} < ?"
    args: tuple[Any, ...] = (rule.value, t - rule.seconds)
    if rule.unclaimed:
        where += " AND (replay_claimed_at IS NULL OR replay_claimed_at < ?)"
        args += (t - REPLAY_CLAIM_SECONDS,)
    return where, args


def _row(row: tuple[Any, ...]) -> HeldEvent:
    return HeldEvent(
        id=row[0],
        received_at=row[1],
        brand=row[2],
        status=row[3],
        http_status=row[4],
        reason=row[5],
        authenticated=bool(row[6]),
        event_id=row[7],
        headers=json.loads(row[8]),
        body=bytes(row[9]),
        replayed_at=row[10],
        replay_result=row[11],
    )
