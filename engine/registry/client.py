"""Talking to the registries (a brand's mappings, a flow's versions) from the CLI, the demo and the receiver.

Registry is the one implementation of deploy, rollback, history and active for both kinds; MAPPINGS here and FLOWS
in engine.registry.flows say where each kind's registries live and how a missing one is reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

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
from engine.registry.workflow import MappingRegistryWorkflow, VersionedRegistry

REGISTRY_TASK_QUEUE = "mapping-registry"
QUERY_TIMEOUT = timedelta(seconds=30)

StateT = TypeVar("StateT")
RequestT = TypeVar("RequestT")
DocT = TypeVar("DocT")
ActiveT = TypeVar("ActiveT")


class NotDeployed(LookupError):
    """A definition has no active version: new returns that need it cannot start."""


class NoDeployedMapping(NotDeployed):
    """The brand has no active mapping: new returns for it cannot start."""


class BrandRefused(ValueError):
    """A deploy under a brand name the receiver could not keep apart from another brand: nothing was deployed."""


@dataclass(frozen=True)
class Registry(Generic[StateT, RequestT, DocT, ActiveT]):
    """One kind of definition's registries: one workflow per key (a brand, a flow's name) on the registry queue."""

    workflow: type[VersionedRegistry[Any]]  # rollback, history and label are the same for every kind
    run: Callable[[Any, StateT], Awaitable[None]]  # these three take or give the kind's own types
    deploy_update: UpdateMethodMultiParam[[Any, RequestT], DeployResult]
    active_query: Callable[[Any], ActiveT | None]
    workflow_id: Callable[[str], str]
    new_state: Callable[[str], StateT]  # an empty registry for a key
    new_request: Callable[[DocT, str, str], RequestT]  # (document, operator, note)
    key: Callable[[DocT], str]
    content: Callable[[ActiveT], DocT]
    missing: type[NotDeployed]
    never_deployed: str  # the message for a key without a registry, formatted with key=
    not_active: str  # the message for a key without an active version, formatted with key=
    vet: Callable[[Client, DocT], Awaitable[None]] | None = None  # refuses before anything is deployed

    async def deploy(self, client: Client, document: DocT, *, operator: str, note: str = "") -> DeployResult:
        """Store a validated document as a new version and make it active, starting the key's registry if need be."""
        if self.vet is not None:
            await self.vet(client, document)
        key = self.key(document)
        start = WithStartWorkflowOperation(
            self.run,
            self.new_state(key),
            id=self.workflow_id(key),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=REGISTRY_TASK_QUEUE,
        )
        result: DeployResult = await client.execute_update_with_start_workflow(
            self.deploy_update, self.new_request(document, operator, note), start_workflow_operation=start
        )
        return result

    async def rollback(self, client: Client, key: str, to: str, *, operator: str, reason: str) -> DeployResult:
        handle = client.get_workflow_handle(self.workflow_id(key))
        result: DeployResult = await handle.execute_update(
            self.workflow.rollback, RollbackRequest(to, operator, reason)
        )
        return result

    async def history(self, client: Client, key: str) -> RegistryHistory:
        try:
            handle = client.get_workflow_handle(self.workflow_id(key))
            result: RegistryHistory = await handle.query(self.workflow.history)
            return result
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise self.missing(self.never_deployed.format(key=key)) from None
            raise

    async def active(self, client: Client, key: str) -> ActiveT:
        try:
            handle = client.get_workflow_handle(self.workflow_id(key))
            # A loaded worker may take a while to answer; a receiver would rather wait than hold a push as failed.
            result: ActiveT | None = await handle.query(self.active_query, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            result = None
        if result is None:
            raise self.missing(self.not_active.format(key=key))
        return result


class ActiveDefinitions(Generic[DocT]):
    """Active version per key for starters, cached briefly: new returns take a new version within seconds.

    When the cached version expires, the pushes arriving meanwhile share one query (and one decoding of the
    definition, kilobytes of dataclasses): under load the receiver once sent a query per push in flight, 25 at a
    time, every 5 seconds. A query that fails fails every push that waited on it, as each one's own would have."""

    def __init__(self, registry: Registry[Any, Any, DocT, Any], client: Client, ttl_seconds: float = 5.0) -> None:
        self._registry = registry
        self._client = client
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, DocT]] = {}
        self._loading: dict[str, asyncio.Future[DocT]] = {}

    async def get(self, key: str) -> DocT:
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key))
            self._loading[key] = loading
            loading.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(loading)  # a push cancelled while waiting leaves the query to the others

    async def _load(self, key: str) -> DocT:
        document = self._registry.content(await self._registry.active(self._client, key))
        self._cache[key] = (time.monotonic(), document)
        return document

    def _loaded(self, key: str, done: asyncio.Future[DocT]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # seen by the waiters; retrieved here in case every waiter was cancelled


async def vet_brand(client: Client, mapping: MappingDef) -> None:
    """Refuse (BrandRefused) a brand name outside the pattern or one whose push secret variable another deployed
    brand already reads."""
    if not valid_brand(mapping.brand):
        raise BrandRefused(f"brand {mapping.brand!r} does not match {brand_pattern().pattern} (lower-case letters, "
                           "digits and hyphens)")  # fmt: skip
    other = secret_collision(mapping.brand, await deployed_brands(client))
    if other is not None:
        raise BrandRefused(f"brand {mapping.brand!r} would share {secret_env_name(mapping.brand)} with the deployed "
                           f"brand {other!r}: choose another brand name")  # fmt: skip


MAPPINGS: Registry[RegistryState, DeployRequest, MappingDef, ActiveMapping] = Registry(
    workflow=MappingRegistryWorkflow,
    run=MappingRegistryWorkflow.run,
    deploy_update=MappingRegistryWorkflow.deploy,
    active_query=MappingRegistryWorkflow.active,
    workflow_id=registry_id,
    new_state=RegistryState,
    new_request=DeployRequest,
    key=lambda mapping: mapping.brand,
    content=lambda active: active.mapping,
    missing=NoDeployedMapping,
    never_deployed="no mapping was ever deployed for {key!r}",
    not_active="no active mapping for {key!r}: run `returns mappings deploy mappings/{key}.yaml`",
    vet=vet_brand,
)


async def deploy(client: Client, mapping: MappingDef, *, operator: str, note: str = "") -> DeployResult:
    """Deploy a validated mapping; refused (BrandRefused) for a brand name outside the pattern or one whose push
    secret variable another deployed brand already reads."""
    return await MAPPINGS.deploy(client, mapping, operator=operator, note=note)


async def rollback(client: Client, brand: str, to: str, *, operator: str, reason: str) -> DeployResult:
    return await MAPPINGS.rollback(client, brand, to, operator=operator, reason=reason)


async def history(client: Client, brand: str) -> RegistryHistory:
    return await MAPPINGS.history(client, brand)


async def active(client: Client, brand: str) -> ActiveMapping:
    return await MAPPINGS.active(client, brand)


class ActiveMappings(ActiveDefinitions[MappingDef]):
    """Active mapping per brand for starters, cached briefly: new returns take a new version within seconds."""

    def __init__(self, client: Client, ttl_seconds: float = 5.0) -> None:
        super().__init__(MAPPINGS, client, ttl_seconds)


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
