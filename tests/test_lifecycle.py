"""A return end to end through a real Temporal dev server and the Shopify emulator."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from engine.activities.shopify import link_key
from tests.conftest import Harness

TRANSITIONS = [
    "new -> requested",
    "requested -> in_transit",
    "in_transit -> received",
    "received -> inspected",
    "inspected -> restocked",
    "restocked -> refunded",
]


def transitions(status) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.detail for a in status.audit if a.kind == "transition" and "->" in a.detail]


async def test_happy_path_restocks_refunds_once_and_closes_the_return(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("happy", "castore", lines=2)
    for i, line in enumerate(sc.order_lines):
        b.returned(sc, i, line.quantity, "A")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    before = {line.sku: harness.shopify.store.stock(harness.domain(sc), line.sku) for line in sc.order_lines}

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    assert transitions(status) == TRANSITIONS
    refunds = harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))
    assert len(refunds) == 1
    # full price of every unit minus the 2.95 return-shipping fee (customer-fault reasons)
    expected = sum((line.unit_price * line.quantity for line in sc.order_lines), Decimal(0)) - Decimal("2.95")
    assert Decimal(str(refunds[0]["amount"])) == expected == sc.expected_refund
    assert status.refund is not None and Decimal(status.refund.amount) == expected
    assert sc.rebound_return_id in refunds[0]["note"]
    dc = harness.mappings["castore"].locations["dc"].id
    for line in sc.order_lines:
        after = harness.shopify.store.stock(harness.domain(sc), line.sku)
        assert after[dc]["available"] == before[line.sku][dc]["available"] + line.quantity
        outlet = harness.mappings["castore"].locations["outlet"].id
        assert after[outlet]["available"] == before[line.sku][outlet]["available"]
    returns = harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc))
    assert [r["status"] for r in returns] == ["CLOSED"]
    # The link: the Shopify return's lines' notes name the Rebound return from the start, the order's metafield from
    # `received` on (its state, the Shopify return); no tags.
    shop = harness.shopify.store.shop(harness.domain(sc))
    [ret] = [shop.returns[rid] for rid in shop.orders[harness.order_id(sc)].return_ids]
    assert all(line.reason_note.endswith(f"[rebound-return:{sc.rebound_return_id}]") for line in ret.lines)
    summary = harness.shopify.store.order_summary(harness.domain(sc), harness.order_id(sc))
    link = json.loads(summary["metafields"][f"rebound.{link_key(sc.rebound_return_id)}"])
    assert link["shopify_return_id"] == ret.id and link["state"] == "received"
    assert summary["tags"] == []


async def test_partial_return_refunds_and_restocks_only_the_returned_line(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("partial", "castore", lines=3)
    b.returned(sc, 1, 1, "B")  # grade B goes to the outlet
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    store, domain = harness.shopify.store, harness.domain(sc)
    before = {line.sku: store.stock(domain, line.sku) for line in sc.order_lines}

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded"
    refunds = store.refunds(domain, harness.order_id(sc))
    assert len(refunds) == 1
    returned = sc.order_lines[1]
    assert Decimal(str(refunds[0]["amount"])) == returned.unit_price - Decimal("2.95")
    assert refunds[0]["lines"] == {returned.sku: 1}
    outlet = harness.mappings["castore"].locations["outlet"].id
    for line in sc.order_lines:
        after = store.stock(domain, line.sku)
        delta = {loc: after[loc]["available"] - before[line.sku][loc]["available"] for loc in after}
        expected = {loc: (1 if line is returned and loc == outlet else 0) for loc in after}
        assert delta == expected, line.sku


async def test_damaged_item_is_never_restocked_nor_refunded(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("damaged", "castore", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "D")  # damaged: not restocked, 0 % refund
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    store, domain = harness.shopify.store, harness.domain(sc)
    damaged_sku = sc.order_lines[1].sku
    before = store.stock(domain, damaged_sku)

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded"
    assert store.stock(domain, damaged_sku) == before
    refunds = store.refunds(domain, harness.order_id(sc))
    assert len(refunds) == 1 and damaged_sku not in refunds[0]["lines"]
    assert Decimal(str(refunds[0]["amount"])) == sc.order_lines[0].unit_price - Decimal("2.95")
    dispositions = {d["type"] for r in store.returns(domain, harness.order_id(sc)) for d in r["dispositions"]}
    assert dispositions == {"RESTOCKED", "NOT_RESTOCKED"}
    item = next(i for i in status.items if i.sku == damaged_sku)
    assert item.disposition == "not_restocked" and item.grade == "D"


async def test_duplicate_pushes_are_no_ops(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("dupes", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    harness.seed(sc)
    store, domain = harness.shopify.store, harness.domain(sc)
    dc = harness.mappings["castore"].locations["dc"].id
    before = store.stock(domain, sc.order_lines[0].sku)[dc]["available"]

    for payload in sc.pushes:
        await harness.push(sc, payload)
        await harness.push(sc, payload)
    status = await harness.wait_state(sc, "refunded")
    await harness.push(sc, sc.pushes[-1])  # a replay after the return finished

    assert status.state == "refunded"
    assert len(store.refunds(domain, harness.order_id(sc))) == 1
    assert store.stock(domain, sc.order_lines[0].sku)[dc]["available"] == before + 1
    final = await harness.status(sc)
    duplicates = [a for a in final.audit if a.kind == "duplicate"]
    assert len(duplicates) == len(sc.pushes) + 1
    assert transitions(final) == TRANSITIONS


async def test_out_of_order_events_are_applied_monotonically(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("reordered", "castore", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    registered, in_transit, received, inspected = sc.pushes

    await harness.push(sc, inspected)  # grading arrives before anything else
    first = await harness.wait_state(sc, "refunded")
    for late in (registered, received, in_transit):
        await harness.push(sc, late)
    status = await harness.wait_state(sc, "refunded")

    assert first.state == "refunded"
    assert transitions(status) == TRANSITIONS  # the skipped milestones ran, in order
    assert len(harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))) == 1
    assert Decimal(status.refund.amount) == sc.expected_refund  # type: ignore[union-attr]
    late_entries = [a for a in status.audit if a.kind == "ignored" and "already refunded" in a.detail]
    assert len(late_entries) == 3


async def test_refund_on_receipt_brand_refunds_before_inspection(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("cult receipt refund", "cult", lines=1)
    b.returned(sc, 0, 1, "B")  # opened beauty product: refunded, never restocked (hygiene)
    b.lifecycle(sc, until="arrivedAtHub")
    harness.seed(sc)
    store, domain = harness.shopify.store, harness.domain(sc)
    before = store.stock(domain, sc.order_lines[0].sku)

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "received")
    for _ in range(50):
        if status.refund is not None:
            break
        status = await harness.status(sc)
    assert status.state == "received" and status.refund is not None and status.refund.status == "issued"
    assert Decimal(status.refund.amount) == sc.order_lines[0].unit_price  # no fee for CULT

    inspection = b.push(sc, "processed", b.now, graded=True)
    await harness.push(sc, inspection)
    status = await harness.wait_state(sc, "refunded")
    assert status.state == "refunded"
    assert len(store.refunds(domain, harness.order_id(sc))) == 1
    assert store.stock(domain, sc.order_lines[0].sku) == before


async def test_refund_on_receipt_covers_every_registered_item_even_when_the_inspection_came_first(
    harness: Harness,
) -> None:
    """CULT refunds on hub receipt, which covers every registered item. The hub's inspection (one item missing)
    overtakes the receipt push: the refund is the same as if it had not, so the amount never depends on which
    push arrived first (the missing item is the drift monitor's to report, not a silent cut)."""
    b = harness.builder
    sc = b.new("cult receipt refund, inspection first", "cult", lines=2)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, None)  # not in the parcel
    b.lifecycle(sc)
    b.expect(sc)
    registered, in_transit, received, inspected = sc.pushes
    sc.pushes = [registered, in_transit, inspected, received]
    harness.seed(sc)

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")

    assert status.state == "refunded" and status.refund is not None
    full = sum((line.unit_price for line in sc.order_lines), Decimal(0))
    assert Decimal(status.refund.amount) == full == sc.expected_refund
    assert len(harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))) == 1


