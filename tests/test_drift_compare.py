"""The drift comparison as a pure function: one test per exception type, plus first-seen carried forward."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from engine.definitions.flow import load_flow
from engine.definitions.mapping import MappingDef
from engine.drift.compare import compare, iso
from engine.drift.model import (
    Finding,
    ReboundItem,
    ReboundReturn,
    ShopifyOrder,
    ShopifyRefund,
    ShopifyReturn,
    WorkflowReturn,
    carry_forward,
)
from engine.drift.report import slack_payload, table, to_csv, to_json
from tests.paths import REPO_ROOT

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RID = "(00)687000001"
ORDER = "gid://shopify/Order/1"


def ago(**delta: float) -> str:
    return iso(NOW - timedelta(**delta))


def rebound(*milestones: str, days: float = 5, grades: tuple[str, ...] = ("A",)) -> ReboundReturn:
    ret = ReboundReturn(RID, "castore", "#CA1001", ago(days=days))
    for i, m in enumerate(milestones):
        ret.milestones[m] = ago(days=days - i * 0.25)
    if "inspected" in milestones:
        ret.graded_items = [ReboundItem("TEE", 1, g) for g in grades]
    return ret


def ending(state: str) -> str | None:
    """What the workflow's status says of a state of the standard flow (terminal: settled or not)."""
    standard = load_flow(REPO_ROOT / "flows" / "return.yaml")
    if not standard.is_terminal(state):
        return None
    return "settled" if standard.settles(state) else "unsettled"


def flow(state: str = "refunded", **kw: object) -> WorkflowReturn:
    base = WorkflowReturn(
        workflow_id=f"return-castore-{RID}", brand="castore", rebound_return_id=RID, run_status="RUNNING",
        state=state, order_name="#CA1001", refund_status="issued", refund_id="gid://shopify/Refund/9",
        refund_amount="42.05", planned_refund="42.05", shopify_return_id="gid://shopify/Return/5",
        restocked={"TEE": 1}, sellable={"TEE": 1}, dispositions_known=True,
        entered={"requested": ago(days=5), "inspected": ago(days=4), "refunded": ago(days=4)}, ending=ending(state),
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def order(*refunds: ShopifyRefund, status: str = "CLOSED") -> ShopifyOrder:
    return ShopifyOrder(
        ORDER, "#CA1001", ["rebound-return", f"rebound:{RID}"], ago(days=10), list(refunds),
        [ShopifyReturn("gid://shopify/Return/5", "#CA1001-R1", status, ago(days=5))],
        {RID: {"rebound_return_id": RID, "shopify_return_id": "gid://shopify/Return/5"}},
    )  # fmt: skip


OURS = ShopifyRefund("gid://shopify/Refund/9", f"Rebound return {RID} [rebound-return:{RID}]", ago(days=4), "42.05")


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.owner) for f in findings]


def run(mapping: MappingDef, r: list[ReboundReturn], o: list[ShopifyOrder], w: list[WorkflowReturn]) -> list[Finding]:
    return compare(mapping, r, o, w, now=NOW)


@pytest.fixture
def castore(mappings: dict[str, MappingDef]) -> MappingDef:
    return mappings["castore"]


def test_clean_return_reports_nothing(castore: MappingDef) -> None:
    assert run(castore, [rebound("registered", "in_transit", "received", "inspected")], [order(OURS)], [flow()]) == []


def test_a_refund_made_by_processing_the_linked_return_is_ours(castore: MappingDef) -> None:
    """returnProcess's refund carries no note of ours: the Shopify return it settled, linked to the Rebound return
    on the order, says whose it is; another return's processing is not."""
    processed = dataclasses.replace(OURS, note="", return_id="gid://shopify/Return/5")
    ret = rebound("registered", "in_transit", "received", "inspected")
    assert run(castore, [ret], [order(processed)], [flow()]) == []
    elsewhere = dataclasses.replace(processed, return_id="gid://shopify/Return/77")
    assert [k for k, _ in kinds(run(castore, [ret], [order(elsewhere)], [flow()]))] == ["manual_refund"]


def marked_order(status: str = "CLOSED", *refunds: ShopifyRefund) -> ShopifyOrder:
    """An order before `received`: no link metafield, no tag; its Shopify return's lines carry the marker."""
    ret = ShopifyReturn("gid://shopify/Return/5", "#CA1001-R1", status, ago(days=5), rebound_return_id=RID)
    return ShopifyOrder(ORDER, "#CA1001", [], ago(days=10), list(refunds), [ret])


