"""`returns settings`: what the environment sets for a command, from the settings catalog (secrets: set or unset)."""

from __future__ import annotations

import argparse
from typing import Any

from engine.settings.catalog import READERS


def _settings(args: argparse.Namespace) -> int:
    from engine.settings.reference import describe

    print("\n".join(describe(args.command_name)))
    return 0


def add_commands(sub: Any) -> None:
    settings = sub.add_parser(
        "settings",
        help="the environment variables a command reads, as this environment sets them (secrets: set or unset)",
        description="Lists each setting the command reads (every one the engine's commands read when none is "
        "given) with its value here, `unset (default ...)`, or for a secret only `set`/`unset`. Every setting, "
        "its default and meaning: docs/deploy.md, or each command's --help.",
    )
    settings.add_argument("command_name", nargs="?", choices=[r for r in READERS if r != "compose"], metavar="command",
                          help="serve, worker, drift, events, flows, mappings, legacy, trace, codec-server, devserver "
                          "or demo")  # fmt: skip
    settings.set_defaults(func=_settings)
