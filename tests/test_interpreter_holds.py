"""The flow interpreter never fails a workflow task into a retry loop: a step that crashes (a bug, an answer of an
unexpected shape) holds the return with the reason, and an operator's retry continues it. Overrides arrive as
signals too, the tctl way: applied when they fit, written in the audit trail when refused or unknown."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from engine.definitions.flow import StepCall
from engine.temporal.binaries import temporal_cli
from engine.workers.starter import handle_for
from engine.workflow.messages import Hold, workflow_id
from engine.workflow.state import ReturnState
from engine.workflow.steps import STEPS, Request, Step
from tests.conftest import Harness


async def signal(env: WorkflowEnvironment, wf_id: str, name: str, payload: Any) -> subprocess.CompletedProcess[str]:
    args = [str(temporal_cli()), "workflow", "signal", "--address", env.client.service_client.config.target_host,
            "-w", wf_id, "--name", name, "--input", json.dumps(payload)]  # fmt: skip
    return await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, timeout=60)


async def test_a_step_that_crashes_holds_the_return_and_a_retry_continues_it(
    harness: Harness, temporal_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = harness.new_return("crashing step", "castore", ("A",))
    broken: list[str] = []

    def crash(r: ReturnState, call: StepCall) -> list[Request]:
        broken.append(call.step)
        raise KeyError("grades")  # what a bug looks like: an exception nobody planned for

    monkeypatch.setitem(STEPS, "assign_dispositions", Step(crash))
    await harness.push_all(sc)
    held = await harness.wait_for(sc, lambda s: s.needs_attention, timeout=30)
    assert held.state == "inspected" and held.needs_attention
    assert held.attention_reason == "assign_dispositions crashed: KeyError: 'grades'"
    assert held.hold == Hold("step_failed", "assign_dispositions crashed: KeyError: 'grades'", "assign_dispositions")
    history = await handle_for(harness.client, sc.brand, sc.rebound_return_id).fetch_history()
    failed_tasks = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed_tasks == [] and broken == ["assign_dispositions"]  # held once, not retried in a loop

    monkeypatch.undo()  # the fix is deployed
    done = await signal(temporal_env, workflow_id(sc.brand, sc.rebound_return_id), "retry_step",
                        {"operator": "ana@castore", "reason": "fix deployed"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded" and not status.needs_attention
    assert len(harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))) == 1


async def test_overrides_as_signals_are_applied_refused_or_recorded_never_dropped(
    harness: Harness, temporal_env: WorkflowEnvironment
) -> None:
    sc = harness.new_return("signals", "castore", ("A",))
    registered, in_transit, received, inspected = sc.pushes
    await harness.push(sc, registered)
    await harness.wait_for(sc, lambda s: s.shopify_return is not None)
    wf_id = workflow_id(sc.brand, sc.rebound_return_id)

    held = await signal(temporal_env, wf_id, "hold", {"operator": "ana@castore", "reason": "customer called"})
    assert held.returncode == 0, held.stderr
    status = await harness.wait_for(sc, lambda s: s.needs_attention)
    assert status.attention_reason == "held by ana@castore: customer called"
    assert status.hold is not None and (status.hold.kind, status.hold.blocking) == ("operator", True)

    # Refused: a second hold; a resume without a reason; a payload that is not an override. Unknown: a typo.
    await signal(temporal_env, wf_id, "hold", {"operator": "bob", "reason": "again"})
    await signal(temporal_env, wf_id, "resume", {"operator": "bob", "reason": ""})
    await signal(temporal_env, wf_id, "cancel", "please")
    await signal(temporal_env, wf_id, "resum", {"operator": "bob", "reason": "typo"})
    status = await harness.wait_for(sc, lambda s: sum(a.kind == "refused" for a in s.audit) == 4)
    refused = [(a.actor, a.detail) for a in status.audit if a.kind == "refused"]
    assert refused == [
        ("bob", "signal hold refused: already held: held by ana@castore: customer called"),
        ("bob", "signal resume refused: operator and reason are required"),
        ("unknown", "signal cancel refused: the input must be a JSON object with operator and reason, not str"),
        ("engine", "unknown signal 'resum' ignored (overrides: hold, resume, retry_step, override_disposition, "
                   "force_refund, skip_refund, mark_received, cancel, parcel_lost)"),
    ]  # fmt: skip
    assert status.needs_attention and status.state == "requested"

    resumed = await signal(temporal_env, wf_id, "resume", {"operator": "ana@castore", "reason": "parcel found"})
    assert resumed.returncode == 0
    for payload in (in_transit, received, inspected):
        await harness.push(sc, payload)
    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded" and not status.needs_attention
