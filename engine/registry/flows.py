"""Talking to the flows' registries from the CLI, the demo and the receiver: the mappings' Registry (same queue,
same code) with a flow's name for the brand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.client import Client

from engine.definitions.flow import FlowDef
from engine.registry.client import ActiveDefinitions, NotDeployed, Registry
from engine.registry.flow_workflow import FlowRegistryWorkflow
from engine.registry.messages import (
    ActiveFlow,
    DeployResult,
    FlowDeployRequest,
    FlowRegistryState,
    RegistryHistory,
    flow_registry_id,
)


class NoDeployedFlow(NotDeployed):
    """The flow a mapping names has no active version: new returns on it cannot start."""


FLOWS: Registry[FlowRegistryState, FlowDeployRequest, FlowDef, ActiveFlow] = Registry(
    workflow=FlowRegistryWorkflow,
    run=FlowRegistryWorkflow.run,
    deploy_update=FlowRegistryWorkflow.deploy,
    active_query=FlowRegistryWorkflow.active,
    workflow_id=flow_registry_id,
    new_state=FlowRegistryState,
    new_request=FlowDeployRequest,
    key=lambda flow: flow.name,
    content=lambda active: active.flow,
    missing=NoDeployedFlow,
    never_deployed="flow {key!r} was never deployed",
    not_active="flow {key!r} is not deployed: run `returns flows deploy flows/{key}.yaml`",
)


async def deploy_flow(client: Client, flow: FlowDef, *, operator: str, note: str = "") -> DeployResult:
    return await FLOWS.deploy(client, flow, operator=operator, note=note)


async def rollback_flow(client: Client, name: str, to: str, *, operator: str, reason: str) -> DeployResult:
    return await FLOWS.rollback(client, name, to, operator=operator, reason=reason)


async def flow_history(client: Client, name: str) -> RegistryHistory:
    return await FLOWS.history(client, name)


async def active_flow(client: Client, name: str) -> ActiveFlow:
    return await FLOWS.active(client, name)


def flows_from(flows: dict[str, FlowDef]) -> Callable[[str], Awaitable[FlowDef]]:
    """A lookup over flows at hand (tests, benches, `returns flows test`), failing as the registry does."""

    async def lookup(name: str) -> FlowDef:
        if name not in flows:
            raise NoDeployedFlow(f"flow {name!r} is not among {sorted(flows)}")
        return flows[name]

    return lookup


class ActiveFlows(ActiveDefinitions[FlowDef]):
    """Active version per flow for starters, cached briefly: new returns take a new version within seconds."""

    def __init__(self, client: Client, ttl_seconds: float = 5.0) -> None:
        super().__init__(FLOWS, client, ttl_seconds)
