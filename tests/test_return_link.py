"""The Shopify return carries the link to its Rebound return: each line's note names it with the marker refunds
use (`[rebound-return:<id>]`), so registering writes nothing on the order (unless lines were refused: CX reads
why on the order from the start), a retry whose ReturnCreate answer was lost adopts the return by that marker,
and the order's link metafield comes with the status at `received`."""

from __future__ import annotations

import json

from emulators.rebound.scenarios import Scenario
from engine.activities.returns import marked_return, marks
from engine.activities.shopify import METAFIELD_NAMESPACE, link_key, marked_note, refund_marker
from tests.conftest import Harness


def line_notes(harness: Harness, sc: Scenario) -> list[str]:
    shop = harness.shopify.store.shop(harness.domain(sc))
    order = shop.orders[harness.order_id(sc)]
    return [line.reason_note for rid in order.return_ids for line in shop.returns[rid].lines]


def order_link(harness: Harness, sc: Scenario) -> dict[str, object] | None:
    metafields = harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))["metafields"]
    value = metafields.get(f"{METAFIELD_NAMESPACE}.{link_key(sc.rebound_return_id)}")
    return json.loads(value) if value else None


def test_the_marker_survives_a_note_cut_to_shopifys_255_characters() -> None:
    marker = refund_marker("R-1")
    assert marked_note("Rebound R-1: too small", "R-1") == f"Rebound R-1: too small {marker}"
    long = marked_note("x" * 400, "R-1")
    assert len(long) == 255 and long.endswith(marker)
    assert marked_note("", "R-1") == marker
    assert marked_note(f"already {marker}", "R-1") == f"already {marker}"


def test_a_return_is_ours_by_its_marker_or_the_note_written_before_it_never_by_its_quantities() -> None:
    def order(*notes: str) -> dict[str, object]:
        returns = [{"id": f"gid://shopify/Return/{i}", "status": "OPEN",
                    "returnLineItems": {"nodes": [{"id": f"rl{i}", "quantity": 1, "returnReasonNote": note}]}}
                   for i, note in enumerate(notes)]  # fmt: skip
        return {"returns": {"nodes": returns}}

    assert marked_return(order("a person's return", "Rebound R-10: too big [rebound-return:R-10]"), "R-1") is None
    assert marked_return(order("a person's return", "x [rebound-return:R-1]"), "R-1") == "gid://shopify/Return/1"
    assert marks("Rebound R-1: too small", "R-1") and not marks("Rebound R-10: too small", "R-1")


async def test_registering_writes_the_return_only_its_notes_carry_the_link(harness: Harness) -> None:
    sc = harness.new_return("link-at-create", until="returnOrderCreated")
    bucket = harness.shopify.bucket(harness.domain(sc))
    before = bucket.calls.copy()
    await harness.push_all(sc)
    status = await harness.wait_for(sc, lambda s: s.shopify_return is not None)
    assert status.shopify_return is not None, status.audit
    calls = bucket.calls - before
    assert calls["ReturnCreate"] == 1 and calls["OrderLinkSet"] == calls["OrderStatusSet"] == 0, dict(calls)
    notes = line_notes(harness, sc)
    assert notes and all(note.endswith(refund_marker(sc.rebound_return_id)) for note in notes), notes
    summary = harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))
    assert summary["tags"] == [] and order_link(harness, sc) is None


async def test_a_lost_return_create_answer_is_adopted_by_the_marker_not_created_again(harness: Harness) -> None:
    sc = harness.new_return("lost-return-create")
    faults = harness.shopify.faults
    faults.fail_next("lost_response", operation="ReturnCreate")
    try:
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded")
    finally:
        faults.clear()
    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    assert faults.commits["ReturnCreate"] == 1
    [ret] = harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc))
    assert status.shopify_return is not None and status.shopify_return.adopted
    assert status.shopify_return.return_id == ret["id"] and ret["status"] == "CLOSED"
    # The order's link, written at `received`, names the adopted return; no tags.
    link = order_link(harness, sc)
    assert link is not None and link["shopify_return_id"] == ret["id"] and link["state"] == "received"
    assert harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))["tags"] == []


async def test_refused_lines_are_on_the_orders_link_from_registration(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("earrings and a ring, registered", "tatty", skus=["TD-EAR-P-HOOP", "TD-RING-STAR"], quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.lifecycle(sc, until="returnOrderCreated")
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_for(sc, lambda s: s.shopify_return is not None)
    assert status.shopify_return is not None, status.audit
    link = order_link(harness, sc)
    assert link is not None and link["state"] == "requested"
    assert link["shopify_return_id"] == status.shopify_return.return_id
    assert link["refused"] == ["TD-EAR-P-HOOP: Pierced earrings cannot be returned, for hygiene reasons"]
    assert harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))["tags"] == []


async def test_a_persons_return_of_the_same_units_is_not_adopted_for_a_lost_answer(harness: Harness) -> None:
    """Someone opened a return of one unit in the admin; ours, of the other unit of the same line, loses its
    ReturnCreate answer: the retry adopts ours (its marker), not theirs (the same line and quantity)."""
    from emulators.shopify import returns as shopify_returns
    from emulators.shopify.reasons import REASON_DEFINITIONS

    b = harness.builder
    sc = b.new("a person's return first", "castore", lines=1, quantity=2)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    store, shop = harness.shopify.store, harness.shopify.store.shop(harness.domain(sc))
    order = shop.orders[harness.order_id(sc)]
    fli = order.fulfillments[0].line_items[0].id
    theirs = shopify_returns.create_return(store, shop, {"orderId": order.id, "returnLineItems": [
        {"fulfillmentLineItemId": fli, "quantity": 1, "returnReasonDefinitionId": REASON_DEFINITIONS[1].id,
         "returnReasonNote": "customer called"}]})  # fmt: skip
    assert theirs.ok and theirs.value is not None
    faults = harness.shopify.faults
    faults.fail_next("lost_response", operation="ReturnCreate")
    try:
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded")
    finally:
        faults.clear()
    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    assert faults.commits["ReturnCreate"] == 1
    assert status.shopify_return is not None and status.shopify_return.adopted
    assert status.shopify_return.return_id != theirs.value.id
    statuses = {r["id"]: r["status"] for r in store.returns(harness.domain(sc), order.id)}
    assert statuses == {theirs.value.id: "OPEN", status.shopify_return.return_id: "CLOSED"}
