"""The embedded event store's schema: its tables, as a list of migrations each file is brought through in turn
(version 1 is the layout of files written before versioning)."""

from __future__ import annotations

import sqlite3

from engine.ingest.store import KEPT_AFTER_REPLAY

# A replayed event's headers, reduced to Content-Type (whatever its case).
HEADERS_AFTER_REPLAY = (
    "(SELECT json_group_object(key, value) FROM json_each(held_events.headers)"
    f" WHERE lower(key) = '{KEPT_AFTER_REPLAY}')"
)

# Each step takes the schema from the previous one; version 1 is the layout of files written before versioning.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
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
        """,
    ),
    (
        2,
        """
        ALTER TABLE held_events ADD COLUMN replay_claimed_at REAL;
        CREATE INDEX IF NOT EXISTS held_events_status ON held_events (status, id);
        ALTER TABLE accepted_events ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted';
        ALTER TABLE accepted_events ADD COLUMN claimed_at REAL
        """,
    ),
    (
        3,
        f"""
        CREATE INDEX IF NOT EXISTS held_events_received ON held_events (status, received_at);
        CREATE INDEX IF NOT EXISTS accepted_events_accepted ON accepted_events (state, accepted_at);
        UPDATE held_events SET body = x'', headers = {HEADERS_AFTER_REPLAY} WHERE status = 'replayed'
        """,
    ),
]

COLUMNS = (
    "id, received_at, brand, status, http_status, reason, authenticated, event_id, headers, body, replayed_at,"
    " replay_result"
)


def migrate(db: sqlite3.Connection) -> int:
    """Bring the file to the newest schema; several processes opening it at once take turns (BEGIN IMMEDIATE)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        for version, script in MIGRATIONS:
            if version > current:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                current = version
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return current
