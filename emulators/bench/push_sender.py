"""The sending side of the receiver bench: one long-lived process (the bench starts several) that drives both sides
with as little work per push as it can, so that what the bench measures is the receiver and Temporal, not this.

Everything a push needs is built before the clock starts: for the receiver, each push's whole HTTP/1.1 request
(the body signed as Rebound signs it, `engine.ingest.signatures.sign`) in bytes, written on raw keep-alive
connections (asyncio streams, one per request in flight) and the answer read back by its Content-Length; for the
bare side, each push's `SignalWithStartWorkflowExecutionRequest` (payload encoded, request id set), handed to the
Temporal client's service call as it is. During the timed part the sender only writes bytes and reads answers.

Driven over stdin/stdout, one JSON object a line, so the bench can read every process's CPU from the OS between
the moment all senders are ready and the moment all are done:

    {"cmd": "prepare", "mode": "receiver", "file": ..., "url": "http://127.0.0.1:8000", "brand": "castore",
     "concurrency": 12}                                               -> {"ready": true}
    {"cmd": "prepare", "mode": "bare", "file": ..., "address": "127.0.0.1:7233", "concurrency": 12}
                                                                      -> {"ready": true}
    {"cmd": "go"}                                                     -> {"seconds": ..., "statuses": {...}}
    {"cmd": "quit"} (or end of input)

`file`: JSON, a list of waves, each a list of Rebound push bodies; waves go in order (every return's first push
before any second), `concurrency` requests in flight. The HMAC secret is read from BENCH_SECRET.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from temporalio.api.workflowservice.v1 import SignalWithStartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from engine.ingest.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

BARE_TASK_QUEUE = "bench-bare-nobody"


def http_request(host: str, path: str, secret: str, payload: dict[str, Any]) -> bytes:
    """One push as Rebound sends it (the Rebound emulator's `push`: json.dumps, signed now), keep-alive."""
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{SIGNATURE_HEADER}: {sign(secret, stamp, body)}\r\n{TIMESTAMP_HEADER}: {stamp}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


class Sender:
    def __init__(self) -> None:
        self.client: Client | None = None
        self.waves: list[list[Any]] = []
        self.concurrency = 1
        self.mode = ""
        self.connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def prepare(self, order: dict[str, Any]) -> None:
        pushes: list[list[dict[str, Any]]] = json.loads(Path(order["file"]).read_text())
        self.mode, self.concurrency = order["mode"], int(order["concurrency"])
        await self._close()
        if self.mode == "receiver":
            url = urlsplit(order["url"])
            path, secret = f"/rebound/{order['brand']}/events", os.environ["BENCH_SECRET"]
            self.waves = [[http_request(url.netloc, path, secret, p) for p in wave] for wave in pushes]
            for _ in range(self.concurrency):
                self.connections.append(await asyncio.open_connection(url.hostname, url.port))
        else:
            if self.client is None:
                self.client = await Client.connect(order["address"])
            self.waves = [[self._signal_with_start(p) for p in wave] for wave in pushes]

    def _signal_with_start(self, payload: dict[str, Any]) -> SignalWithStartWorkflowExecutionRequest:
        """What `Client.start_workflow("BareTarget", ..., start_signal="event")` sends (its defaults), built now
        rather than per call."""
        assert self.client is not None
        req = SignalWithStartWorkflowExecutionRequest(
            namespace=self.client.namespace,
            workflow_id=f"bare-{payload['order']['reboundOrderId']}",
            signal_name="event",
            identity=self.client.identity,
            request_id=str(uuid.uuid4()),
            workflow_id_reuse_policy=int(WorkflowIDReusePolicy.ALLOW_DUPLICATE),  # type: ignore[arg-type]
        )
        req.workflow_type.name = "BareTarget"
        req.task_queue.name = BARE_TASK_QUEUE
        req.signal_input.payloads.extend(self.client.data_converter.payload_converter.to_payloads([payload]))
        return req

    async def go(self) -> dict[str, Any]:
        statuses: Counter[int] = Counter()

        async def post(pending: Iterator[Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            for request in pending:
                statuses[await _exchange(reader, writer, request)] += 1

        async def signal(pending: Iterator[Any]) -> None:
            assert self.client is not None
            for req in pending:
                await self.client.workflow_service.signal_with_start_workflow_execution(req, retry=True)
                statuses[200] += 1

        started = time.monotonic()
        for wave in self.waves:
            pending = iter(wave)  # shared by the requests in flight: each takes the next push when it is free
            if self.mode == "receiver":
                await asyncio.gather(*(post(pending, r, w) for r, w in self.connections))
            else:
                await asyncio.gather(*(signal(pending) for _ in range(self.concurrency)))
        seconds = time.monotonic() - started
        return {"seconds": seconds, "statuses": {str(k): v for k, v in statuses.items()}}

    async def _close(self) -> None:
        for _, writer in self.connections:
            writer.close()
        self.connections = []


async def serve_orders() -> None:
    sender = Sender()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line.strip():
            break
        order = json.loads(line)
        if order["cmd"] == "quit":
            break
        if order["cmd"] == "prepare":
            await sender.prepare(order)
            answer: dict[str, Any] = {"ready": True}
        else:
            answer = await sender.go()
        print(json.dumps(answer), flush=True)


def main() -> None:
    asyncio.run(serve_orders())
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: the Temporal client's runtime once aborted the process there


if __name__ == "__main__":
    main()
