"""The sending side of the receiver bench, in its own process: Rebound's pushes signed and posted to a receiver,
or (``--bare``) the same events handed straight to Temporal with a bare signal-with-start. Waves in order (every
return's registration, then every carrier scan, ...), `--concurrency` requests in flight; prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from emulators.rebound.server import ReboundEmulator


async def _waves(waves: list[list[dict[str, Any]]], concurrency: int, send: Any) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(payload: dict[str, Any]) -> None:
        async with gate:
            await send(payload)

    started = time.monotonic()
    for wave in waves:
        await asyncio.gather(*(one(p) for p in wave))
    return time.monotonic() - started


async def receiver(
    url: str, brand: str, secret: str, waves: list[list[dict[str, Any]]], concurrency: int
) -> dict[str, Any]:
    """Signed as Rebound signs them (the Rebound emulator's own `push`)."""
    rebound = ReboundEmulator(api_token="", secrets={brand: secret})
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def send(payload: dict[str, Any]) -> None:
            await rebound.push(http, url, brand, payload)

        seconds = await _waves(waves, concurrency, send)
    return {"seconds": seconds, "statuses": dict(rebound.stats.statuses)}


async def bare(address: str, waves: list[list[dict[str, Any]]], concurrency: int) -> dict[str, Any]:
    client = await Client.connect(address)

    async def send(payload: dict[str, Any]) -> None:
        rid = str(payload["order"]["reboundOrderId"])
        await client.start_workflow("BareTarget", id=f"bare-{rid}", task_queue="bench-bare-nobody",
                                    start_signal="event", start_signal_args=[payload])  # fmt: skip

    return {"seconds": await _waves(waves, concurrency, send), "statuses": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pushes", type=Path, help="JSON: a list of waves, each a list of Rebound push bodies")
    parser.add_argument("--url", help="the receiver's base URL (pushes go to <url>/rebound/<brand>/events)")
    parser.add_argument("--brand", default="castore")
    parser.add_argument("--bare", metavar="ADDRESS", help="signal-with-start straight to this Temporal instead")
    parser.add_argument("--concurrency", type=int, default=25)
    args = parser.parse_args()
    waves = json.loads(args.pushes.read_text())
    if args.bare:
        result = asyncio.run(bare(args.bare, waves, args.concurrency))
    else:
        result = asyncio.run(receiver(args.url, args.brand, os.environ["BENCH_SECRET"], waves, args.concurrency))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