def test_an_order_with_only_a_marked_return_is_linked_by_the_marker(castore: MappingDef) -> None:
    """The marker links the order to the Rebound return: a refund made by processing that return is ours, another
    made beside it after registration is a duplicate, and the return left open is found without the workflow's own
    record of it."""
    assert marked_order().rebound_ids() == {RID} and marked_order().return_of(RID) == "gid://shopify/Return/5"
    ret = rebound("registered", "in_transit", "received", "inspected")
    processed = dataclasses.replace(OURS, note="", return_id="gid://shopify/Return/5")
    assert run(castore, [ret], [marked_order("CLOSED", processed)], [flow()]) == []
    by_hand = dataclasses.replace(OURS, id="gid://shopify/Refund/10", note="", created_at=ago(days=3))
    found = run(castore, [ret], [marked_order("CLOSED", processed, by_hand)], [flow()])
    assert kinds(found) == [("duplicate_refund", "finance")]
    left = run(castore, [ret], [marked_order("OPEN", processed)], [flow(shopify_return_id=None)])
    assert [k for k, _ in kinds(left)] == ["return_left_open"]


def test_an_exchange_not_released_after_the_trigger_is_cx_s(castore: MappingDef) -> None:
    """Settled at the trigger with an exchange neither released nor refunded instead, or one awaiting the customer's
    payment once the workflow flagged CX (the payment SLA passed; the workflow source decides which): CX's."""
    ret = rebound("registered", "in_transit", "received", "inspected")
    assert run(castore, [ret], [order(OURS)], [flow(exchanges_unreleased={})]) == []
    found = run(castore, [ret], [order(OURS)], [flow(exchanges_unreleased={"CAS-TEE-BLK-L": "requested"})])
    assert kinds(found) == [("exchange_unreleased", "cx")]
    assert "CAS-TEE-BLK-L (requested)" in found[0].summary
    overdue = flow(exchanges_unreleased={"CAS-HOOD-GRY-M": "awaiting_payment"}, hold_kind="cx", needs_attention=True)
    assert kinds(run(castore, [ret], [order(OURS)], [overdue])) == [("exchange_unreleased", "cx")]


def test_units_refunded_by_processing_that_shopify_does_not_show_processed(castore: MappingDef) -> None:
    """Settled by processing the Shopify return: each refunded unit must show processed in Shopify's record."""
    ret = rebound("registered", "in_transit", "received", "inspected")
    w = flow(processed_units={"gid://shopify/LineItem/1": 2})
    processed = order(OURS)
    processed.returns[0].processed = {"gid://shopify/LineItem/1": 2}
    assert run(castore, [ret], [processed], [w]) == []
    partly = order(OURS)
    partly.returns[0].processed = {"gid://shopify/LineItem/1": 1}
    found = run(castore, [ret], [partly], [w])
    assert [(f.kind, f.owner, f.summary) for f in found] == [
        ("return_unprocessed", "finance", "1 refunded unit(s) not processed on Shopify return #CA1001-R1")
    ]
    assert run(castore, [ret], [partly], [flow()]) == []  # refunded beside the return (return@3): nothing to process
    assert run(castore, [ret], [order(OURS)], [w]) == []  # its record not read: no finding made up


def test_unknown_to_engine_after_the_grace_period(castore: MappingDef) -> None:
    assert kinds(run(castore, [rebound("registered")], [], [])) == [("unknown_to_engine", "ops")]
    fresh = rebound("registered", days=0.001)
    assert run(castore, [fresh], [], []) == []


def test_restock_failed(castore: MappingDef) -> None:
    held = flow("restocked", needs_attention=True, attention_reason="dispose_items failed: nothing left", restocked={},
                hold_kind="step_failed", hold_step="restock_items")  # fmt: skip
    assert kinds(run(castore, [rebound("registered", "inspected")], [order(OURS)], [held])) == [
        ("restock_failed", "ops")
    ]


def test_received_not_restocked_from_rebound_grades_when_the_inspection_never_arrived(castore: MappingDef) -> None:
    stuck = flow("received", restocked={}, sellable={}, dispositions_known=False)
    found = run(castore, [rebound("registered", "received", "inspected", grades=("A", "D"))], [order(OURS)], [stuck])
    assert kinds(found) == [("received_not_restocked", "ops")]
    assert found[0].evidence["not_restocked"] == "TEE x1"


def test_refund_overdue(castore: MappingDef) -> None:
    waiting = flow("received", refund_status=None, refund_id=None, refund_amount=None, restocked={}, sellable={})
    found = run(
        castore, [rebound("registered", "in_transit", "received", "inspected", grades=("C",))], [order()], [waiting]
    )
    assert kinds(found) == [("refund_overdue", "finance")]
    assert found[0].evidence["trigger"] == "inspected"


