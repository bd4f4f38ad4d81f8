"""`returns legacy status`: can the first workflow (`ReturnWorkflow`, engine.workflow.legacy) be retired? It stays
registered on the workers while returns still run on it; this counts them on the Temporal server the engine uses."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from engine.cli.common import reads

LEGACY_TYPE = "ReturnWorkflow"  # LegacyReturnWorkflow's registered name
RUNNING = f"WorkflowType = '{LEGACY_TYPE}' AND ExecutionStatus = 'Running'"


def _status(args: argparse.Namespace) -> int:
    """Exit 0 when none runs (safe to retire), 1 while some remain, 2 when Temporal cannot answer."""
    from temporalio.service import RPCError

    from engine.settings import Settings
    from engine.temporal.connection import connect

    settings = Settings.from_env()
    where = f"{settings.temporal_address} ({settings.namespace})"

    async def report() -> int:
        try:
            client = await connect(settings)
            running = (await client.count_workflows(RUNNING)).count
            ids = [execution.id async for execution in client.list_workflows(RUNNING, limit=max(args.show, 1))]
        except (RuntimeError, RPCError) as err:
            print(f"cannot ask Temporal at {where}: {err}")
            return 2
        if running == 0:
            print(f"{where}: no {LEGACY_TYPE} running; the first workflow can be retired")
            return 0
        print(f"{where}: {running} {LEGACY_TYPE} still running; keep it registered")
        for workflow_id in ids:
            print(f"  {workflow_id}")
        if running > len(ids):
            print(f"  ... and {running - len(ids)} more")
        return 1

    return asyncio.run(report())


def add_commands(sub: Any) -> None:
    legacy = sub.add_parser("legacy", help="the first workflow (ReturnWorkflow), kept while its returns drain")
    actions = legacy.add_subparsers(dest="action", required=True)
    status = actions.add_parser(
        "status",
        help="how many returns still run on the first workflow; exit 0 when none (it can be retired), 1 otherwise",
        description=f"Counts the workflows matching {RUNNING!r} and lists a few ids.",
        **reads("legacy"),
    )
    status.add_argument("--show", type=int, default=10, help="list at most this many workflow ids (default 10)")
    status.set_defaults(func=_status)
