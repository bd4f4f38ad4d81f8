"""Flows and mappings: validate before anything is deployed; deploy, history, rollback, diff and preview."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.cli.common import operator, with_registry
from engine.errors import DefinitionError


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


def _flows_validate(args: argparse.Namespace) -> int:
    from engine.definitions.flow import load_flow

    return _validate(args.files, load_flow, args.format)


def _mappings_validate(args: argparse.Namespace) -> int:
    from engine.definitions.mapping import load_mapping

    return _validate(args.files, load_mapping, args.format)


def _load_or_report(path: str) -> Any:
    from engine.definitions.mapping import load_mapping

    try:
        return load_mapping(Path(path))
    except DefinitionError as err:
        for problem in err.problems:
            print(problem)
        print("refused: the mapping is invalid; nothing was deployed")
        return None


def _deploy(args: argparse.Namespace) -> int:
    from engine.registry.client import BrandRefused, deploy

    mapping = _load_or_report(args.file)
    if mapping is None:
        return 1

    async def work(client: Any) -> int:
        try:
            result = await deploy(client, mapping, operator=operator(args), note=args.note)
        except BrandRefused as err:
            print(f"{mapping.source_file}: brand: {err}")
            print("refused: nothing was deployed")
            return 1
        print(f"{mapping.brand}: {result.message} (version {result.version}) by {operator(args)}")
        return 0

    return asyncio.run(with_registry(work))


def _history(args: argparse.Namespace) -> int:
    from engine.registry.client import NoDeployedMapping, history

    async def work(client: Any) -> int:
        try:
            h = await history(client, args.brand)
        except NoDeployedMapping as err:
            print(err)
            return 1
        for r in h.versions:
            mark = "*" if r.version == h.active else " "
            print(f"{mark} v{r.number}  {r.version}  {r.deployed_at}  {r.deployed_by}  {r.note}")
        for line in h.log:
            print(f"  {line}")
        return 0

    return asyncio.run(with_registry(work))


def _rollback(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowUpdateFailedError

    from engine.registry.client import rollback

    async def work(client: Any) -> int:
        try:
            result = await rollback(client, args.brand, args.to, operator=operator(args), reason=args.reason)
        except WorkflowUpdateFailedError as err:
            print(f"refused: {err.cause.message if err.cause else err}")  # type: ignore[attr-defined]
            return 1
        print(f"{args.brand}: {result.message} (version {result.version})")
        return 0

    return asyncio.run(with_registry(work))


def _compare(args: argparse.Namespace, *, diff: bool) -> int:
    from engine import preview
    from engine.registry.client import NoDeployedMapping, active

    proposed = _load_or_report(args.file)
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


def _load_flow_or_report(path: str) -> Any:
    from engine.definitions.flow import load_flow

    try:
        return load_flow(Path(path))
    except DefinitionError as err:
        for problem in err.problems:
            print(problem)
        print("refused: the flow is invalid; nothing was deployed")
        return None


def _flows_deploy(args: argparse.Namespace) -> int:
    from engine.registry.flows import deploy_flow

    flow = _load_flow_or_report(args.file)
    if flow is None:
        return 1

    async def work(client: Any) -> int:
        result = await deploy_flow(client, flow, operator=operator(args), note=args.note)
        print(f"flow {flow.name}: {result.message} (version {result.version}) by {operator(args)}")
        return 0

    return asyncio.run(with_registry(work))


def _flows_history(args: argparse.Namespace) -> int:
    from engine.registry.flows import NoDeployedFlow, flow_history

    async def work(client: Any) -> int:
        try:
            h = await flow_history(client, args.name)
        except NoDeployedFlow as err:
            print(err)
            return 1
        for r in h.versions:
            mark = "*" if r.version == h.active else " "
            print(f"{mark} v{r.number}  {r.version}  {r.deployed_at}  {r.deployed_by}  {r.note}")
        for line in h.log:
            print(f"  {line}")
        return 0

    return asyncio.run(with_registry(work))


def _flows_rollback(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowUpdateFailedError

    from engine.registry.flows import rollback_flow

    async def work(client: Any) -> int:
        try:
            result = await rollback_flow(client, args.name, args.to, operator=operator(args), reason=args.reason)
        except WorkflowUpdateFailedError as err:
            print(f"refused: {err.cause.message if err.cause else err}")  # type: ignore[attr-defined]
            return 1
        print(f"flow {args.name}: {result.message} (version {result.version})")
        return 0

    return asyncio.run(with_registry(work))


def _flows_diff(args: argparse.Namespace) -> int:
    from engine.definitions.flow import flow_changes
    from engine.registry.flows import NoDeployedFlow, active_flow

    proposed = _load_flow_or_report(args.file)
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
    for noun, func in (("flows", _flows_validate), ("mappings", _mappings_validate)):
        group = sub.add_parser(noun, help=f"{noun} tools").add_subparsers(dest="action", required=True)
        validate = group.add_parser("validate", help=f"validate {noun} files before deploying them")
        validate.add_argument("files", nargs="+")
        validate.add_argument("--format", choices=("text", "json"), default="text")
        validate.set_defaults(func=func)
        groups[noun] = group
    f = groups["flows"]
    fdeploy = f.add_parser("deploy", help="validate, then store an immutable version and make it active")
    fdeploy.add_argument("file")
    fdeploy.add_argument("--operator", help="who deploys (default: $USER)")
    fdeploy.add_argument("--note", default="", help="why")
    fdeploy.set_defaults(func=_flows_deploy)
    fhistory = f.add_parser("history", help="a flow's deployed versions (* = active) and who did what")
    fhistory.add_argument("name")
    fhistory.set_defaults(func=_flows_history)
    frollback = f.add_parser("rollback", help="make an earlier version of a flow active again")
    frollback.add_argument("name")
    frollback.add_argument("--to", required=True, help="v2, 2 or a version hash")
    frollback.add_argument("--operator")
    frollback.add_argument("--reason", required=True)
    frollback.set_defaults(func=_flows_rollback)
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
    m = groups["mappings"]
    deploy = m.add_parser("deploy", help="validate, then store an immutable version and make it active")
    deploy.add_argument("file")
    deploy.add_argument("--operator", help="who deploys (default: $USER)")
    deploy.add_argument("--note", default="", help="why")
    deploy.set_defaults(func=_deploy)
    history = m.add_parser("history", help="a brand's deployed versions (* = active) and who did what")
    history.add_argument("brand")
    history.set_defaults(func=_history)
    rollback = m.add_parser("rollback", help="make an earlier version active again")
    rollback.add_argument("brand")
    rollback.add_argument("--to", required=True, help="v2, 2 or a version hash")
    rollback.add_argument("--operator")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(func=_rollback)
    for name, is_diff in (("diff", True), ("preview", False)):
        cmd = m.add_parser(name, help="settings changed and per-item outcomes, active vs proposed" if is_diff
                           else "per-item disposition, location and refund under active and proposed")  # fmt: skip
        if is_diff:
            cmd.add_argument("brand")
        cmd.add_argument("file")
        cmd.add_argument("--event", help="a Rebound push (JSON) with grades to preview")
        cmd.add_argument("--past", type=int, default=0, help="also preview the brand's N most recent returns")
        cmd.set_defaults(func=lambda a, d=is_diff: _compare(a, diff=d))
