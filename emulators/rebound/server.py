"""Rebound's side, over HTTP: every milestone of every return is published (kept for the pull API) and
pushed, signed, to the engine's receiver, with the delivery faults real pushes have: dropped, duplicated,
reordered, delayed.

Pull API (bearer token, as Rebound's OAuth2 client-credentials API would give):
`GET /api/v2/returns?brand=castore&updatedSince=<ISO>&limit=100&cursor=<n>` -> returns updated since then,
oldest first, each with every milestone payload so far, and `nextCursor` while there are more.
"""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.ingest.serve import AppServer
from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


@dataclass
class ReturnRecord:
    brand: str
    rebound_order_id: str
    updated_at: str
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PushFaults:
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_window: int = 0  # shuffle pushes within windows of this size
    delay_seconds: float = 0.0
    seed: int = 1
    retries: int = 0  # a push answered 5xx or not at all is sent again, up to this many times (then lost)
    retry_wait: float = 1.0  # seconds before the first retry, doubling
    reorder_rate: float = 0.0  # this share of pushes is held back and sent after the next few (out of order)


@dataclass
class PushStats:
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    dropped_ids: list[str] = field(default_factory=list)
    retried: int = 0  # sends that failed (5xx, refused) and were tried again
    undelivered: int = 0  # pushes given up after every retry: the pull must catch them
    reordered: int = 0


