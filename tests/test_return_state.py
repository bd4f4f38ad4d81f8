"""The return workflow as data: everything a return knows is one record, serialisable as Temporal serialises
payloads, and no module of the workflow keeps state of its own beside it."""

from __future__ import annotations

import ast
import dataclasses
from datetime import UTC, datetime

from temporalio.converter import DataConverter

from engine.activities.messages import RefundOutcome, ShopRef
from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.events import ReturnEvent
from engine.workflow.messages import Hold, ItemStatus, ParcelStatus, ReturnStart
from engine.workflow.state import ReturnState
from tests.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / "engine" / "workflow"


def a_return(flow: FlowDef, mapping: MappingDef) -> ReturnState:
    r = ReturnState(
        start=ReturnStart("castore", "R-1", flow, mapping),
        flow=flow,
        mapping=mapping,
        shop=ShopRef("castore", mapping.shop_domain, mapping.api_version),
        mapping_context=dataclasses.asdict(mapping),
        state="received",
        state_entered_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    r.seen_events |= {"e-1", "e-2"}
    r.items["i-1"] = ItemStatus("i-1", "TEE-M", 2, "Too large", grade="A", disposition="restock")
    r.parcels["ZZ1GB"] = ParcelStatus("ZZ1GB", ["i-1"], arrived_at="2026-12-01T09:00:00Z")
    r.inbox.append(ReturnEvent("e-3", "inspected", "castore", "R-1", "#CA1001", "2026-12-01T10:00:00Z"))
    r.hold = Hold("step_failed", "dispose_items failed: no location", step="restock_items")
    r.refunds.append(RefundOutcome(status="issued", amount="45.00", refund_id="gid://shopify/Refund/1"))
    return r


def test_the_record_round_trips_through_temporal_s_converter(flow: FlowDef, mappings: dict[str, MappingDef]) -> None:
    r = a_return(flow, mappings["castore"])
    converter = DataConverter.default.payload_converter
    back = converter.from_payloads(converter.to_payloads([r]), [ReturnState])[0]
    assert back == r
    assert back.hold == Hold("step_failed", "dispose_items failed: no location", step="restock_items")
    assert back.seen_events == {"e-1", "e-2"} and back.state_entered_at == r.state_entered_at


def test_the_status_is_derived_from_the_record(flow: FlowDef, mappings: dict[str, MappingDef]) -> None:
    r = a_return(flow, mappings["castore"])
    status = r.status()
    assert (status.state, status.needs_attention, status.attention_reason) == (
        "received", True, "dispose_items failed: no location"
    )  # fmt: skip
    assert status.hold == r.hold and status.ending is None
    r.hold, r.state = None, "cancelled"
    assert (r.status().needs_attention, r.status().hold, r.status().ending) == (False, None, "unsettled")
    r.state = "refunded"
    assert r.status().ending == "settled"


def _attributes_set_on_self(path: str) -> set[str]:
    tree = ast.parse((WORKFLOW / path).read_text())
    return {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
    }


def test_no_workflow_module_keeps_state_beside_the_record() -> None:
    """The workflow class holds the record and nothing else; the other modules are functions over it."""
    modules = [str(p.relative_to(WORKFLOW)) for p in WORKFLOW.rglob("*.py") if "legacy" not in p.parts]
    kept = {path: attrs for path in modules if path != "state.py" and (attrs := _attributes_set_on_self(path))}
    assert kept == {"return_workflow.py": {"r"}}
