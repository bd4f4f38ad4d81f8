"""Talking to a brand's mapping registry from the CLI, the demo and the receiver."""

import time
from datetime import timedelta

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from engine.brands import brand_pattern, secret_collision, secret_env_name, valid_brand
from engine.definitions.mapping import MappingDef
from engine.registry.messages import (
    ActiveMapping,
    DeployRequest,
    DeployResult,
    RegistryHistory,
    RegistryState,
    RollbackRequest,
    registry_id,
)
from engine.registry.workflow import MappingRegistryWorkflow

REGISTRY_TASK_QUEUE = "mapping-registry"


class NoDeployedMapping(LookupError):
    """The brand has no active mapping: new returns for it cannot start."""


class BrandRefused(ValueError):
    """A deploy under a brand name the receiver could not keep apart from another brand: nothing was deployed."""


async def deploy(client: Client, mapping: MappingDef, *, operator: str, note: str = "") -> DeployResult:
    """Deploy a validated mapping; refused (BrandRefused) for a brand name outside the pattern or one whose push
    secret variable another deployed brand already reads."""
    if not valid_brand(mapping.brand):
        raise BrandRefused(f"brand {mapping.brand!r} does not match {brand_pattern().pattern} (lower-case letters, "
                           "digits and hyphens)")  # fmt: skip
    other = secret_collision(mapping.brand, await deployed_brands(client))
    if other is not None:
        raise BrandRefused(f"brand {mapping.brand!r} would share {secret_env_name(mapping.brand)} with the deployed "
                           f"brand {other!r}: choose another brand name")  # fmt: skip
    start = WithStartWorkflowOperation(
        MappingRegistryWorkflow.run,
        RegistryState(brand=mapping.brand),
        id=registry_id(mapping.brand),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=REGISTRY_TASK_QUEUE,
    )
    result: DeployResult = await client.execute_update_with_start_workflow(
        MappingRegistryWorkflow.deploy, DeployRequest(mapping, operator, note), start_workflow_operation=start
    )
    return result


async def rollback(client: Client, brand: str, to: str, *, operator: str, reason: str) -> DeployResult:
    handle = client.get_workflow_handle_for(MappingRegistryWorkflow.run, registry_id(brand))
    result: DeployResult = await handle.execute_update(
        MappingRegistryWorkflow.rollback, RollbackRequest(to, operator, reason)
    )
    return result


async def history(client: Client, brand: str) -> RegistryHistory:
    try:
        handle = client.get_workflow_handle_for(MappingRegistryWorkflow.run, registry_id(brand))
        result: RegistryHistory = await handle.query(MappingRegistryWorkflow.history)
        return result
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NoDeployedMapping(f"no mapping was ever deployed for {brand!r}") from None
        raise


QUERY_TIMEOUT = timedelta(seconds=30)


async def active(client: Client, brand: str) -> ActiveMapping:
    try:
        handle = client.get_workflow_handle_for(MappingRegistryWorkflow.run, registry_id(brand))
        # A loaded worker may take a while to answer; a receiver would rather wait than hold a push as failed.
        result: ActiveMapping | None = await handle.query(MappingRegistryWorkflow.active, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        result = None
    if result is None:
        raise NoDeployedMapping(f"no active mapping for {brand!r}: run `returns mappings deploy mappings/{brand}.yaml`")
    return result


class ActiveMappings:
    """Active mapping per brand for starters, cached briefly: new returns take a new version within seconds."""

    def __init__(self, client: Client, ttl_seconds: float = 5.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, MappingDef]] = {}

    async def get(self, brand: str) -> MappingDef:
        hit = self._cache.get(brand)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        mapping = (await active(self._client, brand)).mapping
        self._cache[brand] = (time.monotonic(), mapping)
        return mapping


async def deployed_brands(client: Client) -> list[str]:
    """Every brand with a registry (visibility: running `MappingRegistry` workflows)."""
    prefix = registry_id("")
    query = "WorkflowType = 'MappingRegistry' AND ExecutionStatus = 'Running'"
    return sorted({wf.id.removeprefix(prefix) async for wf in client.list_workflows(query) if wf.id.startswith(prefix)})


async def deployed_mappings(client: Client) -> dict[str, MappingDef]:
    """The active mapping of every brand that has one (a registry queue must be served to answer)."""
    found = {}
    for brand in await deployed_brands(client):
        try:
            found[brand] = (await active(client, brand)).mapping
        except NoDeployedMapping:
            continue
    return found
