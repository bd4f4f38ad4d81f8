"""`returns`: the one entry point (demo, worker, dev server, validation of flows and mappings)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
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


def _operator(args: argparse.Namespace) -> str:
    return str(args.operator or os.environ.get("USER") or "unknown")


async def _with_registry(work: Callable[[Any], Awaitable[int]]) -> int:
    """Connect to Temporal and poll the registry queue ourselves, so the command works without a worker."""
    from engine.settings import Settings
    from engine.temporal.connection import connect
    from engine.temporal.worker import build_registry_worker

    settings = Settings.from_env()
    try:
        client = await connect(settings)
    except RuntimeError as err:
        print(f"cannot reach Temporal at {settings.temporal_address}: {err} (start it: returns devserver)")
        return 2
    async with build_registry_worker(client):
        return await work(client)


def _load_or_report(path: str) -> Any:
    from engine.definitions.mapping import load_mapping

    try:
        return load_mapping(Path(path))
    except DefinitionError as err:
        for problem in err.problems:
            print(problem)
        print("refused: the mapping is invalid; nothing was deployed")
        return None


def _cmd_mappings_deploy(args: argparse.Namespace) -> int:
    from engine.registry.client import deploy

    mapping = _load_or_report(args.file)
    if mapping is None:
        return 1

    async def work(client: Any) -> int:
        result = await deploy(client, mapping, operator=_operator(args), note=args.note)
        print(f"{mapping.brand}: {result.message} (version {result.version}) by {_operator(args)}")
        return 0

    return asyncio.run(_with_registry(work))


def _cmd_mappings_history(args: argparse.Namespace) -> int:
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

    return asyncio.run(_with_registry(work))


def _cmd_mappings_rollback(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowUpdateFailedError

    from engine.registry.client import rollback

    async def work(client: Any) -> int:
        try:
            result = await rollback(client, args.brand, args.to, operator=_operator(args), reason=args.reason)
        except WorkflowUpdateFailedError as err:
            print(f"refused: {err.cause.message if err.cause else err}")  # type: ignore[attr-defined]
            return 1
        print(f"{args.brand}: {result.message} (version {result.version})")
        return 0

    return asyncio.run(_with_registry(work))


def _cmd_mappings_compare(args: argparse.Namespace, *, diff: bool) -> int:
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

    return asyncio.run(_with_registry(work))


def _event_store() -> Any:
    from engine.ingest.store import EventStore
    from engine.settings import Settings

    return EventStore(Settings.from_env().data_dir / "events.sqlite")


def _cmd_events_list(args: argparse.Namespace) -> int:
    import datetime as dt

    store = _event_store()
    events = store.list(status=args.status, brand=args.brand, limit=args.limit)
    for e in events:
        when = dt.datetime.fromtimestamp(e.received_at, dt.UTC).isoformat(timespec="seconds")
        print(f"{e.id:>6}  {when}  {e.brand:<10} {e.status:<9} {e.http_status}  {e.reason[:100]}")
    print(f"{len(events)} held event(s); by status: {store.counts()}")
    return 0


def _cmd_events_show(args: argparse.Namespace) -> int:
    held = _event_store().get(args.id)
    if held is None:
        print(f"no held event {args.id}")
        return 1
    print(json.dumps({**held.__dict__, "body": held.body.decode("utf-8", "replace")}, indent=2, default=str))
    return 0


def _cmd_events_replay(args: argparse.Namespace) -> int:
    """Replay held events through the receiver's pipeline, with the brand's active mapping."""
    from engine.definitions.flow import load_flow
    from engine.ingest.receiver import Receiver
    from engine.registry.client import ActiveMappings
    from engine.settings import Settings

    settings = Settings.from_env()
    store = _event_store()
    ids = args.ids or [e.id for e in store.list(status="failed", brand=args.brand, limit=10_000)]

    async def work(client: Any) -> int:
        receiver = Receiver(
            client=client, flow=load_flow(settings.flows_dir / "return.yaml"), mappings=ActiveMappings(client).get,
            store=store, task_queue=settings.task_queue,
        )  # fmt: skip
        failures = 0
        for held_id in ids:
            outcome = await receiver.replay(held_id)
            failures += outcome.http_status not in (200, 202)
            print(f"{held_id}: {outcome.http_status} {outcome.body.get('status')} {outcome.body.get('reason', '')}")
        print(f"replayed {len(ids) - failures}/{len(ids)}")
        return 1 if failures else 0

    return asyncio.run(_with_registry(work))


def _cmd_drift(args: argparse.Namespace) -> int:
    """Run each brand's drift reconciliation now, through its schedule (created if missing), and print it."""
    from engine.drift.report import table, to_csv, to_json
    from engine.drift.runner import run_drift

    try:
        results = asyncio.run(run_drift(brand=args.brand, alert_url=args.alert_url))
    except (LookupError, RuntimeError) as err:
        print(f"drift: {err}", file=sys.stderr)
        return 2
    findings = [f for r in results for f in r.findings]
    if args.format == "csv":
        print(to_csv(findings), end="")
    elif args.format == "json":
        print(to_json(findings, runs=[{"brand": r.brand, "ran_at": r.ran_at, "counts": r.counts} for r in results]))
    else:
        for r in results:
            print(f"{r.brand}: {r.counts}, {r.new} new, {len(r.resolved)} resolved since last run {r.alert}".rstrip())
        print(table(findings))
    return 1 if findings else 0


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
    groups = {}
    for noun, func in (("flows", _cmd_flows_validate), ("mappings", _cmd_mappings_validate)):
        group = sub.add_parser(noun, help=f"{noun} tools").add_subparsers(dest="action", required=True)
        validate = group.add_parser("validate", help=f"validate {noun} files before deploying them")
        validate.add_argument("files", nargs="+")
        validate.add_argument("--format", choices=("text", "json"), default="text")
        validate.set_defaults(func=func)
        groups[noun] = group
    m = groups["mappings"]
    deploy = m.add_parser("deploy", help="validate, then store an immutable version and make it active")
    deploy.add_argument("file")
    deploy.add_argument("--operator", help="who deploys (default: $USER)")
    deploy.add_argument("--note", default="", help="why")
    deploy.set_defaults(func=_cmd_mappings_deploy)
    history = m.add_parser("history", help="a brand's deployed versions (* = active) and who did what")
    history.add_argument("brand")
    history.set_defaults(func=_cmd_mappings_history)
    rollback = m.add_parser("rollback", help="make an earlier version active again")
    rollback.add_argument("brand")
    rollback.add_argument("--to", required=True, help="v2, 2 or a version hash")
    rollback.add_argument("--operator")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(func=_cmd_mappings_rollback)
    for name, is_diff in (("diff", True), ("preview", False)):
        cmd = m.add_parser(name, help="settings changed and per-item outcomes, active vs proposed" if is_diff
                           else "per-item disposition, location and refund under active and proposed")  # fmt: skip
        if is_diff:
            cmd.add_argument("brand")
        cmd.add_argument("file")
        cmd.add_argument("--event", help="a Rebound push (JSON) with grades to preview")
        cmd.add_argument("--past", type=int, default=0, help="also preview the brand's N most recent returns")
        cmd.set_defaults(func=lambda a, d=is_diff: _cmd_mappings_compare(a, diff=d))
    events = sub.add_parser("events", help="held Rebound pushes").add_subparsers(dest="action", required=True)
    listing = events.add_parser("list", help="held events (rejected, failed, late, replayed)")
    listing.add_argument("--status", choices=("rejected", "failed", "late", "replayed"))
    listing.add_argument("--brand")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=_cmd_events_list)
    show = events.add_parser("show", help="one held event, raw body and headers")
    show.add_argument("id", type=int)
    show.set_defaults(func=_cmd_events_show)
    replay = events.add_parser("replay", help="hand held events to Temporal again (default: every failed one)")
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--brand")
    replay.set_defaults(func=_cmd_events_replay)
    drift = sub.add_parser(
        "drift",
        help="compare Rebound, Shopify and the workflows now; exit 1 if there is drift",
        description="Runs each brand's drift reconciliation now through its Temporal Schedule (created if missing; "
        "a scheduled or earlier run's first-seen times are kept) and prints the exceptions. Environment: "
        "TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, RETURNS_TASK_QUEUE (the return workflows' queue), SHOPIFY_ENDPOINT "
        "and SHOPIFY_TOKEN__<SHOP> (or SHOPIFY_TOKENS_FILE), REBOUND_API_URL and REBOUND_API_TOKEN (Rebound's pull "
        "API), DRIFT_ALERT_URL (default for --alert-url), DRIFT_TASK_QUEUE (default returns-drift).",
    )
    drift.add_argument("--brand", help="one brand (default: every brand in RETURNS_MAPPINGS_DIR)")
    drift.add_argument("--format", choices=("table", "csv", "json"), default="table")
    drift.add_argument("--alert-url", help="POST new exceptions here (Slack-compatible JSON)")
    drift.set_defaults(func=_cmd_drift)
    return p


# Commands that run a Temporal worker in-process: the SDK's native runtime can abort while the interpreter
# finalizes, after the work is done and printed, turning success into SIGABRT. They end with os._exit.
HARD_EXIT = {"mappings", "events", "drift"}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    if argv is None and args.command in HARD_EXIT and getattr(args, "action", None) not in ("validate", "list", "show"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
