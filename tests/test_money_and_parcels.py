"""Returns as brands really have them, end to end on a real Temporal dev server and the Shopify emulator: an order
paid in EUR on a GBP shop, prices without tax, a gift card and a card, a second return of the same order, a
return in two parcels. Each test checks what finance and ops would look at in Shopify afterwards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from emulators.rebound.scenarios import OrderMoney, Scenario, implied_rate, tax_on
from engine.money import to_money
from tests.conftest import Harness


def our_refunds(h: Harness, sc: Scenario) -> list[dict]:  # type: ignore[type-arg]
    marker = f"[rebound-return:{sc.rebound_return_id}]"
    return [r for r in h.shopify.store.refunds(h.domain(sc), h.order_id(sc)) if marker in (r["note"] or "")]


def one_unit_return(h: Harness, name: str, brand: str, money: OrderMoney, *, grade: str = "A") -> Scenario:
    sc = h.builder.new(name, brand, lines=1, money=money, quantity=1)
    h.builder.returned(sc, 0, 1, grade)
    h.builder.lifecycle(sc, until="processed" if brand == "castore" else "arrivedAtHub")
    h.builder.expect(sc)
    h.seed(sc)
    return sc


async def test_an_order_paid_in_eur_is_refunded_in_eur(harness: Harness) -> None:
    h = harness
    sc = one_unit_return(h, "EUR order", "castore", OrderMoney("EUR", Decimal("1.17")))
    price = sc.order_lines[0].unit_price  # in EUR: the catalogue's GBP price at 1.17

    await h.push_all(sc)
    status = await h.wait_state(sc, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    [refund] = our_refunds(h, sc)
    fee = to_money(Decimal("2.95") * implied_rate(sc, "GBP"), "EUR")  # CASTORE's 2.95 GBP fee at the order's rate
    assert fee in (Decimal("3.45"), Decimal("3.46"))  # 2.95 x 1.17 = 3.4515
    assert refund["currency"] == "EUR"
    assert refund["amount"] == price - fee == sc.expected_refund
    assert refund["transactions"] == [("shopify_payments", price - fee)]
    assert refund["shop_amount"] == to_money((price - fee) / Decimal("1.17"), "GBP")
    assert status.refund is not None and status.refund.currency == "EUR"
    assert Decimal(status.refund.amount) == price - fee


async def test_an_order_with_tax_on_top_is_refunded_with_its_tax(harness: Harness) -> None:
    h = harness
    us = OrderMoney("USD", Decimal("1.27"), taxes_included=False, tax_rate=Decimal("0.08875"))
    sc = one_unit_return(h, "tax excluded", "oliver", us)
    price = sc.order_lines[0].unit_price

    await h.push_all(sc)
    status = await h.wait_state(sc, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    [refund] = our_refunds(h, sc)
    tax = tax_on(price, Decimal("0.08875"), "USD")
    fee = to_money(Decimal("3.50") * implied_rate(sc, "GBP"), "USD")
    assert fee in (Decimal("4.44"), Decimal("4.45"))  # 3.50 x 1.27 = 4.445: the order's totals decide
    assert tax > 0 and refund["currency"] == "USD"
    assert refund["amount"] == price + tax - fee == sc.expected_refund


async def test_a_gift_card_and_a_card_are_refunded_gift_card_first_summing_to_the_refund(harness: Harness) -> None:
    h = harness
    split = OrderMoney(payments=[("gift_card", Decimal("20.00")), ("shopify_payments", Decimal(0))])
    sc = one_unit_return(h, "gift card + card", "castore", split)
    price = sc.order_lines[0].unit_price
    assert price - Decimal("2.95") > Decimal("20.00")  # the refund needs both payments

    await h.push_all(sc)
    status = await h.wait_state(sc, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    [refund] = our_refunds(h, sc)
    assert refund["amount"] == price - Decimal("2.95")
    assert refund["transactions"] == [("gift_card", Decimal("20.00")), ("shopify_payments", price - Decimal("22.95"))]
    assert sum(amount for _, amount in refund["transactions"]) == refund["amount"]
    assert [(t.gateway, Decimal(t.amount)) for t in status.refund.tenders] == refund["transactions"]  # type: ignore[union-attr]


async def test_a_second_return_of_the_same_order_refunds_only_what_is_left(harness: Harness) -> None:
    """The customer registers a second return while the first is in the post; the first's refund then lands
    on the same line. The second must not mistake it for a staff refund, must get its own Shopify return, restock
    only its unit and refund only it; a third asking for units already returned is rejected."""
    h, b = harness, harness.builder
    first = b.new("first", "castore", lines=1, quantity=2)
    b.returned(first, 0, 1, "A")
    b.lifecycle(first)
    b.expect(first)
    second = b.second_return(first, "second")
    b.returned(second, 0, 1, "A")
    b.lifecycle(second, start=first.order_processed_at + timedelta(days=2))  # registered before the first's refund
    b.expect(second, refunded_before=first.expected_refund)
    third = b.second_return(first, "third")
    b.returned(third, 0, 1, "A")
    b.lifecycle(third, until="returnOrderCreated", start=first.order_processed_at + timedelta(days=9))
    h.seed(first)
    store, domain = h.shopify.store, h.domain(first)
    sku, price = first.order_lines[0].sku, first.order_lines[0].unit_price
    dc = h.mappings["castore"].locations["dc"].id
    before = store.stock(domain, sku)[dc]["available"]

    await h.push(second, second.pushes[0])
    await h.wait_for(second, lambda s: s.shopify_return is not None)
    await h.push_all(first)
    assert (await h.wait_state(first, "refunded")).state == "refunded"
    for payload in second.pushes[1:]:
        await h.push(second, payload)
    status = await h.wait_state(second, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    assert status.refund is not None and status.refund.status == "issued"
    [first_refund], [second_refund] = our_refunds(h, first), our_refunds(h, second)
    assert first_refund["amount"] == second_refund["amount"] == price - Decimal("2.95") == second.expected_refund
    assert second_refund["lines"] == {sku: 1}
    returns = store.returns(domain, h.order_id(first))
    assert len(returns) == 2 and all(r["lines"] == {sku: 1} for r in returns)
    assert store.stock(domain, sku)[dc]["available"] == before + 2
    assert store.order_summary(domain, h.order_id(first))["refundable"] == {sku: 0}

    await h.push_all(third)
    rejected = await h.wait_state(third, "rejected")
    assert rejected.state == "rejected"
    assert any("still refundable" in a.detail for a in rejected.audit), [a.detail for a in rejected.audit]
    assert len(store.returns(domain, h.order_id(first))) == 2 and our_refunds(h, third) == []


async def test_a_two_parcel_return_waits_for_the_late_parcel_then_acts_once(harness: Harness) -> None:
    """CASTORE acts when every parcel is in: the first parcel arrives and is graded, nothing moves; the second
    arrives three days later and the return is restocked and refunded once, for both."""
    h, b = harness, harness.builder
    sc = b.new("multi-parcel", "castore", lines=2, quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.in_parcels(sc, [0], [1], late_days=(0, 3))
    b.parcel_lifecycle(sc)
    b.expect(sc)
    h.seed(sc)
    store, domain = h.shopify.store, h.domain(sc)
    late = sc.parcels[1].tracking_number
    late_pushes = [p for p in sc.pushes if p["order"]["trackingNumber"] == late and
                   p["order"]["statusDescription"] in ("arrivedAtHub", "processed")]  # fmt: skip
    early = [p for p in sc.pushes if p not in late_pushes]

    for payload in early:
        await h.push(sc, payload)
    waiting = await h.wait_for(sc, lambda s: sum(a.kind == "event" for a in s.audit) == len(early)
                               and "in_transit:attach_tracking" in s.steps_done)  # fmt: skip
    assert any("held before received: waiting for parcel(s) " + late in a.detail for a in waiting.audit)
    assert waiting.state == "in_transit" and waiting.restocked == {} and our_refunds(h, sc) == []
    assert [p.tracking_number for p in waiting.parcels if p.arrived_at is None] == [late]
    tracking = store.returns(domain, h.order_id(sc))[0]["tracking"]
    assert {t["number"]: t["lines"] for t in tracking} == {
        sc.parcels[0].tracking_number: {sc.order_lines[0].sku: 1},
        late: {sc.order_lines[1].sku: 1},
    }

    for payload in late_pushes:
        await h.push(sc, payload)
    status = await h.wait_state(sc, "refunded")

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    [refund] = our_refunds(h, sc)
    assert (
        refund["amount"]
        == sc.expected_refund
        == sum((line.unit_price for line in sc.order_lines), Decimal(0)) - Decimal("2.95")
    )
    assert status.restocked == sc.expected_restock and len(sc.expected_restock) == 2
    assert [r["status"] for r in store.returns(domain, h.order_id(sc))] == ["CLOSED"]


@pytest.mark.parametrize("lost_first_response", [False, True], ids=["", "first refund's response lost"])
async def test_a_brand_acting_per_parcel_restocks_and_refunds_each_parcel_as_it_arrives(
    harness: Harness, lost_first_response: bool
) -> None:
    """Oliver Bonas acts per parcel: the first parcel is restocked and refunded (less the fee) on receipt while
    the Shopify return stays open; the second gets its own refund with no second fee, then the return closes. The
    fee is charged once even when the first refund's response was lost and its retry found it already made (the
    chaos soak caught the second parcel paying the fee again)."""
    h, b = harness, harness.builder
    if lost_first_response:
        h.shopify.faults.fail_next("lost_response", operation="RefundCreate")
    sc = b.new("multi-parcel", "oliver", lines=2, quantity=1)
    b.returned(sc, 0, 1, "A")
    b.returned(sc, 1, 1, "A")
    b.in_parcels(sc, [0], [1], late_days=(0, 2))
    b.parcel_lifecycle(sc, graded=False)
    b.expect(sc)
    h.seed(sc)
    store, domain = h.shopify.store, h.domain(sc)
    late = sc.parcels[1].tracking_number
    late_arrival = next(p for p in sc.pushes if p["order"]["trackingNumber"] == late
                        and p["order"]["statusDescription"] == "arrivedAtHub")  # fmt: skip
    first, second = sc.order_lines
    warehouse = h.mappings["oliver"].locations["warehouse"].id

    for payload in sc.pushes:
        if payload is not late_arrival:
            await h.push(sc, payload)
    partial = await h.wait_for(sc, lambda s: s.state == "refunded" and "round" not in "".join(s.steps_done)
                               and any("left open" in a.detail for a in s.audit), timeout=30)  # fmt: skip
    assert partial.state == "refunded" and not partial.finished
    [refund] = our_refunds(h, sc)
    assert refund["amount"] == first.unit_price - Decimal("3.50") and refund["lines"] == {first.sku: 1}
    assert partial.restocked == {f"{first.sku}@{warehouse}": 1}
    assert [r["status"] for r in store.returns(domain, h.order_id(sc))] == ["OPEN"]

    await h.push(sc, late_arrival)
    status = await h.wait_for(sc, lambda s: s.finished, timeout=30)

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    refunds = our_refunds(h, sc)
    assert [r["amount"] for r in refunds] == [first.unit_price - Decimal("3.50"), second.unit_price]
    assert [r["lines"] for r in refunds] == [{first.sku: 1}, {second.sku: 1}]
    assert sum(r["amount"] for r in refunds) == sc.expected_refund
    assert status.restocked == {f"{first.sku}@{warehouse}": 1, f"{second.sku}@{warehouse}": 1}
    assert [r["status"] for r in store.returns(domain, h.order_id(sc))] == ["CLOSED"]
