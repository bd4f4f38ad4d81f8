"""`returns`: the one entry point. Production: `serve` (the push receiver) and `worker` (every queue and schedule);
the embedded default: `devserver` and `demo`; definitions: `flows|mappings validate|deploy|history|rollback|diff`,
`flows graph|test`, `mappings preview`; held pushes: `events list|show|replay|purge`; reconciliation: `drift`; looking
inside: `trace`, `codec-server`, `settings`; retiring the first workflow: `legacy status`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from engine.cli import definitions, drift, events, legacy, run, settings, telemetry


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="returns", description="Rebound -> Shopify returns engine")
    sub = p.add_subparsers(dest="command", required=True)
    run.add_commands(sub)
    definitions.add_commands(sub)
    events.add_commands(sub)
    drift.add_commands(sub)
    telemetry.add_commands(sub)
    legacy.add_commands(sub)
    settings.add_commands(sub)
    return p


# Commands that run a Temporal worker or client in-process: the SDK's native runtime can abort or crash while the
# interpreter finalizes, after the work is done and printed (seen: SIGABRT, SIGSEGV; `legacy status` with a client
# alone), turning a clean stop into a failure. They end with os._exit once their output is flushed.
HARD_EXIT = {"worker", "mappings", "events", "drift", "legacy"}


def main(argv: Sequence[str] | None = None) -> int:
    from engine.errors import ConfigError

    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:  # a missing or wrong setting: one line naming it, no traceback
        print(f"returns {args.command}: {err}", file=sys.stderr)
        code = 2
    if (
        argv is None
        and (
            args.command in HARD_EXIT
            or getattr(args, "action", None) in ("deploy", "history", "rollback", "diff", "test", "graph")
        )
        and getattr(args, "action", None) not in ("validate", "list", "show")
    ):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
