"""Held events' life cycle: the retention policy, the store's purge on SQLite and on a real PostgreSQL, the body
cleared at replay, `returns events purge`, and the worker's `events` role with its Temporal Schedule."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from engine.cli import main
from engine.errors import ConfigError
from engine.ingest import sqlite_schema
from engine.ingest.purge import PURGE_SCHEDULE_ID
from engine.ingest.retention import PurgeResult, RetentionPolicy
from engine.ingest.store import Claimed, EventStore, open_event_store
from engine.roles.worker import WorkerConfig, parse_roles, serve
from engine.settings import Settings
from tests.stores import count_commits
from tests.test_event_store import held

DAY = 86400


def age(store_url: str, seconds: int) -> None:
    """Move every row written so far `seconds` into the past (as if the store had been running that long)."""
    if store_url.startswith("sqlite:///"):
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"), timeout=30)
        with db:
            db.execute("UPDATE held_events SET received_at = received_at - ?, replayed_at = replayed_at - ?",
                       (seconds, seconds))  # fmt: skip
            db.execute("UPDATE accepted_events SET accepted_at = accepted_at - ?", (seconds,))
        db.close()
        return
    with psycopg.connect(store_url, autocommit=True) as conn:
        shift = "make_interval(secs => %s::float8)"
        conn.execute(f"UPDATE held_events SET received_at = received_at - {shift}, replayed_at = replayed_at - {shift}",
                     (seconds, seconds))  # fmt: skip
        conn.execute(f"UPDATE accepted_events SET accepted_at = accepted_at - {shift}", (seconds,))


async def replayed(store: EventStore, held_id: int) -> None:
    assert isinstance(await store.claim_replay(held_id), Claimed)
    await store.mark_replayed(held_id, "202 accepted")


async def accepted(store: EventStore, event_id: str) -> None:
    assert await store.claim_event(event_id, "castore", "wf") == "claimed"
    await store.confirm_event(event_id)


async def test_old_rows_of_each_kind_go_recent_ones_stay_and_failed_ones_are_kept(
    store: EventStore, store_url: str
) -> None:
    old = {s: await store.hold(held(i, status=s)) for i, s in enumerate(("rejected", "late", "failed"))}
    old_replayed = await store.hold(held(3))
    await replayed(store, old_replayed)
    replayed_lately = await store.hold(held(4))  # held long ago, replayed today: counted from the replay
    await accepted(store, "ev-old")
    assert await store.claim_event("ev-delivering", "castore", "wf") == "claimed"  # never confirmed
    age(store_url, 31 * DAY)
    recent = {s: await store.hold(held(10 + i, status=s)) for i, s in enumerate(("rejected", "late", "failed"))}
    await replayed(store, replayed_lately)
    await accepted(store, "ev-recent")
    policy = RetentionPolicy()  # the defaults: held 30d, failed never, accepted 30d
    expected = PurgeResult(rejected=1, late=1, replayed=1, failed=0, accepted=1)

    assert await store.purge(policy, time.time(), dry_run=True) == expected
    assert sum((await store.counts()).values()) == 8  # a dry run deletes nothing
    assert await store.purge(policy, time.time()) == expected

    kept = {e.id for e in await store.list()}
    assert kept == {old["failed"], replayed_lately, *recent.values()}
    assert await store.claim_event("ev-old", "castore", "wf") == "claimed"  # its dedupe key is gone
    assert await store.claim_event("ev-recent", "castore", "wf") == "accepted"
    assert await store.claim_event("ev-delivering", "castore", "wf") == "in_flight"  # only accepted keys go
    assert await store.purge(policy) == PurgeResult()  # the store's own clock: nothing more is due


async def test_failed_events_go_only_when_opted_in_and_never_while_a_replay_holds_them(
    store: EventStore, store_url: str
) -> None:
    lost, being_replayed = await store.hold(held(1)), await store.hold(held(2))
    age(store_url, 8 * DAY)
    fresh = await store.hold(held(3))
    assert isinstance(await store.claim_replay(being_replayed), Claimed)
    assert (await store.purge(RetentionPolicy(), time.time())).failed == 0
    week = RetentionPolicy(failed_seconds=7 * DAY)
    assert await store.purge(week, time.time()) == PurgeResult(failed=1)
    assert {e.id for e in await store.list()} == {being_replayed, fresh}
    assert await store.get(lost) is None


async def test_a_replayed_event_keeps_no_body_and_only_its_content_type(store: EventStore) -> None:
    held_id = await store.hold(held(5))
    before = await store.get(held_id)
    assert before is not None and before.body and "X-Rebound-Timestamp" in before.headers
    await replayed(store, held_id)
    after = await store.get(held_id)
    assert after is not None and after.status == "replayed" and after.replay_result == "202 accepted"
    assert after.body == b"" and after.headers == {"Content-Type": "application/json"}


async def test_a_purge_larger_than_a_batch_deletes_every_row_in_several_batches(
    store: EventStore, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.gather(*(store.hold(held(i, status="rejected")) for i in range(25)))
    await asyncio.gather(*(accepted(store, f"ev-{i}") for i in range(12)))
    age(store_url, 40 * DAY)
    commits = count_commits(monkeypatch)
    result = await store.purge(RetentionPolicy(), time.time(), batch=10)
    assert result == PurgeResult(rejected=25, accepted=12)
    assert await store.list() == []
    if store_url.startswith("sqlite"):
        # one write per batch: 10 + 10 + 5 rejected, one (empty) for late and one for replayed, 10 + 2 accepted
        assert commits() == 3 + 1 + 1 + 2, commits()


async def test_a_sqlite_file_from_before_retention_is_migrated_and_its_replayed_bodies_cleared(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    old = sqlite3.connect(path)
    for _, script in sqlite_schema.MIGRATIONS[:2]:
        old.executescript(script)
    old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    old.execute("INSERT INTO schema_version VALUES (1), (2)")
    old.execute(
        "INSERT INTO held_events (received_at, brand, status, http_status, reason, authenticated, event_id, headers,"
        " body) VALUES (1.0, 'castore', 'replayed', 503, 'old', 1, 'ev-old', ?, x'7b7d')",
        (json.dumps({"Content-Type": "application/json", "X-Rebound-Signature": "sig"}),),
    )
    old.commit()
    old.close()
    store = await open_event_store(f"sqlite:///{path}")
    try:
        [kept] = await store.list()
        assert kept.body == b"" and kept.headers == {"Content-Type": "application/json"}
    finally:
        await store.close()
    indexes = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"held_events_received", "accepted_events_accepted"} <= indexes


def test_the_policy_comes_from_the_environment_and_a_bad_value_names_its_variable() -> None:
    assert RetentionPolicy.from_env({}) == RetentionPolicy(held_seconds=30 * DAY, failed_seconds=None,
                                                           accepted_seconds=30 * DAY)  # fmt: skip
    assert RetentionPolicy().describe() == "held 30d, failed kept, accepted 30d"
    custom = RetentionPolicy.from_env(
        {"RETURNS_HELD_RETENTION": "12h", "RETURNS_FAILED_RETENTION": "2w", "RETURNS_ACCEPTED_RETENTION": "never"}
    )
    assert custom == RetentionPolicy(held_seconds=12 * 3600, failed_seconds=14 * DAY, accepted_seconds=None)
    assert custom.describe() == "held 12h, failed 14d, accepted kept"
    for name, value in (("RETURNS_HELD_RETENTION", "30 days"), ("RETURNS_FAILED_RETENTION", "0d")):
        with pytest.raises(ConfigError, match=name):
            RetentionPolicy.from_env({name: value})


def test_the_purge_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_PURGE_EVERY", "15m")
    assert WorkerConfig.from_env("events").purge_every == timedelta(minutes=15)
    monkeypatch.setenv("RETURNS_PURGE_EVERY", "hourly")
    with pytest.raises(ConfigError, match="RETURNS_PURGE_EVERY='hourly'"):
        WorkerConfig.from_env("events")
    assert parse_roles("all")[-1] == "events" and parse_roles("events") == ("events",)


def test_returns_events_purge_prints_a_count_per_kind_and_show_says_the_body_was_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)
    monkeypatch.setenv("RETURNS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RETURNS_HELD_RETENTION", "7d")
    url = Settings.from_env().event_store_url

    async def setup() -> int:
        store = await open_event_store(url)
        try:
            await store.hold(held(1, status="rejected"))
            await store.hold(held(2, status="failed"))
            done = await store.hold(held(3))
            await replayed(store, done)
            await accepted(store, "ev-9")
            age(url, 8 * DAY)
            await store.hold(held(4, status="rejected"))
            return done
        finally:
            await store.close()

    done = asyncio.run(setup())
    assert main(["events", "show", str(done)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["body"] is None and shown["body_note"] == "cleared after replay (kept only until replayed)"

    assert main(["events", "purge", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "rejected: would purge 1 (older than 7d)",
        "late: would purge 0 (older than 7d)",
        "replayed: would purge 1 (older than 7d)",
        "failed: kept (never purged)",
        "accepted: would purge 0 (older than 30d)",
    ]
    assert main(["events", "purge"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "rejected: purged 1 (older than 7d)",
        "late: purged 0 (older than 7d)",
        "replayed: purged 1 (older than 7d)",
    ]
    assert main(["events", "list"]) == 0
    assert "2 held event(s); by status: {'failed': 1, 'rejected': 1}" in capsys.readouterr().out

    monkeypatch.setenv("RETURNS_ACCEPTED_RETENTION", "a month")
    assert main(["events", "purge"]) == 2
    assert "RETURNS_ACCEPTED_RETENTION='a month' is not a duration" in capsys.readouterr().err


async def test_the_worker_s_events_role_creates_the_schedule_and_a_run_purges_the_store(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    schedule = client.get_schedule_handle(PURGE_SCHEDULE_ID)
    try:  # one schedule per namespace: a worker of another test may have left one
        await schedule.delete()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    (tmp_path / "mappings").mkdir()
    settings = Settings(temporal_address="test", mappings_dir=tmp_path / "mappings", data_dir=tmp_path / "data")
    store = await open_event_store(settings.event_store_url)
    old = await store.hold(held(1, status="late"))
    age(settings.event_store_url, 31 * DAY)
    recent = await store.hold(held(2, status="late"))

    config = WorkerConfig(roles=("events",), events_task_queue=f"events-{uuid.uuid4()}")
    lines: list[str] = []
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(client, settings, config, stop, say=lines.append))
    try:
        while "ready; SIGINT or SIGTERM to stop" not in lines:
            assert not worker.done(), lines
            await asyncio.sleep(0.05)
        assert "  events: purge every 1h (held 30d, failed kept, accepted 30d); schedule events-purge" in lines
        described = await schedule.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        assert described.schedule.action.task_queue == config.events_task_queue

        await schedule.trigger()
        for _ in range(100):
            actions = (await schedule.describe()).info.recent_actions
            if actions:
                break
            await asyncio.sleep(0.1)
        run = client.get_workflow_handle(actions[0].action.workflow_id,
                                         run_id=actions[0].action.first_execution_run_id)  # fmt: skip
        result = PurgeResult(**await asyncio.wait_for(run.result(), 30))
        assert result == PurgeResult(late=1)
        assert [e.id for e in await store.list()] == [recent] and await store.get(old) is None
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
        await store.close()
        await schedule.delete()