def test_refund_not_overdue_inside_the_sla(castore: MappingDef) -> None:
    waiting = flow("received", refund_status=None, refund_id=None, sellable={}, restocked={}, entered={})
    assert run(castore, [rebound("registered", "inspected", days=0.5, grades=("C",))], [order()], [waiting]) == []


def test_manual_refund_on_an_engine_order(castore: MappingDef) -> None:
    staff = ShopifyRefund("gid://shopify/Refund/77", "goodwill", ago(days=1), "45.00")
    moving = flow("in_transit", refund_status=None, refund_id=None, entered={"requested": ago(days=5)})
    found = run(castore, [rebound("registered", "in_transit")], [order(staff)], [moving])
    assert kinds(found) == [("manual_refund", "finance")] and found[0].subject == staff.id


def test_refund_before_the_return_is_not_drift(castore: MappingDef) -> None:
    old = ShopifyRefund("gid://shopify/Refund/70", "price match", ago(days=9), "5.00")
    assert run(castore, [rebound("registered", "inspected")], [order(OURS, old)], [flow()]) == []


def test_duplicate_refund_our_marker_twice(castore: MappingDef) -> None:
    again = dataclasses.replace(OURS, id="gid://shopify/Refund/10")
    found = run(castore, [rebound("registered", "inspected")], [order(OURS, again)], [flow()])
    assert kinds(found) == [("duplicate_refund", "finance")]


def test_duplicate_refund_ours_plus_a_manual_one(castore: MappingDef) -> None:
    staff = ShopifyRefund("gid://shopify/Refund/78", "refunded by phone", ago(days=1), "42.05")
    found = run(castore, [rebound("registered", "inspected")], [order(OURS, staff)], [flow()])
    assert kinds(found) == [("duplicate_refund", "finance")]


def test_amount_mismatch(castore: MappingDef) -> None:
    found = run(castore, [rebound("registered", "inspected")], [order(OURS)], [flow(refund_amount="40.00")])
    assert kinds(found) == [("amount_mismatch", "finance")]


def test_amount_mismatch_for_app_refunds(mappings: dict[str, MappingDef]) -> None:
    lounge = mappings["lounge"]
    app = ShopifyRefund("gid://shopify/Refund/9", "Refunded by the ReBound app", ago(days=4), "20.00")
    verified = flow(brand="lounge", refund_status="verified", planned_refund="32.00")
    ret = dataclasses.replace(rebound("registered", "in_transit"), brand="lounge")
    assert kinds(run(lounge, [ret], [order(app)], [verified])) == [("amount_mismatch", "finance")]
    assert run(lounge, [ret], [order(app)], [dataclasses.replace(verified, planned_refund="20.00")]) == []


def test_refunded_on_drop_off_then_found_missing(mappings: dict[str, MappingDef]) -> None:
    """LOUNGE's app refunds every registered unit at drop-off; the hub then finds one missing: money to recover.
    A brand refunding on inspection never paid for it, so the same facts are not an exception there."""
    lounge = mappings["lounge"]
    app = ShopifyRefund("gid://shopify/Refund/9", "Refunded by the ReBound app", ago(days=4), "42.05")
    ret = dataclasses.replace(rebound("registered", "in_transit", "received", "inspected", grades=("S", None)))
    ret.brand = "lounge"
    verified = flow(brand="lounge", refund_status="verified", restocked={"TEE": 1}, sellable={"TEE": 1})

    found = run(lounge, [ret], [order(app)], [verified])

    assert kinds(found) == [("refunded_not_returned", "finance")]
    assert found[0].evidence["missing"] == "TEE x1" and "in_transit" in found[0].summary
    # The hub lists what it found: a registered unit absent from the inspection is missing too.
    absent = dataclasses.replace(
        ret, registered_items=[ReboundItem("TEE", 2), ReboundItem("CAP", 1)], graded_items=[ReboundItem("TEE", 2, "S")]
    )
    [finding] = run(lounge, [absent], [order(app)], [verified])
    assert finding.evidence["missing"] == "CAP x1"
    whole = dataclasses.replace(ret, graded_items=[ReboundItem("TEE", 1, "S"), ReboundItem("TEE", 1, "S")])
    assert run(lounge, [whole], [order(app)], [verified]) == []
    castore = mappings["castore"]
    graded = rebound("registered", "in_transit", "received", "inspected", grades=("A", None))
    assert run(castore, [graded], [order(OURS)], [flow()]) == []


