"""Talking to the flows' registries from the CLI, the demo and the receiver (the same queue as the mappings')."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from engine.definitions.flow import FlowDef
from engine.registry.client import QUERY_TIMEOUT, REGISTRY_TASK_QUEUE
from engine.registry.flow_workflow import FlowRegistryWorkflow
from engine.registry.messages import (
    ActiveFlow,
    DeployResult,
    FlowDeployRequest,
    FlowRegistryState,
    RegistryHistory,
    RollbackRequest,
    flow_registry_id,
)


class NoDeployedFlow(LookupError):
    """The flow a mapping names has no active version: new returns on it cannot start."""


async def deploy_flow(client: Client, flow: FlowDef, *, operator: str, note: str = "") -> DeployResult:
    start = WithStartWorkflowOperation(
        FlowRegistryWorkflow.run,
        FlowRegistryState(name=flow.name),
        id=flow_registry_id(flow.name),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=REGISTRY_TASK_QUEUE,
    )
    result: DeployResult = await client.execute_update_with_start_workflow(
        FlowRegistryWorkflow.deploy, FlowDeployRequest(flow, operator, note), start_workflow_operation=start
    )
    return result


async def rollback_flow(client: Client, name: str, to: str, *, operator: str, reason: str) -> DeployResult:
    handle = client.get_workflow_handle_for(FlowRegistryWorkflow.run, flow_registry_id(name))
    result: DeployResult = await handle.execute_update(
        FlowRegistryWorkflow.rollback, RollbackRequest(to, operator, reason)
    )
    return result


async def flow_history(client: Client, name: str) -> RegistryHistory:
    try:
        handle = client.get_workflow_handle_for(FlowRegistryWorkflow.run, flow_registry_id(name))
        result: RegistryHistory = await handle.query(FlowRegistryWorkflow.history)
        return result
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NoDeployedFlow(f"flow {name!r} was never deployed") from None
        raise


async def active_flow(client: Client, name: str) -> ActiveFlow:
    try:
        handle = client.get_workflow_handle_for(FlowRegistryWorkflow.run, flow_registry_id(name))
        result: ActiveFlow | None = await handle.query(FlowRegistryWorkflow.active, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        result = None
    if result is None:
        raise NoDeployedFlow(f"flow {name!r} is not deployed: run `returns flows deploy flows/{name}.yaml`")
    return result


def flows_from(flows: dict[str, FlowDef]) -> Callable[[str], Awaitable[FlowDef]]:
    """A lookup over flows at hand (tests, benches, `returns flows test`), failing as the registry does."""

    async def lookup(name: str) -> FlowDef:
        if name not in flows:
            raise NoDeployedFlow(f"flow {name!r} is not among {sorted(flows)}")
        return flows[name]

    return lookup


class ActiveFlows:
    """Active version per flow for starters, cached briefly: new returns take a new version within seconds."""

    def __init__(self, client: Client, ttl_seconds: float = 5.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, FlowDef]] = {}

    async def get(self, name: str) -> FlowDef:
        hit = self._cache.get(name)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        flow = (await active_flow(self._client, name)).flow
        self._cache[name] = (time.monotonic(), flow)
        return flow
