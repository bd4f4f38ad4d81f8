"""The production event store: PostgreSQL, shared by every receiver on every machine (psycopg 3, async, pooled).

Tables are created or migrated on open, under an advisory lock so receivers starting together take turns. Times
are the database's clock (one clock for every receiver). The URL's password is never printed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.ingest.retention import PURGE_BATCH, PurgeResult, PurgeRule, RetentionPolicy, purge_rules
from engine.ingest.store import (
    DELIVERY_CLAIM_SECONDS,
    KEPT_AFTER_REPLAY,
    MAX_REASON,
    REPLAY_CLAIM_SECONDS,
    Claimed,
    EventClaim,
    HeldEvent,
    NewHeld,
    NotClaimed,
)

MIGRATION_LOCK = 0x52455455524E53  # "RETURNS": pg_advisory_xact_lock key
# Under the receiver's readiness timeout (3 s): a database that does not answer is reported by the ping, with its
# reason, before readiness gives up on it with a bare timeout.
PING_SECONDS = 2.5

# A replayed event's headers, reduced to Content-Type (whatever its case).
HEADERS_AFTER_REPLAY = (
    "(SELECT COALESCE(jsonb_object_agg(h.key, h.value), '{}'::jsonb) FROM jsonb_each(held_events.headers) AS h"
    f" WHERE lower(h.key) = '{KEPT_AFTER_REPLAY}')"
)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE IF NOT EXISTS held_events (
            id BIGSERIAL PRIMARY KEY,
            received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            brand TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('rejected', 'failed', 'late', 'replayed')),
            http_status INTEGER NOT NULL,
            reason TEXT NOT NULL,
            authenticated BOOLEAN NOT NULL,
            event_id TEXT,
            headers JSONB NOT NULL,
            body BYTEA NOT NULL,
            replayed_at TIMESTAMPTZ,
            replay_result TEXT,
            replay_claimed_at TIMESTAMPTZ
        );
        CREATE INDEX IF NOT EXISTS held_events_status ON held_events (status, id);
        CREATE TABLE IF NOT EXISTS accepted_events (
            event_id TEXT PRIMARY KEY,
            brand TEXT NOT NULL,
            workflow_id TEXT NOT NULL,
            accepted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            state TEXT NOT NULL DEFAULT 'accepted' CHECK (state IN ('delivering', 'accepted')),
            claimed_at TIMESTAMPTZ
        );
        """,
    ),
    (
        2,
        f"""
        CREATE INDEX IF NOT EXISTS held_events_received ON held_events (status, received_at);
        CREATE INDEX IF NOT EXISTS accepted_events_accepted ON accepted_events (state, accepted_at);
        UPDATE held_events SET body = ''::bytea, headers = {HEADERS_AFTER_REPLAY} WHERE status = 'replayed'
        """,
    ),
]

# "As of" for a purge: the given epoch seconds, else the database's clock (the one every row was stamped with).
AS_OF = "COALESCE(to_timestamp(%(now)s::float8), now())"

COLUMNS = (
    "id, EXTRACT(EPOCH FROM received_at)::float8, brand, status, http_status, reason, authenticated, event_id,"
    " headers, body, EXTRACT(EPOCH FROM replayed_at)::float8, replay_result"
)


def redacted(url: str) -> str:
    """The URL without its password, for logs and `returns events`."""
    params = {k: v for k, v in conninfo_to_dict(url).items() if k != "password"}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


async def migrate(conn: AsyncConnection[Any]) -> int:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS returns_schema_version (version INTEGER NOT NULL)")
        cursor = await conn.execute("SELECT MAX(version) FROM returns_schema_version")
        row = await cursor.fetchone()
        current = int(row[0] or 0) if row else 0
        for version, script in MIGRATIONS:
            if version > current:
                for statement in filter(str.strip, script.split(";")):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO returns_schema_version (version) VALUES (%s)", (version,))
                current = version
    return current


