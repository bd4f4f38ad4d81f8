"""`returns`: the one entry point (demo, worker, dev server, validation of flows and mappings)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.definitions.yamlfile import DefinitionError


def _validate(paths: Sequence[str], loader: Callable[[Path], Any], fmt: str) -> int:
    problems = []
    for name in paths:
        try:
            loader(Path(name))
        except DefinitionError as err:
            problems.extend(err.problems)
    if fmt == "json":
        print(json.dumps({"valid": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            print(problem)
        print(f"{len(paths)} file(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from engine.demo import run_demo

    try:
        return asyncio.run(run_demo(exit_after=args.exit))
    except KeyboardInterrupt:
        return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from engine.settings import Settings
    from engine.temporal.worker import run_worker

    asyncio.run(run_worker(Settings.from_env()))
    return 0


def _cmd_devserver(args: argparse.Namespace) -> int:
    from engine.settings import Settings
    from engine.temporal.devserver import start_dev_server

    async def serve() -> None:
        server = await start_dev_server(
            Settings.from_env().data_dir / "temporal.db", port=args.port, ui_port=args.ui_port
        )
        print(f"Temporal dev server on {server.address}, UI {server.ui_url}; Ctrl-C to stop", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_flows_validate(args: argparse.Namespace) -> int:
    from engine.definitions.flow import load_flow

    return _validate(args.files, load_flow, args.format)


def _cmd_mappings_validate(args: argparse.Namespace) -> int:
    from engine.definitions.mapping import load_mapping

    return _validate(args.files, load_mapping, args.format)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="returns", description="Rebound -> Shopify returns engine")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run everything locally and drive a batch of returns through")
    demo.add_argument("--exit", action="store_true", help="exit after the report (status 0 only if all is as expected)")
    demo.set_defaults(func=_cmd_demo)
    worker = sub.add_parser("worker", help="run a worker (TEMPORAL_ADDRESS, SHOPIFY_ENDPOINT, SHOPIFY_TOKEN__<SHOP>)")
    worker.set_defaults(func=_cmd_worker)
    dev = sub.add_parser("devserver", help="run the embedded Temporal dev server with the search attributes")
    dev.add_argument("--port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.set_defaults(func=_cmd_devserver)
    for noun, func in (("flows", _cmd_flows_validate), ("mappings", _cmd_mappings_validate)):
        group = sub.add_parser(noun, help=f"{noun} tools").add_subparsers(dest="action", required=True)
        validate = group.add_parser("validate", help=f"validate {noun} files before deploying them")
        validate.add_argument("files", nargs="+")
        validate.add_argument("--format", choices=("text", "json"), default="text")
        validate.set_defaults(func=func)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
