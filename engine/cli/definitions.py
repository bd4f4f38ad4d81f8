"""Flows and mappings: validate before anything is deployed; deploy, history, rollback, diff and preview; a flow's
diagram (`flows graph`) is in engine.cli.graph."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import graph
from engine.cli.common import operator, reads, with_registry
from engine.errors import DefinitionError

if TYPE_CHECKING:
    from engine.registry.client import Registry


def _validate(paths: Sequence[str], loader: Callable[[Path], Any], fmt: str) -> int:
    problems = []
    for name in paths:
        try:
            loader(Path(name))
        except DefinitionError as err:
            problems.extend(err.problems)
    real = [p for p in problems if not p.skipped]
    if fmt == "json":
        print(json.dumps({"valid": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            print(problem)
        skipped = len(problems) - len(real)
        print(
            f"{len(paths)} file(s) checked, {len(real)} problem(s)"
            + (f"; {skipped} check(s) skipped" if skipped else "")
        )
    return 1 if problems else 0


@dataclass(frozen=True)
class _Kind:
    """What deploy, history and rollback need of one kind of definition; the same commands serve both kinds."""

    noun: str  # "mapping" or "flow": the command group is its plural
    key: str  # the argument naming one registry: "brand" or "name"
    load: Callable[[Path], Any]
    registry: Callable[[], Registry[Any, Any, Any, Any]]  # imported when a command runs, not when the CLI starts
    history_help: str
    rollback_help: str


def _load_mapping(path: Path) -> Any:
    from engine.definitions.mapping import load_mapping

    return load_mapping(path)


def _load_flow(path: Path) -> Any:
    from engine.definitions.flow import load_flow

    return load_flow(path)


def _mappings_registry() -> Registry[Any, Any, Any, Any]:
    from engine.registry.client import MAPPINGS

    return MAPPINGS


def _flows_registry() -> Registry[Any, Any, Any, Any]:
    from engine.registry.flows import FLOWS

    return FLOWS


_MAPPINGS = _Kind("mapping", "brand", _load_mapping, _mappings_registry,
                 history_help="a brand's deployed versions (* = active) and who did what",
                 rollback_help="make an earlier version active again")  # fmt: skip
_FLOWS = _Kind("flow", "name", _load_flow, _flows_registry,
              history_help="a flow's deployed versions (* = active) and who did what",
              rollback_help="make an earlier version of a flow active again")  # fmt: skip


def _validate_files(kind: _Kind, args: argparse.Namespace) -> int:
    return _validate(args.files, kind.load, args.format)


def _load_or_report(kind: _Kind, path: str) -> Any:
    try:
        return kind.load(Path(path))
    except DefinitionError as err:
        for problem in err.problems:
            print(problem)
        print(f"refused: the {kind.noun} is invalid; nothing was deployed")
        return None


def _label(registry: Registry[Any, Any, Any, Any], key: str) -> str:
    """How output names one registry: "castore", "flow return" (as the registry's own refusals do)."""
    return registry.workflow.label.format(key)


def _deploy(kind: _Kind, args: argparse.Namespace) -> int:
    from engine.registry.client import BrandRefused

    document = _load_or_report(kind, args.file)
    if document is None:
        return 1
    registry = kind.registry()

    async def work(client: Any) -> int:
        try:
            result = await registry.deploy(client, document, operator=operator(args), note=args.note)
        except BrandRefused as err:  # mappings: a brand name the receiver could not keep apart from another
            print(f"{document.source_file}: brand: {err}")
            print("refused: nothing was deployed")
            return 1
        label = _label(registry, registry.key(document))
        print(f"{label}: {result.message} (version {result.version}) by {operator(args)}")
        return 0

    return asyncio.run(with_registry(work))


def _history(kind: _Kind, args: argparse.Namespace) -> int:
    from engine.registry.client import NotDeployed

    registry = kind.registry()

    async def work(client: Any) -> int:
        try:
            h = await registry.history(client, getattr(args, kind.key))
        except NotDeployed as err:
            print(err)
            return 1
        for r in h.versions:
            mark = "*" if r.version == h.active else " "
            print(f"{mark} v{r.number}  {r.version}  {r.deployed_at}  {r.deployed_by}  {r.note}")
        for line in h.log:
            print(f"  {line}")
        return 0

    return asyncio.run(with_registry(work))


def _rollback(kind: _Kind, args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowUpdateFailedError

    registry = kind.registry()
    key = getattr(args, kind.key)

    async def work(client: Any) -> int:
        try:
            result = await registry.rollback(client, key, args.to, operator=operator(args), reason=args.reason)
        except WorkflowUpdateFailedError as err:
            print(f"refused: {err.cause.message if err.cause else err}")  # type: ignore[attr-defined]
            return 1
        print(f"{_label(registry, key)}: {result.message} (version {result.version})")
        return 0

    return asyncio.run(with_registry(work))


def _add_registry_commands(group: Any, kind: _Kind) -> None:
    """deploy, history and rollback, the same for every kind of definition."""
    deploy = group.add_parser("deploy", help="validate, then store an immutable version and make it active")
    deploy.add_argument("file")
    deploy.add_argument("--operator", help="who deploys (default: $USER)")
    deploy.add_argument("--note", default="", help="why")
    deploy.set_defaults(func=partial(_deploy, kind))
    history = group.add_parser("history", help=kind.history_help)
    history.add_argument(kind.key)
    history.set_defaults(func=partial(_history, kind))
    rollback = group.add_parser("rollback", help=kind.rollback_help)
    rollback.add_argument(kind.key)
    rollback.add_argument("--to", required=True, help="v2, 2 or a version hash")
    rollback.add_argument("--operator")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(func=partial(_rollback, kind))


def _compare(args: argparse.Namespace, *, diff: bool) -> int:
    from engine import preview
    from engine.registry.client import NoDeployedMapping, active

    proposed = _load_or_report(_MAPPINGS, args.file)
    if proposed is None:
        return 1
    if diff and proposed.brand != args.brand:
        print(f"{args.file} is for brand {proposed.brand!r}, not {args.brand!r}")
        return 1

    async def work(client: Any) -> int:
        try:
            current = (await active(client, proposed.brand)).mapping
        except NoDeployedMapping:
            current = None
            print(f"{proposed.brand}: nothing deployed yet; showing the proposed mapping alone")
        if diff:
            changes = preview.structural_diff(current, proposed)
            print("\n".join(changes) if changes else "no setting changes")
            print()
        samples = []
        if args.event:
            samples.append(preview.sample_from_payload(json.loads(Path(args.event).read_text()), proposed))
        if args.past:
            samples.extend(await preview.past_samples(client, proposed.brand, args.past))
        if not samples:
            print("no sample: pass --event FILE (a Rebound push with grades) and/or --past N")
            return 0
        print(preview.render(preview.compare(current, proposed, samples), current, proposed))
        return 0

    return asyncio.run(with_registry(work))


def _flows_diff(args: argparse.Namespace) -> int:
    from engine.definitions.flow import flow_changes
    from engine.registry.flows import NoDeployedFlow, active_flow

    proposed = _load_or_report(_FLOWS, args.file)
    if proposed is None:
        return 1

    async def work(client: Any) -> int:
        try:
            current = (await active_flow(client, proposed.name)).flow
        except NoDeployedFlow:
            print(f"flow {proposed.name}: nothing deployed yet; deploying would add it")
            return 0
        changes = flow_changes(current, proposed)
        print("\n".join(changes) if changes else "no changes")
        return 0

    return asyncio.run(with_registry(work))


def _flows_test(args: argparse.Namespace) -> int:
    from engine.settings import Settings

    try:
        from emulators.flow_tests import run_flow_tests  # the emulators: installed by `make`, never in production
    except ImportError as err:
        print(f"returns flows test needs the emulators ({err}): pip install ./emulators, or run `make test`")
        return 2
    settings = Settings.from_env()
    flows_dir = settings.flows_dir or Path("flows")
    mappings_dir = settings.mappings_dir or Path("mappings")
    paths = [Path(p) for p in args.files] or sorted((flows_dir / "tests").glob("*.yaml"))
    if not paths:
        print(f"no scenario files in {flows_dir / 'tests'}")
        return 2
    failed = asyncio.run(run_flow_tests(paths, flows_dir=flows_dir, mappings_dir=mappings_dir))
    return 2 if failed < 0 else (1 if failed else 0)


def add_commands(sub: Any) -> None:
    groups = {}
    for kind in (_FLOWS, _MAPPINGS):
        noun = f"{kind.noun}s"
        command = sub.add_parser(noun, help=f"{noun} tools", **reads("flows" if kind is _FLOWS else "mappings"))
        group = command.add_subparsers(dest="action", required=True)
        validate = group.add_parser("validate", help=f"validate {noun} files before deploying them")
        validate.add_argument("files", nargs="+")
        validate.add_argument("--format", choices=("text", "json"), default="text")
        validate.set_defaults(func=partial(_validate_files, kind))
        groups[noun] = group
    f = groups["flows"]
    _add_registry_commands(f, _FLOWS)
    fdiff = f.add_parser("diff", help="what a flow file changes against the flow's active version")
    fdiff.add_argument("file")
    fdiff.set_defaults(func=_flows_diff)
    ftest = f.add_parser(
        "test",
        help="run scenario files on the real engine (embedded Temporal, the Shopify emulator)",
        description="Drives each case of each scenario file (default: every file in <flows dir>/tests) through the "
        "flow and mapping it names, prints each return's timeline and what it did to Shopify, and exits 1 if any "
        "expectation is unmet (2 if a file does not validate). RETURNS_FLOWS_DIR and RETURNS_MAPPINGS_DIR say "
        "where flows and mappings named in the files are (default ./flows and ./mappings).",
    )
    ftest.add_argument("files", nargs="*")
    ftest.set_defaults(func=_flows_test)
    graph.add_command(f)
    m = groups["mappings"]
    _add_registry_commands(m, _MAPPINGS)
    for name, is_diff in (("diff", True), ("preview", False)):
        cmd = m.add_parser(name, help="settings changed and per-item outcomes, active vs proposed" if is_diff
                           else "per-item disposition, location and refund under active and proposed")  # fmt: skip
        if is_diff:
            cmd.add_argument("brand")
        cmd.add_argument("file")
        cmd.add_argument("--event", help="a Rebound push (JSON) with grades to preview")
        cmd.add_argument("--past", type=int, default=0, help="also preview the brand's N most recent returns")
        cmd.set_defaults(func=lambda a, d=is_diff: _compare(a, diff=d))
