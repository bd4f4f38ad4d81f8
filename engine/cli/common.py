"""What several commands share: the operator's name, a Temporal connection that serves the mapping registry, and
the settings each command's `--help` lists (generated from the settings catalog)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from engine.settings.catalog import Reader
from engine.settings.environment import env_given


def operator(args: argparse.Namespace) -> str:
    return str(getattr(args, "operator", None) or env_given("USER"))


class HelpFormatter(argparse.HelpFormatter):
    """Fills descriptions as argparse does; an epilog already laid out (the settings a command reads) is kept."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def reads(reader: Reader) -> dict[str, Any]:
    """`add_parser` arguments: a `--help` that ends with the settings this command reads."""
    from engine.settings.reference import help_epilog

    return {"epilog": help_epilog(reader), "formatter_class": HelpFormatter}


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
