"""What several commands share: the operator's name, a Temporal connection that serves the mapping registry."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any


def operator(args: argparse.Namespace) -> str:
    return str(getattr(args, "operator", None) or os.environ.get("USER") or "unknown")


async def with_registry(work: Callable[[Any], Awaitable[int]]) -> int:
    """Connect to Temporal and poll the registry queue ourselves, so the command works without a worker."""
    from engine.settings import Settings
    from engine.temporal.connection import connect
    from engine.workers.build import build_registry_worker

    settings = Settings.from_env()
    try:
        client = await connect(settings)
    except RuntimeError as err:
        print(f"cannot reach Temporal at {settings.temporal_address}: {err} (start it: returns devserver)")
        return 2
    async with build_registry_worker(client):
        return await work(client)
