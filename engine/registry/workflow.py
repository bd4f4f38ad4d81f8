"""One long-lived workflow per brand holds its deployed mappings.

Why Temporal: every worker and receiver on every machine already talks to it, it is durable and replicated,
and its history is the audit trail of who deployed or rolled back what, when. Versions are immutable and
content-hashed; deploying the same content again re-activates the existing version instead of copying it.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.registry.messages import (
        ActiveMapping,
        DeployRequest,
        DeployResult,
        RegistryHistory,
        RegistryState,
        RollbackRequest,
        VersionRecord,
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

    def _find(self, ref: str) -> VersionRecord | None:
        text = ref.strip().lower().removeprefix("v")
        for record in self.state.versions:
            if text.isdigit() and record.number == int(text):
                return record
            if not text.isdigit() and len(text) >= 6 and record.version.startswith(text):
                return record
        return None

    @workflow.update
    def deploy(self, request: DeployRequest) -> DeployResult:
        now = workflow.now().isoformat(timespec="seconds")
        version = request.mapping.version
        existing = next((r for r in self.state.versions if r.version == version), None)
        if existing is not None:
            if self.state.active == version:
                return DeployResult(existing.number, version, False, f"v{existing.number} is already active")
            self.state.active = version
            self.state.log.append(f"{now} {request.operator}: re-activated v{existing.number} ({request.note})")
            return DeployResult(existing.number, version, False, f"re-activated v{existing.number}")
        record = VersionRecord(
            number=len(self.state.versions) + 1,
            version=version,
            deployed_by=request.operator,
            deployed_at=now,
            note=request.note,
            source_file=request.mapping.source_file,
        )
        self.state.versions.append(record)
        self.state.mappings[version] = request.mapping
        self.state.active = version
        self.state.log.append(f"{now} {request.operator}: deployed v{record.number} {version} ({request.note})")
        return DeployResult(record.number, version, True, f"deployed v{record.number}")

    @deploy.validator
    def _validate_deploy(self, request: DeployRequest) -> None:
        if request.mapping.brand != self.state.brand:
            raise ValueError(f"mapping is for brand {request.mapping.brand!r}, this registry is {self.state.brand!r}")
        if not request.operator.strip():
            raise ValueError("operator is required")

    @workflow.update
    def rollback(self, request: RollbackRequest) -> DeployResult:
        record = self._find(request.to)
        assert record is not None  # the validator checked
        self.state.active = record.version
        now = workflow.now().isoformat(timespec="seconds")
        self.state.log.append(f"{now} {request.operator}: rolled back to v{record.number} ({request.reason})")
        return DeployResult(record.number, record.version, False, f"v{record.number} is active again")

    @rollback.validator
    def _validate_rollback(self, request: RollbackRequest) -> None:
        record = self._find(request.to)
        if record is None:
            known = ", ".join(f"v{r.number}" for r in self.state.versions) or "none"
            raise ValueError(f"no version {request.to!r} for {self.state.brand} (known: {known})")
        if record.version == self.state.active:
            raise ValueError(f"v{record.number} is already active")
        if not request.operator.strip() or not request.reason.strip():
            raise ValueError("operator and reason are required")

    @workflow.query
    def active(self) -> ActiveMapping | None:
        if self.state.active is None:
            return None
        record = next(r for r in self.state.versions if r.version == self.state.active)
        mapping = self.state.mappings[record.version]
        return ActiveMapping(record.number, record.version, mapping, record.deployed_by, record.deployed_at)

    @workflow.query
    def history(self) -> RegistryHistory:
        return RegistryHistory(self.state.brand, self.state.active, list(self.state.versions), list(self.state.log))
