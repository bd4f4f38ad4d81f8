"""The workflow sandbox every worker and replayer of the engine uses."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner() -> SandboxedWorkflowRunner:
    # jmespath is pure and deterministic; passing it through avoids re-importing it for every run.
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("jmespath"))
