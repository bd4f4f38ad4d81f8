"""Deliver a canonical event to its return's workflow: signal-with-start, one workflow per Rebound return."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.events import ReturnEvent
from engine.workflow import visibility
from engine.workflow.messages import ReturnStart, ReturnStatus, workflow_id
from engine.workflow.return_workflow import ReturnWorkflow
from engine.workflow.summaries import start_details, start_summary


@dataclass
class Delivery:
    workflow_id: str
    accepted: bool  # False: the return's workflow has finished; the event is recorded by the caller
    detail: str = ""


async def deliver(
    client: Client,
    event: ReturnEvent,
    *,
    flow: FlowDef,
    mapping: MappingDef,
    task_queue: str,
    start_options: dict[str, object] | None = None,
    running: bool = False,
) -> Delivery:
    """Signal the return's workflow, starting it (pinned to this flow and mapping) if it does not exist.
    `running`: the caller saw this workflow running; a plain signal then carries the event alone, not the start
    input (the pinned flow and mapping, kilobytes) again. Not found (finished since, or never here): as usual."""
    wf_id = workflow_id(event.brand, event.rebound_return_id)
    if running:
        try:
            await client.get_workflow_handle(wf_id).signal("event", event)
            return Delivery(wf_id, True)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
    options: dict[str, object] = {"visibility": 1, **(start_options or {})}
    start = ReturnStart(event.brand, event.rebound_return_id, flow, mapping, **options)  # type: ignore[arg-type]
    # Given at start they cost nothing; the workflow upserts only what differs once it comes to rest.
    attributes = None
    if start.search_attributes:
        attributes = visibility.at_start(event.brand, event.rebound_return_id, flow.events.get(event.kind),
                                         mapping.version, event.order_name)  # fmt: skip
    try:
        await client.start_workflow(
            ReturnWorkflow.run,
            start,
            id=wf_id,
            task_queue=task_queue,
            start_signal="event",
            start_signal_args=[event],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=start_summary(event),
            static_details=start_details(event, flow, mapping),
            search_attributes=attributes,
        )
    except WorkflowAlreadyStartedError:
        # Only a closed workflow conflicts (a running one is signalled): the return has finished and lingered
        # out, or an operator terminated it. The caller keeps the event; a new run would act on it twice.
        return Delivery(wf_id, False, "return already finished; event not applied")
    return Delivery(wf_id, True)


def handle_for(client: Client, brand: str, rebound_return_id: str) -> WorkflowHandle[ReturnWorkflow, ReturnStatus]:
    return client.get_workflow_handle_for(ReturnWorkflow.run, workflow_id(brand, rebound_return_id))
