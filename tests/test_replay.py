"""Determinism: recorded histories must replay against the current workflow code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from engine.temporal.converter import DATA_CONVERTER
from engine.temporal.sandbox import workflow_runner
from engine.workers.starter import handle_for
from engine.workflow.legacy.workflow_v1 import LegacyReturnWorkflow
from engine.workflow.overrides import OVERRIDES
from engine.workflow.return_workflow import ReturnWorkflow
from tests.conftest import Harness

HISTORIES = Path(__file__).parent / "fixtures" / "histories"


def replayer() -> Replayer:
    """Both workflow types a worker registers: returns started on flow format 1 replay on the first workflow."""
    return Replayer(
        workflows=[ReturnWorkflow, LegacyReturnWorkflow],
        workflow_runner=workflow_runner(),
        data_converter=DATA_CONVERTER,
    )  # the workers' (engine.temporal.converter)


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_the_recorded_histories_cover_both_workflows_and_every_override() -> None:
    """What replay guards: both workflow types, and for the flow interpreter every override, the SLA and parcel
    timers, verify_refund's looking again, a failed step retried."""
    types: set[str] = set()
    handlers: set[str] = set()
    for path in HISTORIES.glob("*.json"):
        for event in json.loads(path.read_text())["events"]:
            started = event.get("workflowExecutionStartedEventAttributes")
            if started and started["workflowType"]["name"] == "ReturnWorkflow":
                break
            if started:
                types.add(started["workflowType"]["name"])
            accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
            if accepted:
                handlers.add(accepted["acceptedRequest"]["input"]["name"])
            signalled = event.get("workflowExecutionSignaledEventAttributes")
            if signalled:
                handlers.add(signalled["signalName"])
        else:
            continue
        types.add("ReturnWorkflow")
    assert types == {"Return", "ReturnWorkflow"}
    assert [o.name for o in OVERRIDES if not {o.name, *o.aliases} & handlers] == []


async def test_fresh_history_with_duplicates_and_reordering_replays(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("replay", "castore", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "D")
    b.lifecycle(sc)
    harness.seed(sc)
    registered, in_transit, received, inspected = sc.pushes
    for payload in (registered, inspected, registered, in_transit, received):
        await harness.push(sc, payload)
    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded"
    history = await handle_for(harness.client, sc.brand, sc.rebound_return_id).fetch_history()
    # Record a new fixture after a change to the workflow (keep the old ones: running returns still replay them):
    #   RECORD_HISTORIES=<name> pytest tests/test_replay.py -k fresh
    if name := os.environ.get("RECORD_HISTORIES"):
        (HISTORIES / f"{name}.json").write_text(history.to_json())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_fresh_history_of_a_return_in_two_parcels_replays(harness: Harness) -> None:
    """Oliver Bonas acts per parcel: two rounds, two refunds, in one history."""
    b = harness.builder
    sc = b.new("replay parcels", "oliver", lines=2, quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.in_parcels(sc, [0], [1], late_days=(0, 2))
    b.parcel_lifecycle(sc, graded=False)
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_for(sc, lambda s: s.finished and len(s.refunds) == 2, timeout=30)
    assert status.finished and len(status.refunds) == 2
    history = await handle_for(harness.client, sc.brand, sc.rebound_return_id).fetch_history()
    if name := os.environ.get("RECORD_PARCEL_HISTORY"):
        (HISTORIES / f"{name}.json").write_text(history.to_json())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
