"""One long-lived workflow per flow holds its deployed versions, as a brand's registry holds its mappings: each
mapping names its flow, new returns take the flow's active version, running ones keep theirs."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.registry import versions
    from engine.registry.messages import (
        ActiveFlow,
        DeployResult,
        FlowDeployRequest,
        FlowRegistryState,
        RegistryHistory,
        RollbackRequest,
        flow_version,
    )


@workflow.defn(name="FlowRegistry")
class FlowRegistryWorkflow:
    @workflow.init
    def __init__(self, state: FlowRegistryState) -> None:
        self.state = state

    @workflow.run
    async def run(self, state: FlowRegistryState) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self.state)

    @workflow.update
    def deploy(self, request: FlowDeployRequest) -> DeployResult:
        flow = request.flow
        now = workflow.now().isoformat(timespec="seconds")
        return versions.deploy(self.state, self.state.flows, flow_version(flow), flow, operator=request.operator,
                               note=request.note, source_file=flow.source_file, now=now)  # fmt: skip

    @deploy.validator
    def _validate_deploy(self, request: FlowDeployRequest) -> None:
        if request.flow.name != self.state.name:
            raise ValueError(f"flow is {request.flow.name!r}, this registry is {self.state.name!r}")
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
                                what=f"flow {self.state.name}")  # fmt: skip

    @workflow.query
    def active(self) -> ActiveFlow | None:
        record = versions.active_record(self.state)
        if record is None:
            return None
        flow = self.state.flows[record.version]
        return ActiveFlow(record.number, record.version, flow, record.deployed_by, record.deployed_at)

    @workflow.query
    def history(self) -> RegistryHistory:
        return RegistryHistory(self.state.name, self.state.active, list(self.state.versions), list(self.state.log))