def test_return_left_open(castore: MappingDef) -> None:
    found = run(castore, [rebound("registered", "inspected")], [order(OURS, status="OPEN")], [flow()])
    assert kinds(found) == [("return_left_open", "cx")]


def test_needs_attention_only_when_nothing_else_explains_it(castore: MappingDef) -> None:
    held = flow("requested", needs_attention=True, attention_reason="validate_order failed: boom", entered={},
                hold_kind="step_failed", hold_step="validate_order")  # fmt: skip
    held.refund_status = None
    assert kinds(run(castore, [rebound("registered", days=0.5)], [order()], [held])) == [("needs_attention", "ops")]


def test_owner_comes_from_the_mapping(castore: MappingDef) -> None:
    custom = dataclasses.replace(castore, owners={**castore.owners, "return_left_open": "finance"})
    found = run(custom, [rebound("registered", "inspected")], [order(OURS, status="OPEN")], [flow()])
    assert kinds(found) == [("return_left_open", "finance")]


def test_first_seen_is_kept_and_resolved_findings_reported(castore: MappingDef) -> None:
    first = run(castore, [rebound("registered")], [], [])
    opened, resolved = carry_forward([], first, "2026-11-26T12:00:00Z")
    assert opened[0].new and opened[0].first_seen == "2026-11-26T12:00:00Z" and resolved == []
    again, resolved = carry_forward(opened, run(castore, [rebound("registered")], [], []), "2026-11-26T13:00:00Z")
    assert not again[0].new and again[0].first_seen == "2026-11-26T12:00:00Z"
    assert again[0].last_seen == "2026-11-26T13:00:00Z"
    done, resolved = carry_forward(again, [], "2026-11-26T14:00:00Z")
    assert done == [] and [f.kind for f in resolved] == ["unknown_to_engine"]


def test_reports(castore: MappingDef) -> None:
    found, _ = carry_forward([], run(castore, [rebound("registered")], [], []), "2026-11-26T12:00:00Z")
    assert "unknown_to_engine *" in table(found) and "1 exception(s), 1 new" in table(found)
    assert to_csv(found).splitlines()[0].startswith("first_seen,brand,owner,kind")
    assert '"by_kind": {\n    "unknown_to_engine": 1' in to_json(found)
    assert slack_payload("castore", found)["text"].startswith("Returns drift (castore): 1 new exception(s)")
    assert table([]).startswith("no drift")


def test_a_refund_per_parcel_is_not_a_duplicate_but_the_same_parcel_twice_is(mappings: dict[str, MappingDef]) -> None:
    oliver = mappings["oliver"]
    second = ShopifyRefund("gid://shopify/Refund/10", f"Rebound return {RID} [rebound-return:{RID}] "
                           "[rebound-parcels:ZZ2GB]", ago(days=2), "54.00")  # fmt: skip
    per_parcel = flow(brand="oliver", refund_parts=2, refund_amount="96.05")
    ret = rebound("registered", "in_transit", "received")
    assert run(oliver, [ret], [order(OURS, second)], [per_parcel]) == []
    again = dataclasses.replace(second, id="gid://shopify/Refund/11")
    found = run(oliver, [ret], [order(OURS, second, again)], [per_parcel])
    assert kinds(found) == [("duplicate_refund", "finance")]


def test_a_return_waiting_for_a_parcel_is_not_overdue_its_late_parcel_is_named(castore: MappingDef) -> None:
    """One parcel inspected four days ago, the other not in: no restock or refund is due yet; the workflow's
    SLA for the late parcel is what ops see."""
    reason = "SLA: parcel ZZ2GB not arrived 7d after parcel ZZ1GB did (2026-11-22): chase the carrier"
    waiting = flow(state="in_transit", refund_status=None, refund_id=None, refund_amount=None, restocked={},
                   sellable={}, dispositions_known=False, waiting_for_parcels=["ZZ2GB"], needs_attention=True,
                   attention_reason=reason, hold_kind="parcel")  # fmt: skip
    ret = rebound("registered", "in_transit", "received", "inspected")
    found = run(castore, [ret], [order(status="OPEN")], [waiting])
    assert [(f.kind, f.summary) for f in found] == [("needs_attention", "parcel ZZ2GB not arrived 7d")]
    not_waiting = dataclasses.replace(waiting, waiting_for_parcels=[], needs_attention=False, attention_reason=None,
                                      hold_kind=None)  # fmt: skip
    assert {f.kind for f in run(castore, [ret], [order(status="OPEN")], [not_waiting])} == {
        "received_not_restocked",
        "refund_overdue",
    }