async def test_order_outside_return_window_is_rejected_without_touching_shopify(harness: Harness) -> None:
    from datetime import timedelta

    b = harness.builder
    sc = b.new("late", "castore", lines=1, days_ago=120)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc, until="returnOrderCreated", start=b.now - timedelta(days=1))
    harness.seed(sc)

    await harness.push_all(sc)
    status = await harness.wait_state(sc, "rejected")

    assert status.state == "rejected"
    assert any("return window" in a.detail for a in status.audit)
    assert harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc)) == []
    assert harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc)) == []


async def test_cancel_before_drop_off_cancels_the_shopify_return(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("cancel", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc, until="returnOrderCreated")
    harness.seed(sc)
    await harness.push_all(sc)
    await harness.wait_state(sc, "requested")
    for _ in range(100):
        if (await harness.status(sc)).shopify_return is not None:
            break
        await asyncio.sleep(0.1)

    await harness.push(sc, b.push(sc, "cancelled", b.now))
    status = await harness.wait_state(sc, "cancelled")

    assert status.state == "cancelled"
    returns = harness.shopify.store.returns(harness.domain(sc), harness.order_id(sc))
    assert [r["status"] for r in returns] == ["CANCELED"]
    assert harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc)) == []


async def test_search_attributes_find_returns_by_brand_and_state(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("searchable", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    harness.seed(sc)
    await harness.push_all(sc)
    await harness.wait_state(sc, "refunded")

    query = (
        f"Brand = 'castore' AND ReturnState = 'refunded' AND ReboundReturnId = '{sc.rebound_return_id}'"
        f" AND ShopifyOrder = '{sc.order_name}' AND NeedsAttention = false"
        f" AND MappingVersion = '{harness.mappings['castore'].version}'"
    )
    found: list[str] = []
    for _ in range(50):  # visibility is eventually consistent (~1 s)
        found = [wf.id async for wf in harness.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.2)
    assert found == [f"return-castore-{sc.rebound_return_id}"]
