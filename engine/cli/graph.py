"""`returns flows graph <flow> [--return <workflow id>]`: a flow as a Mermaid state diagram
(engine.definitions.flow_graph); with a return's workflow id, the way that return took and where it stands, read
from its status in Temporal. Errors are one line on stderr; stdout holds only the diagram."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import DefinitionError

if TYPE_CHECKING:
    from engine.definitions.flow import FlowDef
    from engine.definitions.flow_graph import ReturnPath
    from engine.workflow.messages import ReturnStatus

QUERY_SECONDS = 15  # how long to wait for a worker to answer a running return's status query


def _fail(message: str, code: int) -> int:
    print(f"returns flows graph: {message}", file=sys.stderr)
    return code


def flow_named(name: str) -> FlowDef | None:
    """A flow file, or the flow of that name where the engine reads flows (RETURNS_FLOWS_DIR, else the shipped
    ones); None, said on stderr, when there is none or it does not load."""
    from engine.definitions.flow import load_flow, load_flows
    from engine.settings import Settings

    path = Path(name)
    try:
        if path.is_file() or path.suffix in (".yaml", ".yml"):
            return load_flow(path)
        folder = Settings.from_env().flows
        named = folder / f"{name}.yaml"
        flow = load_flow(named) if named.is_file() else None
        flows = {flow.name: flow} if flow is not None and flow.name == name else load_flows(folder)
    except DefinitionError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        _fail(f"{name} does not load as a flow; nothing drawn", 1)
        return None
    if name not in flows:
        known = ", ".join(sorted(flows)) or "none"
        _fail(f"no flow named {name!r} in {folder} (flows there: {known}); or give a file", 1)
        return None
    return flows[name]


def return_path(status: ReturnStatus, workflow_id: str) -> ReturnPath:
    """What a return's status says it has done, as the diagram marks it: its transitions from the audit trail
    (`transition` entries `a -> b`), its step keys, its state and what needs a person."""
    from engine.definitions.flow_graph import ReturnPath

    moves = [entry.detail.split(" -> ", 1) for entry in status.audit if entry.kind == "transition"]
    return ReturnPath(
        workflow_id=workflow_id,
        state=status.state,
        transitions=tuple((a.strip(), b.strip()) for a, b in (m for m in moves if len(m) == 2)),
        steps_done=frozenset(status.steps_done),
        attention=status.attention_reason if status.needs_attention else None,
        blocking=status.hold is not None and status.hold.blocking,
        finished=status.finished,
    )


async def read_status(workflow_id: str) -> ReturnStatus | int:
    """The return's status: its result once completed, else its `status` query (a worker answers it); an exit
    code, said on stderr in one line, when there is no such return or Temporal cannot tell."""
    from datetime import timedelta

    from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError, WorkflowQueryRejectedError
    from temporalio.service import RPCError, RPCStatusCode

    from engine.settings import Settings
    from engine.temporal.connection import connect
    from engine.workflow.messages import ReturnStatus
    from engine.workflow.search import RETURN_WORKFLOW_TYPES

    settings = Settings.from_env()
    where = f"Temporal at {settings.temporal_address} ({settings.namespace})"
    try:
        client = await connect(settings)
    except RuntimeError as err:
        return _fail(f"cannot reach {where}: {err}", 2)
    handle = client.get_workflow_handle(workflow_id, result_type=ReturnStatus)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return _fail(f"no workflow {workflow_id!r} in {where}", 1)
        return _fail(f"cannot ask {where} about {workflow_id!r}: {err}", 2)
    interpreter = RETURN_WORKFLOW_TYPES[0]
    if described.workflow_type != interpreter:
        kind = described.workflow_type
        return _fail(f"{workflow_id!r} is a {kind} workflow, not a return on a flow ({interpreter})", 1)
    try:
        if described.status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        status: ReturnStatus = await handle.query(
            "status", result_type=ReturnStatus, rpc_timeout=timedelta(seconds=QUERY_SECONDS)
        )
        return status
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
        queue = described.task_queue
        return _fail(f"{workflow_id!r} did not answer its status query ({err}): is a worker serving task queue "
                     f"{queue!r}?", 2)  # fmt: skip


def _graph(args: argparse.Namespace) -> int:
    from engine.definitions.flow_graph import mermaid

    flow = flow_named(args.flow)
    if flow is None:
        return 1
    path = None
    if args.return_id:
        status = asyncio.run(read_status(args.return_id))
        if isinstance(status, int):
            return status
        if status.flow != flow.ref:
            print(f"returns flows graph: note: {args.return_id} runs on flow {status.flow}, drawn on {flow.ref}",
                  file=sys.stderr)  # fmt: skip
        path = return_path(status, args.return_id)
    sys.stdout.write(mermaid(flow, path))
    return 0


def add_command(flows: Any) -> None:
    """`graph` in the `flows` command group."""
    graph = flows.add_parser(
        "graph",
        help="draw a flow as a Mermaid state diagram; with --return, the way one return took and where it stands",
        description="Prints a Mermaid stateDiagram-v2: each state with its kind, its steps in order and its SLA; "
        "arrows for the events, then:, step outcomes and the events that end a return. FLOW is a flow file or the "
        "name of a flow in RETURNS_FLOWS_DIR (default: the shipped flows). --return reads that return's status "
        "from Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE; a running return's status is answered by a worker) "
        "and marks the states it went through, the arrows and steps it took, and where it stands. Exit 1 when the "
        "flow or the workflow does not exist, 2 when Temporal or a worker cannot answer.",
    )
    graph.add_argument("flow", help="a flow file, or a flow's name (return, express)")
    graph.add_argument("--return", dest="return_id", metavar="WORKFLOW_ID",
                       help="a return's workflow id, e.g. 'return-castore-(00)687000000000088888'")  # fmt: skip
    graph.set_defaults(func=_graph)
