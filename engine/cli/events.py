"""Held Rebound pushes (`RETURNS_DATABASE_URL`, SQLite under `.data/` by default): list, show, replay, purge."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from engine.cli.common import reads, with_registry
from engine.definitions.durations import show_duration
from engine.ingest.store import HELD_STATUSES, EventStore

T = TypeVar("T")


def _with_store(work: Callable[[EventStore], Awaitable[T]]) -> T:
    from engine.ingest.store import open_event_store
    from engine.settings import Settings

    async def run() -> T:
        store = await open_event_store(Settings.from_env().event_store_url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _list(args: argparse.Namespace) -> int:
    async def work(store: EventStore) -> int:
        events = await store.list(status=args.status, brand=args.brand, limit=args.limit)
        for e in events:
            when = dt.datetime.fromtimestamp(e.received_at, dt.UTC).isoformat(timespec="seconds")
            print(f"{e.id:>6}  {when}  {e.brand:<10} {e.status:<9} {e.http_status}  {e.reason[:100]}")
        print(f"{len(events)} held event(s); by status: {await store.counts()}")
        return 0

    return _with_store(work)


def _show(args: argparse.Namespace) -> int:
    async def work(store: EventStore) -> int:
        held = await store.get(args.id)
        if held is None:
            print(f"no held event {args.id}")
            return 1
        shown: dict[str, Any] = {**held.__dict__, "body": held.body.decode("utf-8", "replace")}
        if held.status == "replayed" and not held.body:
            shown["body"] = None  # not an empty push: the body is only kept until the event is replayed
            shown["body_note"] = "cleared after replay (kept only until replayed)"
        print(json.dumps(shown, indent=2, default=str))
        return 0

    return _with_store(work)


def _replay(args: argparse.Namespace) -> int:
    """Replay held events through the receiver's pipeline, with the brand's active mapping."""
    from engine.ingest.receiver import Receiver
    from engine.registry.client import ActiveMappings
    from engine.registry.flows import ActiveFlows
    from engine.settings import Settings

    settings = Settings.from_env()

    async def replay_all(store: EventStore) -> int:
        listed = await store.list(status="failed", brand=args.brand, limit=10_000)
        ids = args.ids or [e.id for e in listed]

        async def work(client: Any) -> int:
            receiver = Receiver(
                client=client, flows=ActiveFlows(client).get, mappings=ActiveMappings(client).get,
                store=store, task_queue=settings.task_queue,
            )  # fmt: skip
            done = elsewhere = failed = 0
            for held_id in ids:
                outcome = await receiver.replay(held_id)
                if outcome.http_status in (200, 202):
                    done += 1
                elif outcome.http_status == 409:  # replayed already, or being replayed by another process now
                    elsewhere += 1
                else:
                    failed += 1
                print(f"{held_id}: {outcome.http_status} {outcome.body.get('status')} {outcome.body.get('reason', '')}")
            await receiver.drain()
            print(f"replayed {done}/{len(ids)}; {elsewhere} already replayed or in progress elsewhere; {failed} failed")
            return 1 if failed else 0

        return await with_registry(work)

    return _with_store(replay_all)


def _purge(args: argparse.Namespace) -> int:
    """Purge now what the retention policy no longer keeps (the worker's `events` role does it on a schedule)."""
    from engine.ingest.retention import PURGED_KINDS, RetentionPolicy

    policy = RetentionPolicy.from_env()

    async def work(store: EventStore) -> int:
        result = await store.purge(policy, dry_run=args.dry_run)
        verb = "would purge" if args.dry_run else "purged"
        for kind, figure in PURGED_KINDS:
            seconds = getattr(policy, f"{figure}_seconds")
            if seconds is None:
                print(f"{kind}: kept (never purged)")
            else:
                print(f"{kind}: {verb} {getattr(result, kind)} (older than {show_duration(seconds)})")
        return 0

    return _with_store(work)


def add_commands(sub: Any) -> None:
    group = sub.add_parser("events", help="held Rebound pushes", **reads("events"))
    events = group.add_subparsers(dest="action", required=True)
    listing = events.add_parser("list", help="held events (rejected, failed, late, replayed)")
    listing.add_argument("--status", choices=HELD_STATUSES)
    listing.add_argument("--brand")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=_list)
    show = events.add_parser("show", help="one held event, raw body and headers")
    show.add_argument("id", type=int)
    show.set_defaults(func=_show)
    replay = events.add_parser("replay", help="hand held events to Temporal again (default: every failed one)")
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--brand")
    replay.set_defaults(func=_replay)
    purge = events.add_parser(
        "purge",
        help="delete held events and accepted event ids past their retention",
        description="Rejected, late and replayed held events are kept RETURNS_HELD_RETENTION (default 30d), failed "
        "ones RETURNS_FAILED_RETENTION (default never: a failed push not replayed is the only copy), accepted event "
        "ids RETURNS_ACCEPTED_RETENTION (default 30d). Durations like 12h, 30d, 2w, or never. The worker's events "
        "role runs this on a schedule.",
    )
    purge.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    purge.set_defaults(func=_purge)
