"""The first workflow is sealed: it imports nothing of the live engine (whose modules change under it), keeps the
JSON shapes its running returns' histories hold, and calls the live Shopify activities by names they still answer."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from engine.workflow.legacy import types_v1 as t
from engine.workflow.legacy.definitions_v1 import ReturnStart
from engine.workflow.legacy.steps_v1 import RESULT_TYPES
from tests.imports import imported_modules
from tests.paths import REPO_ROOT

LEGACY = REPO_ROOT / "engine" / "workflow" / "legacy"
HISTORIES = REPO_ROOT / "tests" / "fixtures" / "histories"
INPUTS: dict[str, type] = {
    "validate_order": t.ValidateOrderInput,
    "create_return": t.CreateReturnInput,
    "attach_tracking": t.TrackingInput,
    "sync_order_status": t.OrderStatusInput,
    "dispose_items": t.DisposeInput,
    "issue_refund": t.IssueRefundInput,
    "find_refund": t.IssueRefundInput,
    "credit_bonus": t.BonusInput,
    "close_return": t.ReturnRefInput,
    "cancel_return": t.ReturnRefInput,
}
converter = DataConverter.default.payload_converter


def test_the_first_workflow_imports_nothing_of_the_live_engine() -> None:
    live = [
        f"{path.relative_to(REPO_ROOT)}: {module}"
        for path in sorted(LEGACY.rglob("*.py"))
        for module in sorted(imported_modules(path))
        if (module == "engine" or module.startswith("engine."))
        and not (module == "engine.workflow.legacy" or module.startswith("engine.workflow.legacy."))
    ]
    assert live == []


def recorded_payloads() -> Iterator[tuple[str, str, Payload, type]]:
    """(where, activity name or "", payload, the legacy type that reads it) for every payload of the first
    workflow's recorded histories: start input, events, activity inputs and results, update arguments and results."""
    for path in sorted(HISTORIES.glob("*.json")):
        events = list(WorkflowHistory.from_json(path.stem, json.loads(path.read_text())).events)
        if events[0].workflow_execution_started_event_attributes.workflow_type.name != "ReturnWorkflow":
            continue
        scheduled: dict[int, str] = {}
        for event in events:
            where = f"{path.stem} event {event.event_id}"
            kind = event.WhichOneof("attributes")
            if kind == "workflow_execution_started_event_attributes":
                yield where, "", event.workflow_execution_started_event_attributes.input.payloads[0], ReturnStart
            elif kind == "workflow_execution_signaled_event_attributes":
                yield where, "", event.workflow_execution_signaled_event_attributes.input.payloads[0], t.ReturnEvent
            elif kind == "activity_task_scheduled_event_attributes":
                call = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = name = call.activity_type.name
                yield where, name, call.input.payloads[0], INPUTS[name]
            elif kind == "activity_task_completed_event_attributes":
                done = event.activity_task_completed_event_attributes
                if scheduled[done.scheduled_event_id] in RESULT_TYPES:
                    yield where, "", done.result.payloads[0], RESULT_TYPES[scheduled[done.scheduled_event_id]]
            elif kind == "workflow_execution_update_accepted_event_attributes":
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request.input
                argument = t.DispositionOverride if request.name == "override_disposition" else t.OperatorAction
                yield where, "", request.args.payloads[0], argument
            elif kind == "workflow_execution_update_completed_event_attributes":
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                yield where, "", outcome.success.payloads[0], t.OverrideResult


def kept(recorded: Any, again: Any) -> bool:
    """Every field the history recorded reads back with its value (fields added since, with defaults, may follow)."""
    if isinstance(recorded, dict):
        return isinstance(again, dict) and all(k in again and kept(v, again[k]) for k, v in recorded.items())
    if isinstance(recorded, list):
        return isinstance(again, list) and len(recorded) == len(again) and all(map(kept, recorded, again))
    return bool(recorded == again)


def read_back(payload: Payload, kind: type) -> Any:
    return json.loads(converter.to_payload(converter.from_payload(payload, kind)).data)


def test_every_recorded_payload_reads_back_with_every_field_it_holds() -> None:
    payloads = list(recorded_payloads())
    lost = [
        f"{where}: {kind.__name__}"
        for where, _, p, kind in payloads
        if not kept(json.loads(p.data), read_back(p, kind))
    ]
    assert len(payloads) > 100
    assert lost == []


def test_the_live_activities_answer_the_names_and_inputs_the_first_workflow_sends() -> None:
    from engine.activities.all import ShopifyActivities
    from engine.settings import Settings

    live = {fn.__temporal_activity_definition.name: fn.__temporal_activity_definition
            for fn in ShopifyActivities(Settings(), None).all()}  # type: ignore[arg-type,attr-defined]  # fmt: skip
    source = ast.parse((LEGACY / "steps_v1.py").read_text())
    called = {
        node.args[0].value
        for node in ast.walk(source)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_call"
        if isinstance(node.args[0], ast.Constant)
    }
    assert called == set(INPUTS) and called <= set(live), called - set(live)
    unread = []
    for where, name, payload, _ in recorded_payloads():
        if not name:
            continue
        try:  # the live activity reads what the first workflow sent it
            converter.from_payload(payload, live[name].arg_types[0])
        except (TypeError, ValueError, KeyError) as err:
            unread.append(f"{where}: {name}: {err}")
    assert unread == []
