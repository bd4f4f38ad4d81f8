"""One long-lived workflow per brand holds its deployed mappings.

Why Temporal: every worker and receiver on every machine already talks to it, it is durable and replicated,
and its history is the audit trail of who deployed or rolled back what, when. Versions are immutable and
content-hashed; deploying the same content again re-activates the existing version instead of copying it.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.brands import valid_brand
    from engine.registry import versions
    from engine.registry.messages import (
        ActiveMapping,
        DeployRequest,
        DeployResult,
        RegistryHistory,
        RegistryState,
        RollbackRequest,
    )


@workflow.defn(name="MappingRegistry")
class MappingRegistryWorkflow:
    @workflow.init
    def __init__(self, state: RegistryState) -> None:
        self.state = state

    @workflow.run
    async def run(self, state: RegistryState) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self.state)

    @workflow.update
    def deploy(self, request: DeployRequest) -> DeployResult:
        mapping = request.mapping
        now = workflow.now().isoformat(timespec="seconds")
        return versions.deploy(self.state, self.state.mappings, mapping.version, mapping, operator=request.operator,
                               note=request.note, source_file=mapping.source_file, now=now)  # fmt: skip

    @deploy.validator
    def _validate_deploy(self, request: DeployRequest) -> None:
        if request.mapping.brand != self.state.brand:
            raise ValueError(f"mapping is for brand {request.mapping.brand!r}, this registry is {self.state.brand!r}")
        if not valid_brand(request.mapping.brand):
            raise ValueError(f"brand {request.mapping.brand!r} is not a valid brand name")
        if not request.operator.strip():
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
                                what=self.state.brand)  # fmt: skip

    @workflow.query
    def active(self) -> ActiveMapping | None:
        record = versions.active_record(self.state)
        if record is None:
            return None
        mapping = self.state.mappings[record.version]
        return ActiveMapping(record.number, record.version, mapping, record.deployed_by, record.deployed_at)

    @workflow.query
    def history(self) -> RegistryHistory:
        return RegistryHistory(self.state.brand, self.state.active, list(self.state.versions), list(self.state.log))
