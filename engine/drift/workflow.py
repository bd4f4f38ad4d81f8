"""The reconciliation, as a workflow the brand's schedule starts: one activity collects and compares (so no
snapshot ever enters history), first-seen times are carried from the previous run's result (Temporal hands a
scheduled run its predecessor's result: last completion result), and only new findings are alerted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from engine.drift.model import Finding, carry_forward


@dataclass
class DriftInput:
    """No URL or secret: the alert endpoint is the worker's own DRIFT_ALERT_URL, read where the alert is sent."""

    brand: str
    alert: bool = True  # post new findings to the worker's DRIFT_ALERT_URL (when it has one)
    alert_url: str | None = None  # only in runs started before the URL left the input; read for their replay
    workflow_task_queue: str | None = None  # only return workflows on this task queue (one deployment)
    unknown_grace_seconds: int = 600
    lookback_days: int = 90


@dataclass
class ReconcileRequest:
    brand: str
    now: str
    workflow_task_queue: str | None
    unknown_grace_seconds: int
    lookback_days: int


@dataclass
class ReconcileResult:
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class AlertRequest:
    brand: str
    findings: list[Finding]


@dataclass
class DriftResult:
    brand: str
    ran_at: str
    findings: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    new: int = 0
    alert: str = ""  # "", "sent", or why not


ALERT_FROM_WORKER = "drift-alert-url-from-worker"


@workflow.defn(name="DriftReconciliation")
class DriftWorkflow:
    @workflow.run
    async def run(self, inp: DriftInput) -> DriftResult:
        last = workflow.get_last_completion_result(DriftResult) if workflow.has_last_completion_result() else None
        now = workflow.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        found: ReconcileResult = await workflow.execute_activity(
            "drift_reconcile",
            ReconcileRequest(inp.brand, now, inp.workflow_task_queue, inp.unknown_grace_seconds, inp.lookback_days),
            result_type=ReconcileResult,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=2), maximum_attempts=5),
        )
        findings, resolved = carry_forward(last.findings if last else [], found.findings, now)
        result = DriftResult(inp.brand, now, findings, resolved, found.counts, sum(1 for f in findings if f.new))
        fresh = [f for f in findings if f.new]
        # Runs recorded before the URL left the input alerted only when it carried one (their replay keeps that).
        wants_alert = inp.alert if workflow.patched(ALERT_FROM_WORKER) else bool(inp.alert_url)
        if wants_alert and fresh:
            try:
                sent = await workflow.execute_activity(
                    "drift_alert",
                    AlertRequest(inp.brand, fresh),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                )
                result.alert = sent if isinstance(sent, str) else "sent"
            except ActivityError as err:
                result.alert = f"alert failed: {err.cause or err}"  # the findings still stand
        return result
