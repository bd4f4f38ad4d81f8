"""The front door: a stranger's requests are answered, counted and never stored; size and rate limits hold before
anything is read or written; log lines cannot be forged from the path."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from temporalio.client import Client

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.ingest.limits import Limits, Rate, RateLimiter
from engine.ingest.receiver import Receiver
from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.ingest.store import EventStore, open_event_store
from engine.registry.client import NoDeployedMapping
from engine.registry.flows import flows_from

SECRET = "front-door-secret"
BODY = json.dumps({"order": {"reboundOrderId": "(00)1"}, "items": []}).encode()


def rows(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608
                for t in ("held_events", "accepted_events")}  # fmt: skip


@pytest.fixture
async def door(
    tmp_path: Path, flows: dict[str, FlowDef], mappings: dict[str, MappingDef]
) -> AsyncIterator[tuple[Receiver, Path]]:
    path = tmp_path / "events.sqlite"
    store = await open_event_store(f"sqlite:///{path}")

    async def lookup(name: str) -> MappingDef:
        if name not in mappings:
            raise NoDeployedMapping(name)
        return mappings[name]

    client = await Client.connect("127.0.0.1:1", lazy=True)  # never reached: nothing here passes authentication
    receiver = Receiver(client=client, flows=flows_from(flows), mappings=lookup, store=store, task_queue="door",
                        secrets={"castore": SECRET}.get, limits=Limits(max_body=64 * 1024))  # fmt: skip
    try:
        yield receiver, path
    finally:
        await store.close()


def http(receiver: Receiver, client: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=receiver.app(), client=(client, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://receiver")


async def test_ten_thousand_unauthenticated_requests_store_nothing(door: tuple[Receiver, Path]) -> None:
    receiver, path = door
    before = rows(path)
    now = int(time.time())
    big = b"x" * (64 * 1024 + 1)
    kinds = [
        ("castore", BODY, {}),  # no signature
        ("castore", BODY, {SIGNATURE_HEADER: "sha256=" + "0" * 64, TIMESTAMP_HEADER: str(now)}),  # forged
        ("castore", BODY, {SIGNATURE_HEADER: sign(SECRET, now - 3600, BODY), TIMESTAMP_HEADER: str(now - 3600)}),
        ("castore", BODY, {SIGNATURE_HEADER: sign("guess", now, BODY), TIMESTAMP_HEADER: str(now)}),
        ("nosuchbrand", BODY, {SIGNATURE_HEADER: sign(SECRET, now, BODY), TIMESTAMP_HEADER: str(now)}),
        ("ACME.CO", BODY, {}),  # not a brand name
        ("castore", big, {}),  # over the limit
    ]
    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    clients = [http(receiver, f"198.51.100.{n}") for n in range(1, 6)]  # five strangers, 2000 requests each
    try:
        for n in range(10_000):
            brand, body, headers = kinds[n % len(kinds)]
            response = await clients[n % len(clients)].post(f"/rebound/{brand}/events", content=body, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code == 429:
                retry_after.add(response.headers["retry-after"])
            assert "castore" not in response.text and "nosuchbrand" not in response.text  # nothing about brands
    finally:
        for c in clients:
            await c.aclose()
    print(f"10000 unauthenticated requests: {dict(sorted(statuses.items()))}; store {before} -> {rows(path)}")
    assert set(statuses) <= {401, 404, 413, 429} and sum(statuses.values()) == 10_000
    assert statuses[401] and statuses[404] and statuses[413] and statuses[429]  # each limit was met
    assert retry_after and all(int(s) >= 1 for s in retry_after)
    assert rows(path) == before == {"held_events": 0, "accepted_events": 0}
    assert await receiver.store.list() == []
    assert sum(receiver.refusals.values()) == 10_000


async def test_a_body_over_the_limit_is_refused_before_it_is_read(door: tuple[Receiver, Path]) -> None:
    receiver, path = door
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 16 MB offered in 16 KB chunks
            sent += 1
            yield b"x" * 16 * 1024

    async with http(receiver) as client:
        declared = await client.post("/rebound/castore/events", content=b"{}",
                                     headers={"Content-Length": str(10**9)})  # fmt: skip
        streamed = await client.post("/rebound/castore/events", content=chunks())  # chunked, no Content-Length
    assert declared.status_code == 413 and streamed.status_code == 413
    assert sent <= 6, f"read {sent} chunks of a body over a 64 KB limit"
    assert rows(path) == {"held_events": 0, "accepted_events": 0}


async def test_per_client_and_per_brand_rates_answer_429_with_retry_after(door: tuple[Receiver, Path]) -> None:
    receiver, _ = door
    receiver._per_client = RateLimiter(Rate(1.0, 3))  # three at once, then one a second
    async with http(receiver, "192.0.2.1") as noisy, http(receiver, "192.0.2.2") as quiet:
        answers = [(await noisy.post("/rebound/castore/events", content=BODY)).status_code for _ in range(5)]
        limited = await noisy.post("/rebound/castore/events", content=BODY)
        other = await quiet.post("/rebound/castore/events", content=BODY)
    assert answers == [401, 401, 401, 429, 429]
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert other.status_code == 401  # another client is not held back by the noisy one

    receiver._per_client = RateLimiter(Rate(0, 1))  # off
    receiver._per_brand = RateLimiter(Rate(0.5, 1))
    now = int(time.time())
    signed = {SIGNATURE_HEADER: sign(SECRET, now, b"{"), TIMESTAMP_HEADER: str(now)}
    forged = {SIGNATURE_HEADER: "sha256=" + "1" * 64, TIMESTAMP_HEADER: str(now)}
    async with http(receiver) as client:
        strangers = [(await client.post("/rebound/castore/events", content=b"{", headers=forged)).status_code
                     for _ in range(5)]  # fmt: skip
        first = await client.post("/rebound/castore/events", content=b"{", headers=signed)
        second = await client.post("/rebound/castore/events", content=b"{", headers=signed)
    assert strangers == [401] * 5  # strangers do not spend the brand's budget
    assert first.status_code == 400  # authenticated (held: not JSON)
    assert second.status_code == 429 and second.headers["retry-after"] == "2"
    assert len(await receiver.store.list()) == 1  # the 429 is not held: the sender retries it


async def test_a_path_cannot_forge_log_lines(door: tuple[Receiver, Path], caplog: pytest.LogCaptureFixture) -> None:
    receiver, _ = door
    caplog.set_level(logging.INFO, logger="engine.ingest")
    async with http(receiver, "10.0.0.1\nFAKE admin login") as client:
        response = await client.post("/rebound/evil%0A2026-12-04%20CRITICAL%20forged/events", content=BODY)
    assert response.status_code == 404
    lines = [r.getMessage() for r in caplog.records if "refused push" in r.getMessage()]
    assert lines and all("\n" not in line for line in lines), lines


def test_rate_limits_read_from_the_environment() -> None:
    limits = Limits.from_env({"RETURNS_RATE_PER_CLIENT": "20/200", "RETURNS_RATE_PER_BRAND": "0",
                              "RETURNS_MAX_BODY": "1024"})  # fmt: skip
    assert limits == Limits(1024, Rate(20.0, 200), Rate(0.0, 1))
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="RETURNS_RATE_PER_CLIENT"):
        Limits.from_env({"RETURNS_RATE_PER_CLIENT": "fast"})


async def test_store_is_untouched_by_strangers_on_postgres_too(postgres_url: str, door: tuple[Receiver, Path]) -> None:
    receiver, _ = door
    store: EventStore = await open_event_store(postgres_url)
    receiver.store = store
    try:
        async with http(receiver) as client:
            answers = [(await client.post(f"/rebound/{brand}/events", content=BODY)).status_code
                       for brand in ("castore", "nosuchbrand", "NOPE")]  # fmt: skip
        assert answers == [401, 401, 404]  # unsigned, unknown (told apart from unsigned by nothing), not a name
        assert await store.list() == [] and await store.counts() == {}
        with psycopg.connect(postgres_url) as conn:
            rows = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone() for t in ("held_events", "accepted_events")]
        assert rows == [(0,), (0,)]
    finally:
        await store.close()


async def test_an_authenticated_body_over_the_limit_from_the_pull_is_held_not_dropped(
    door: tuple[Receiver, Path],
) -> None:
    """The size limit guards the open door; a push the pull fetched from Rebound's API is already trusted."""
    receiver, _ = door
    big = b"{" + b" " * (64 * 1024 + 1)
    outcome = await receiver.ingest("castore", {}, big, authenticated=True)
    assert outcome.http_status == 400 and outcome.held_id is not None
    [held] = await receiver.store.list()
    assert held.body == big and held.authenticated
