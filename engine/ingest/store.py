"""Held events: every push the receiver could not hand to Temporal (rejected or failed) is kept, with its raw
body and headers, until it is replayed. Accepted event ids are kept too, to acknowledge duplicates cheaply.

The embedded default is SQLite under .data/ (WAL, one file, safe for several receiver processes on one
machine). Several receivers on several machines need a shared database: the same two tables on Postgres
(the class's SQL is plain), which is what production should use.
"""

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS held_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    brand TEXT NOT NULL,
    status TEXT NOT NULL,          -- rejected | failed | late | replayed
    http_status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    authenticated INTEGER NOT NULL,
    event_id TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    replayed_at REAL,
    replay_result TEXT
);
CREATE TABLE IF NOT EXISTS accepted_events (
    event_id TEXT PRIMARY KEY,
    brand TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
"""

KEPT_HEADERS = ("content-type", "x-rebound-signature", "x-rebound-timestamp", "user-agent")


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


class EventStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged hold survives a power cut
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def hold(
        self,
        *,
        brand: str,
        status: str,
        http_status: int,
        reason: str,
        headers: dict[str, str],
        body: bytes,
        authenticated: bool,
        event_id: str | None = None,
    ) -> int:
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}  # never Authorization
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO held_events (received_at, brand, status, http_status, reason, authenticated, event_id,"
                " headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    brand,
                    status,
                    http_status,
                    reason[:2000],
                    int(authenticated),
                    event_id,
                    json.dumps(kept),
                    body,
                ),
            )
        return int(cursor.lastrowid or 0)

    def accepted(self, event_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM accepted_events WHERE event_id = ?", (event_id,)).fetchone()
        return row is not None

    def mark_accepted(self, event_id: str, brand: str, workflow_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO accepted_events (event_id, brand, workflow_id, accepted_at) VALUES (?, ?, ?, ?)",
                (event_id, brand, workflow_id, time.time()),
            )

    def mark_replayed(self, held_id: int, result: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE held_events SET status = 'replayed', replayed_at = ?, replay_result = ? WHERE id = ?",
                (time.time(), result, held_id),
            )

    def note_replay_attempt(self, held_id: int, result: str) -> None:
        with self._lock:
            self._db.execute("UPDATE held_events SET replay_result = ? WHERE id = ?", (result, held_id))

    def list(self, *, status: str | None = None, brand: str | None = None, limit: int = 100) -> list[HeldEvent]:
        query = "SELECT * FROM held_events WHERE 1=1"
        args: list[object] = []
        if status:
            query += " AND status = ?"
            args.append(status)
        if brand:
            query += " AND brand = ?"
            args.append(brand)
        query += " ORDER BY id LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [self._row(r) for r in rows]

    def get(self, held_id: int) -> HeldEvent | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM held_events WHERE id = ?", (held_id,)).fetchone()
        return self._row(row) if row else None

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM held_events GROUP BY status").fetchall()
        return {status: n for status, n in rows}

    @staticmethod
    def _row(row: tuple) -> HeldEvent:
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
