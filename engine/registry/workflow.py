"""One long-lived workflow per brand holds its deployed mappings, and one per flow its deployed versions.

Why Temporal: every worker and receiver on every machine already talks to it, it is durable and replicated,
and its history is the audit trail of who deployed or rolled back what, when. Versions are immutable and
content-hashed; deploying the same content again re-activates the existing version instead of copying it.

Both kinds are one implementation, VersionedRegistry. Each kind's class is only what Temporal and the data
converter need to see on it: its workflow type name, @workflow.init and @workflow.run (the SDK wants them on the
class itself), the handlers whose argument or result is the kind's own type (the converter reads the annotations),
and what a deploy of that kind must satisfy. Names, ids and payloads are those the running registries already have.
"""

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.brands import valid_brand
    from engine.definitions.flow import FlowDef
    from engine.definitions.mapping import MappingDef
    from engine.registry import versions
    from engine.registry.messages import (
        ActiveFlow,
        ActiveMapping,
        DeployRequest,
        DeployResult,
        FlowDeployRequest,
        FlowRegistryState,
        RegistryHistory,
        RegistryState,
        RollbackRequest,
        flow_version,
    )

DocT = TypeVar("DocT", MappingDef, FlowDef)
ActiveT = TypeVar("ActiveT")


class VersionedRegistry(Generic[DocT]):
    """Numbered, immutable versions of one definition (a brand's mapping, a flow), one of them active."""

    label: ClassVar[str] = "{}"  # how refusals name one registry, from its key ("castore", "flow return")

    def __init__(self, state: versions.Versioned, key: str, documents: dict[str, DocT]) -> None:
        self.state = state
        self.key = key  # the brand or the flow's name
        self.documents: dict[str, DocT] = documents  # the state's own dict of each version's content

    async def serve(self) -> None:
        """Hold the state until the history grows long, then carry it into a fresh run."""
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self.state)

    def store(self, document: DocT, version: str, *, operator: str, note: str) -> DeployResult:
        now = workflow.now().isoformat(timespec="seconds")
        return versions.deploy(self.state, self.documents, version, document, operator=operator, note=note,
                               source_file=document.source_file, now=now)  # fmt: skip

    def active_as(self, make: Callable[[int, str, DocT, str, str], ActiveT]) -> ActiveT | None:
        record = versions.active_record(self.state)
        if record is None:
            return None
        return make(record.number, record.version, self.documents[record.version], record.deployed_by,
                    record.deployed_at)  # fmt: skip

    @staticmethod
    def check_operator(operator: str) -> None:
        if not operator.strip():
            raise ValueError("operator is required")

    @workflow.update
    def rollback(self, request: RollbackRequest) -> DeployResult:
        record = versions.find(self.state, request.to)
        assert record is not None  # the validator checked
        now = workflow.now().isoformat(timespec="seconds")
        return versions.rollback(self.state, record, operator=request.operator, reason=request.reason, now=now)

    @rollback.validator
    def _validate_rollback(self, request: RollbackRequest) -> None:
        versions.check_rollback(self.state, request.to, operator=request.operator, reason=request.reason,
                                what=self.label.format(self.key))  # fmt: skip

    @workflow.query
    def history(self) -> RegistryHistory:
        return RegistryHistory(self.key, self.state.active, list(self.state.versions), list(self.state.log))


@workflow.defn(name="MappingRegistry")
class MappingRegistryWorkflow(VersionedRegistry[MappingDef]):
    """A brand's mappings."""

    @workflow.init
    def __init__(self, state: RegistryState) -> None:
        super().__init__(state, state.brand, state.mappings)

    @workflow.run
    async def run(self, state: RegistryState) -> None:
        await self.serve()

    @workflow.update
    def deploy(self, request: DeployRequest) -> DeployResult:
        mapping = request.mapping
        return self.store(mapping, mapping.version, operator=request.operator, note=request.note)

    @deploy.validator
    def _validate_deploy(self, request: DeployRequest) -> None:
        if request.mapping.brand != self.key:
            raise ValueError(f"mapping is for brand {request.mapping.brand!r}, this registry is {self.key!r}")
        if not valid_brand(request.mapping.brand):
            raise ValueError(f"brand {request.mapping.brand!r} is not a valid brand name")
        self.check_operator(request.operator)

    @workflow.query
    def active(self) -> ActiveMapping | None:
        return self.active_as(ActiveMapping)


@workflow.defn(name="FlowRegistry")
class FlowRegistryWorkflow(VersionedRegistry[FlowDef]):
    """A flow's versions; each mapping names its flow, new returns take the flow's active version, running ones
    keep theirs."""

    label = "flow {}"

    @workflow.init
    def __init__(self, state: FlowRegistryState) -> None:
        super().__init__(state, state.name, state.flows)

    @workflow.run
    async def run(self, state: FlowRegistryState) -> None:
        await self.serve()

    @workflow.update
    def deploy(self, request: FlowDeployRequest) -> DeployResult:
        flow = request.flow
        return self.store(flow, flow_version(flow), operator=request.operator, note=request.note)

    @deploy.validator
    def _validate_deploy(self, request: FlowDeployRequest) -> None:
        if request.flow.name != self.key:
            raise ValueError(f"flow is {request.flow.name!r}, this registry is {self.key!r}")
        self.check_operator(request.operator)

    @workflow.query
    def active(self) -> ActiveFlow | None:
        return self.active_as(ActiveFlow)