class PostgresEventStore:
    def __init__(self, url: str, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
        self.url_for_humans = redacted(url)
        self._url = url
        self._pool = pool
        self._probes: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(cls, url: str, *, max_size: int = 10) -> PostgresEventStore:
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True, timeout=15)
        try:
            async with pool.connection() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool)

    async def _one(self, query: str, args: tuple[Any, ...] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, args)
            return await cursor.fetchone() if cursor.description else None

    async def _all(self, query: str, args: tuple[Any, ...] | list[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, args)
            return await cursor.fetchall()

    async def hold(self, held: NewHeld) -> int:
        row = await self._one(
            "INSERT INTO held_events (brand, status, http_status, reason, authenticated, event_id, headers, body)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (held.brand, held.status, held.http_status, held.reason[:MAX_REASON], held.authenticated,
             held.event_id, Jsonb(held.kept_headers()), held.body),
        )  # fmt: skip
        assert row is not None
        return int(row[0])

    async def claim_event(self, event_id: str, brand: str, workflow_id: str) -> EventClaim:
        row = await self._one(
            "INSERT INTO accepted_events (event_id, brand, workflow_id, state, claimed_at)"
            " VALUES (%s, %s, %s, 'delivering', now()) ON CONFLICT (event_id) DO UPDATE SET claimed_at = now()"
            " WHERE accepted_events.state = 'delivering'"
            f" AND accepted_events.claimed_at < now() - interval '{int(DELIVERY_CLAIM_SECONDS)} s'"
            " RETURNING event_id",
            (event_id, brand, workflow_id),
        )
        if row is not None:
            return "claimed"
        state = await self._one("SELECT state FROM accepted_events WHERE event_id = %s", (event_id,))
        return "accepted" if state and state[0] == "accepted" else "in_flight"

    async def confirm_event(self, event_id: str) -> None:
        await self._one(
            "UPDATE accepted_events SET state = 'accepted', accepted_at = now() WHERE event_id = %s", (event_id,)
        )

    async def release_event(self, event_id: str) -> None:
        await self._one("DELETE FROM accepted_events WHERE event_id = %s AND state = 'delivering'", (event_id,))

    async def claim_replay(self, held_id: int) -> Claimed | NotClaimed:
        row = await self._one(
            f"UPDATE held_events SET replay_claimed_at = now() WHERE id = %s AND status <> 'replayed'"
            f" AND (replay_claimed_at IS NULL OR replay_claimed_at < now() - interval '{int(REPLAY_CLAIM_SECONDS)} s')"
            f" RETURNING {COLUMNS}",
            (held_id,),
        )
        if row is not None:
            return Claimed(_row(row))
        event = await self.get(held_id)
        if event is None:
            return NotClaimed("missing")
        if event.status == "replayed":
            return NotClaimed("replayed", event.replay_result or "")
        return NotClaimed("busy", "another process is replaying it")

    async def mark_replayed(self, held_id: int, result: str) -> None:
        await self._one(
            "UPDATE held_events SET status = 'replayed', replayed_at = now(), replay_result = %s,"
            f" replay_claimed_at = NULL, body = ''::bytea, headers = {HEADERS_AFTER_REPLAY} WHERE id = %s",
            (result, held_id),
        )

    async def note_replay_attempt(self, held_id: int, result: str) -> None:
        await self._one(
            "UPDATE held_events SET replay_result = %s, replay_claimed_at = NULL WHERE id = %s", (result, held_id)
        )

    async def list(self, *, status: str | None = None, brand: str | None = None, limit: int = 100) -> list[HeldEvent]:
        query = f"SELECT {COLUMNS} FROM held_events WHERE true"
        args: list[Any] = []
        if status:
            query += " AND status = %s"
            args.append(status)
        if brand:
            query += " AND brand = %s"
            args.append(brand)
        query += " ORDER BY id LIMIT %s"
        args.append(limit)
        return [_row(r) for r in await self._all(query, args)]

    async def get(self, held_id: int) -> HeldEvent | None:
        row = await self._one(f"SELECT {COLUMNS} FROM held_events WHERE id = %s", (held_id,))
        return _row(row) if row else None

    async def counts(self) -> dict[str, int]:
        rows = await self._all("SELECT status, COUNT(*) FROM held_events GROUP BY status ORDER BY status")
        return {status: int(n) for status, n in rows}

    async def purge(
        self, policy: RetentionPolicy, as_of: float | None = None, *, dry_run: bool = False, batch: int = PURGE_BATCH
    ) -> PurgeResult:
        """Each batch is one autocommitted statement: no transaction lasts longer than `batch` rows, and rows another
        purge has locked are skipped rather than waited for."""
        result = PurgeResult()
        for rule in purge_rules(policy):
            table, key, where = rule.table, rule.key, _condition(rule)
            args = {"now": as_of, "value": rule.value, "seconds": rule.seconds, "claim": REPLAY_CLAIM_SECONDS,
                    "batch": batch}  # fmt: skip
            if dry_run:
                row = await self._one(f"SELECT COUNT(*) FROM {table} WHERE {where}", args)
                setattr(result, rule.kind, int(row[0]) if row else 0)
                continue
            deleted = batch
            while deleted == batch:
                rows = await self._all(
                    f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where}"
                    f" LIMIT %(batch)s FOR UPDATE SKIP LOCKED) RETURNING {key}",
                    args,
                )
                deleted = len(rows)
                setattr(result, rule.kind, getattr(result, rule.kind) + deleted)
        return result

    async def ping(self) -> None:
        """Return once the database answers through the pool; else raise, saying why, within PING_SECONDS."""
        probe = asyncio.ensure_future(self._probe())
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)
        try:
            await asyncio.wait_for(asyncio.shield(probe), PING_SECONDS)
        except TimeoutError:
            raise TimeoutError(f"the database did not answer within {PING_SECONDS:g}s") from None
        finally:
            # Not awaited: a query cut short is cancelled on the server, which may take as long again when the
            # server does not answer either; the probe ends in the background.
            probe.cancel()

    async def _probe(self) -> None:
        try:
            async with self._pool.connection(timeout=PING_SECONDS / 2) as conn:
                await conn.execute("SELECT 1")
        except PoolTimeout:
            # No connection to lend (the database is down, or was and the pool is still reconnecting): a connection
            # of the ping's own says why (its error names the host or socket, never the password).
            fresh = await AsyncConnection.connect(self._url, autocommit=True)
            await fresh.close()
            raise PoolTimeout("the database answers again; the pool has not reconnected yet") from None

    async def close(self) -> None:
        await self._pool.close()


def _condition(rule: PurgeRule) -> str:
    where = f"{rule.column} = %(value)s AND {rule.since} < {AS_OF} - make_interval(secs => %(seconds)s::float8)"
    if rule.unclaimed:
        where += f" AND (replay_claimed_at IS NULL OR replay_claimed_at < {AS_OF} - make_interval(secs => %(claim)s))"
    return where


def _row(row: tuple[Any, ...]) -> HeldEvent:
    headers = row[8] if isinstance(row[8], dict) else json.loads(row[8])
    return HeldEvent(
        id=int(row[0]),
        received_at=float(row[1]),
        brand=row[2],
        status=row[3],
        http_status=int(row[4]),
        reason=row[5],
        authenticated=bool(row[6]),
        event_id=row[7],
        headers=headers,
        body=bytes(row[9]),
        replayed_at=None if row[10] is None else float(row[10]),
        replay_result=row[11],
    )