class ReboundEmulator:
    def __init__(self, *, api_token: str, secrets: dict[str, str]) -> None:
        self.api_token = api_token
        self.secrets = secrets
        self.returns: dict[str, ReturnRecord] = {}
        self.stats = PushStats()
        self.milestones = 0  # published, pushed or not (progress lines count them)
        self._server: AppServer | None = None
        self.base_url = ""

    # -- Rebound's record of what happened --------------------------------------------------------------

    def publish(self, brand: str, payload: dict[str, Any]) -> None:
        """A milestone happened: Rebound records it (the pull API will show it) whether or not a push arrives."""
        rid = str(payload["order"]["reboundOrderId"])
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        record = self.returns.setdefault(rid, ReturnRecord(brand, rid, now))
        record.events.append(payload)
        record.updated_at = now
        self.milestones += 1

    # -- pushes ------------------------------------------------------------------------------------------

    async def push_all(
        self,
        receiver_url: str,
        pushes: list[tuple[str, dict[str, Any]]],
        faults: PushFaults | None = None,
        *,
        on_publish: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> PushStats:
        """Each milestone happens at Rebound (published; ``on_publish`` plays what else happens then, such as
        Rebound's app refunding), then is pushed subject to the faults. With a reorder window, the window's
        milestones happen in order and their pushes arrive shuffled."""
        faults = faults or PushFaults()
        rng = random.Random(faults.seed)
        size = max(faults.reorder_window, 1)
        async with httpx.AsyncClient(timeout=30) as http:
            for start in range(0, len(pushes), size):
                planned: list[tuple[str, dict[str, Any]]] = []
                for brand, payload in pushes[start : start + size]:
                    self.publish(brand, payload)
                    if on_publish is not None:
                        on_publish(brand, payload)
                    if rng.random() < faults.drop_rate:
                        self.stats.dropped += 1
                        self.stats.dropped_ids.append(str(payload["order"]["reboundOrderId"]))
                        continue
                    planned.append((brand, payload))
                    if rng.random() < faults.duplicate_rate:
                        self.stats.duplicated += 1
                        planned.append((brand, payload))
                rng.shuffle(planned)
                for brand, payload in planned:
                    if faults.delay_seconds:
                        await asyncio.sleep(faults.delay_seconds)
                    await self.deliver(http, receiver_url, brand, payload, faults)
        return self.stats

    async def push_stream(
        self,
        receiver_url: str,
        pushes: list[tuple[str, dict[str, Any]]],
        faults: PushFaults,
        *,
        on_publish: Callable[[str, dict[str, Any]], None] | None = None,
        in_flight: int = 16,
    ) -> PushStats:
        """Pushes as a busy Rebound sends them: several at once, each milestone published when it happens; some
        lost, some sent twice, some held back behind the next few (they arrive out of order), failed sends retried
        with backoff. Seeded: the same seed gives the same faults."""
        rng = random.Random(faults.seed)
        queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue(maxsize=in_flight * 2)
        late: list[tuple[int, tuple[str, dict[str, Any]]]] = []  # (due after this many more pushes, push)

        async def sender(http: httpx.AsyncClient) -> None:
            while (item := await queue.get()) is not None:
                await self.deliver(http, receiver_url, item[0], item[1], faults)

        async with httpx.AsyncClient(timeout=30) as http:
            senders = [asyncio.create_task(sender(http)) for _ in range(in_flight)]
            for brand, payload in pushes:
                self.publish(brand, payload)
                if on_publish is not None:
                    on_publish(brand, payload)
                due = [p for n, p in late if n <= 0]
                late = [(n - 1, p) for n, p in late if n > 0]
                if rng.random() < faults.drop_rate:
                    self.stats.dropped += 1
                    self.stats.dropped_ids.append(str(payload["order"]["reboundOrderId"]))
                elif rng.random() < faults.reorder_rate:
                    self.stats.reordered += 1
                    late.append((rng.randint(1, 4), (brand, payload)))
                else:
                    await queue.put((brand, payload))
                    if rng.random() < faults.duplicate_rate:
                        self.stats.duplicated += 1
                        late.append((rng.randint(0, 4), (brand, payload)))
                for item in due:
                    await queue.put(item)
            for _, item in late:
                await queue.put(item)
            for _ in senders:
                await queue.put(None)
            await asyncio.gather(*senders)
        return self.stats

    async def deliver(
        self, http: httpx.AsyncClient, receiver_url: str, brand: str, payload: dict[str, Any], faults: PushFaults
    ) -> None:
        """Send one push; retry a 5xx, a 429 or a failed connection as a webhook sender does, then give it up."""
        wait = faults.retry_wait
        for attempt in range(faults.retries + 1):
            try:
                status = await self.push(http, receiver_url, brand, payload)
            except httpx.TransportError:
                status = 0
            if status and status < 500 and status != 429:
                return
            if attempt < faults.retries:
                self.stats.retried += 1
                await asyncio.sleep(wait)
                wait = min(wait * 2, 30.0)
        self.stats.undelivered += 1

    async def push(self, http: httpx.AsyncClient, receiver_url: str, brand: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secrets[brand], stamp, body),
            TIMESTAMP_HEADER: str(stamp),
        }
        response = await http.post(f"{receiver_url}/rebound/{brand}/events", content=body, headers=headers)
        self.stats.sent += 1
        self.stats.statuses[response.status_code] += 1
        return response.status_code

    # -- pull API ----------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v2/returns", self._list_returns, methods=["GET"])])

    async def _list_returns(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.api_token}":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        brand = request.query_params.get("brand", "")
        since = request.query_params.get("updatedSince", "")
        try:
            limit = min(int(request.query_params.get("limit", "100")), 500)
            offset = int(request.query_params.get("cursor", "0"))
        except ValueError:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        rows = sorted(
            (r for r in self.returns.values() if r.brand == brand and r.updated_at >= since),
            key=lambda r: (r.updated_at, r.rebound_order_id),
        )
        page = rows[offset : offset + limit]
        body: dict[str, Any] = {
            "returns": [
                {"reboundOrderId": r.rebound_order_id, "brand": r.brand, "updatedAt": r.updated_at, "events": r.events}
                for r in page
            ],
            "nextCursor": str(offset + limit) if offset + limit < len(rows) else None,
        }
        return JSONResponse(body)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = AppServer(self.app(), host, port)
        self.base_url = await self._server.start()
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None
