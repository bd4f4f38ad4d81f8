"""Settling through Shopify's return (flows return@5, express@4): the refund is issued by processing the Shopify
return (returnProcess), the mapping's fees are Shopify fees on it, and the return is processed once whatever
fails: a lost response, a person processing it in the admin first."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx

from emulators.rebound.scenarios import SHIPPING, OrderMoney, Scenario
from emulators.settlement import processing_problems
from engine.drift.model import ShopifyOrder, ShopifyReturn
from engine.drift.processed import read_processed, unprocessed_units
from engine.drift.workflow_source import summarise
from engine.money import to_money
from engine.shopify.client import ShopConnection, ShopifyClient
from tests.conftest import Harness


def shopify_record(harness: Harness, sc: Scenario) -> tuple[dict, list[dict]]:
    """The Shopify return and the order's refunds, as the shop holds them."""
    store, domain, order_id = harness.shopify.store, harness.domain(sc), harness.order_id(sc)
    [ret] = store.returns(domain, order_id)
    return ret, store.refunds(domain, order_id)


async def test_a_refund_is_issued_by_processing_the_shopify_return_with_its_fee_on_it(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("processed", "castore", lines=2)
    b.returned(sc, 0, 1, "A")  # customer's fault (a size): the return shipping fee applies
    b.returned(sc, 1, 1, "A")
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert status.finished and status.refund is not None and status.refund.status == "issued"
    assert status.flow.startswith("return@5")

    ret, refunds = shopify_record(harness, sc)
    assert ret["processed"] == ret["lines"]  # every refunded unit settled in Shopify's record
    assert ret["status"] == "CLOSED"
    assert [(r["return_id"], r["amount"]) for r in refunds] == [(ret["id"], sc.expected_refund)]
    assert Decimal(status.refund.amount) == sc.expected_refund
    assert ret["fees_charged"] == Decimal("2.95")  # castore's return shipping fee, as a Shopify fee
    assert "process_shopify_return" in status.steps_done and "issue_refund" not in status.steps_done


async def test_a_lost_response_of_returnprocess_does_not_process_or_refund_twice(harness: Harness) -> None:
    sc = harness.new_return("lost processing answer", "castore", ("A",))
    harness.start_options = {"activity_timeout_seconds": 10}
    faults = harness.shopify.faults
    faults.fail_next("lost_response", operation="ReturnProcess")
    faults.fail_next("read_timeout", operation="ReturnProcess")  # and the retry's too
    faults.configure(timeout_seconds=0.3)
    try:
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded", timeout=120)
    finally:
        faults.clear()
    ret, refunds = shopify_record(harness, sc)
    assert faults.commits["ReturnProcess"] == 1  # the retries read Shopify's record and found it processed
    assert len(refunds) == 1 and refunds[0]["return_id"] == ret["id"]
    assert status.refund is not None and status.refund.status == "already_issued"
    assert status.refund.refund_id == refunds[0]["id"] and Decimal(status.refund.amount) == sc.expected_refund
    assert ret["processed"] == ret["lines"] and not status.needs_attention


async def test_a_return_processed_by_a_person_first_is_not_refunded_again_and_finance_is_told(
    harness: Harness,
) -> None:
    sc = harness.new_return("processed in the admin", "castore", ("A",))
    faults = harness.shopify.faults
    # A person processes the return (its lines and their refund) in the admin just before the engine does.
    faults.configure(operation="ReturnProcess", manual_refund_rate=1.0)
    try:
        await harness.push_all(sc)
        status = await harness.wait_for(sc, lambda s: s.finished, timeout=60)
    finally:
        faults.clear()
    ret, refunds = shopify_record(harness, sc)
    assert len(refunds) == 1 and refunds[0]["return_id"] == ret["id"]  # the person's; none of ours
    assert faults.commits.get("ReturnProcess", 0) == 0  # ours never wrote: refused, then read and understood
    assert status.state == "refunded" and status.refund is not None and status.refund.status == "preempted"
    assert status.refund.refund_id == refunds[0]["id"]
    assert status.hold is not None and (status.hold.kind, status.hold.blocking) == ("finance", False)
    assert ret["processed"] == ret["lines"] and ret["status"] == "CLOSED"


async def test_the_mapping_can_refund_shipping_when_the_merchant_is_at_fault(harness: Harness) -> None:
    """refund.refund_shipping: merchant_fault: a faulty item's return gets the order's shipping back too, at
    Shopify's figure; a size return under the same mapping does not."""
    castore = harness.mappings["castore"]
    rules = dataclasses.replace(castore.refund, refund_shipping="merchant_fault")
    harness.mappings = {**harness.mappings, "castore": dataclasses.replace(castore, refund=rules)}
    b = harness.builder
    faulty, size = b.new("faulty", "castore", lines=1), b.new("too big", "castore", lines=1)
    b.returned(faulty, 0, 1, "A", fault=False)  # the merchant's fault: no return shipping fee either
    b.returned(size, 0, 1, "A")
    for sc in (faulty, size):
        b.lifecycle(sc)
        b.expect(sc)
    harness.seed(faulty, size)
    for sc in (faulty, size):
        await harness.push_all(sc)
    refunded = {sc.name: await harness.wait_state(sc, "refunded") for sc in (faulty, size)}
    _, faulty_refunds = shopify_record(harness, faulty)
    _, size_refunds = shopify_record(harness, size)
    assert [r["amount"] for r in faulty_refunds] == [faulty.expected_refund + SHIPPING]
    assert [r["amount"] for r in size_refunds] == [size.expected_refund]
    assert Decimal(refunded["faulty"].refund.amount) == faulty.expected_refund + SHIPPING  # type: ignore[union-attr]


async def test_drift_reads_shopify_s_record_of_the_processed_returns(harness: Harness) -> None:
    """The drift monitor's read of the returns settled by processing (by id: the bulk scan cannot reach return lines)
    finds each refunded unit processed; a unit Shopify's record lacks is reported, to finance."""
    sc = harness.new_return("drift reads it", "castore", ("A",))
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert status.shopify_return is not None
    w = summarise(status, "wf")
    assert sum(w.processed_units.values()) == 1
    ret = ShopifyReturn(status.shopify_return.return_id, status.shopify_return.name, "CLOSED")
    order = ShopifyOrder("order", sc.order_name, [], None, [], [ret],
                         {sc.rebound_return_id: {"shopify_return_id": ret.id}})  # fmt: skip
    domain = harness.domain(sc)
    async with httpx.AsyncClient(timeout=10) as http:
        connection = ShopConnection(
            domain, "2026-07", harness.tokens[domain], f"{harness.shopify.base_url}/shops/{domain}"
        )
        await read_processed(ShopifyClient(connection, http), [order], [w])
    assert ret.processed == w.processed_units
    assert unprocessed_units(w, order) is None
    ret.processed = {}  # as if Shopify's record showed nothing processed
    assert unprocessed_units(w, order) == (ret, w.processed_units)


async def test_a_eur_order_whose_processing_answer_was_lost_keeps_shopify_s_fee_in_its_record(harness: Harness) -> None:
    """Seen in the 1,000-return chaos soak: an order paid in EUR, the answer to returnProcess lost; the refund found
    by the retry is recorded with the plan's fee in the customer's currency, the fee Shopify holds on the return."""
    sc = harness.builder.new("EUR, lost answer", "castore", lines=1, money=OrderMoney("EUR", Decimal("1.17")))
    harness.builder.returned(sc, 0, 1, "A")
    harness.builder.lifecycle(sc)
    harness.builder.expect(sc)
    harness.seed(sc)
    harness.start_options = {"activity_timeout_seconds": 10}
    faults = harness.shopify.faults
    faults.fail_next("lost_response", operation="ReturnProcess")
    faults.configure(timeout_seconds=0.3)
    try:
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded", timeout=120)
    finally:
        faults.clear()
    ret, refunds = shopify_record(harness, sc)
    assert status.refund is not None and status.refund.status == "already_issued"
    assert [r["currency"] for r in refunds] == ["EUR"] and refunds[0]["amount"] == sc.expected_refund
    assert status.refund.plan is not None and status.refund.plan.currency == "EUR"
    assert Decimal(status.refund.plan.shipping_fee) == ret["fees_charged"] == Decimal("3.45")  # 2.95 GBP at 1.17


async def test_a_fault_found_at_inspection_gives_back_the_fee_recorded_on_the_shopify_return(harness: Harness) -> None:
    """CASTORE's grade F is the merchant's fault, whatever the customer said: the return opened with the return
    shipping fee on it (the customer changed their mind) and a Shopify return's fees cannot be changed afterwards, so
    Shopify keeps the fee it recorded, the refund is the full price (the fee given back) and the processed return's
    note says why; the item is not resold."""
    b = harness.builder
    sc = b.new("fault found at inspection", "castore", lines=1, quantity=1)
    b.returned(sc, 0, 1, "F")  # a customer-fault reason: the fee goes on the Shopify return when it opens
    b.lifecycle(sc)
    b.expect(sc)
    harness.seed(sc)
    bucket = harness.shopify.bucket(harness.domain(sc))
    before = bucket.calls.copy()
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    # A fee given back: Shopify's outcome (which keeps the fee) is not the refund; suggestedRefund values the line.
    calls = bucket.calls - before
    assert calls["SuggestedRefund"] == 1 and calls["ReturnFinancialOutcome"] == 0, dict(calls)

    ret, refunds = shopify_record(harness, sc)
    price = sc.order_lines[0].unit_price
    assert sc.expected_refund == price
    assert [(r["return_id"], r["amount"]) for r in refunds] == [(ret["id"], price)]
    assert ret["fees_charged"] == Decimal("2.95") and ret["processed"] == ret["lines"]
    assert status.refund is not None and status.refund.plan is not None
    assert (status.refund.plan.shipping_fee, status.refund.plan.fees_waived) == ("0.00", "2.95")
    assert "2.95 GBP recorded on this return refunded" in refunds[0]["note"]
    assert processing_problems(ret, status, refunds) == []
    assert status.restocked == {}


async def test_every_unit_refunded_in_full_is_valued_by_shopify_s_outcome_alone(harness: Harness) -> None:
    """Every unit at 100 % and no fee given back: suggestedFinancialOutcome is both the refund and the lines'
    value (no suggestedRefund): the amount, the lines, the fee and the split across a gift card and a card are
    right. An order with tax on top (OLIVER BONAS, USD) values its lines with their tax, shared out by price."""
    split = OrderMoney(payments=[("gift_card", Decimal("20.00")), ("shopify_payments", Decimal(0))])
    castore = harness.builder.new("outcome alone", "castore", lines=2, quantity=1, money=split)
    us = OrderMoney("USD", Decimal("1.27"), taxes_included=False, tax_rate=Decimal("0.08875"))
    oliver = harness.builder.new("outcome alone, tax on top", "oliver", lines=2, quantity=1, money=us)
    best = harness.mappings["oliver"].grade_scale[0]
    for sc, grade in ((castore, "A"), (oliver, best)):
        harness.builder.returned(sc, 0, 1, grade)
        harness.builder.returned(sc, 1, 1, grade)
        harness.builder.lifecycle(sc, until="processed" if sc is castore else "arrivedAtHub")
        harness.builder.expect(sc)
    harness.seed(castore, oliver)
    for sc in (castore, oliver):
        bucket = harness.shopify.bucket(harness.domain(sc))
        before = bucket.calls.copy()
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded")
        assert status.state == "refunded" and not status.needs_attention, status.attention_reason
        calls = bucket.calls - before
        assert calls["SuggestedRefund"] == 0 and calls["ReturnFinancialOutcome"] == 1, dict(calls)

        ret, refunds = shopify_record(harness, sc)
        assert [(r["return_id"], r["amount"]) for r in refunds] == [(ret["id"], sc.expected_refund)]
        assert status.refund is not None and Decimal(status.refund.amount) == sc.expected_refund
        plan = status.refund.plan
        assert plan is not None and Decimal(plan.total) == sc.expected_refund and not plan.capped
        fees = Decimal(plan.shipping_fee) + Decimal(plan.restocking_fee)
        assert Decimal(plan.subtotal) - fees == Decimal(plan.total)  # what the status summary shows adds up
        assert fees == ret["fees_charged"]  # the mapping's fee, as Shopify recorded it on the return
        assert sum(Decimal(line.amount) for line in plan.lines) == Decimal(plan.subtotal)
        assert processing_problems(ret, status, refunds) == []
    # Gift card first, then the card, summing to the refund.
    [refund] = harness.shopify.store.refunds(harness.domain(castore), harness.order_id(castore))
    assert refund["transactions"] == [("gift_card", Decimal("20.00")),
                                      ("shopify_payments", castore.expected_refund - Decimal("20.00"))]  # fmt: skip
    # Tax on top: the lines come to their prices plus their tax (Shopify's), each line its price plus its share of
    # it (within the cent a share rounds to; one tax rate here).
    status = await harness.status(oliver)
    assert status.refund is not None and status.refund.plan is not None
    worth = {line.sku: Decimal(line.amount) for line in status.refund.plan.lines}
    taxed = {line.sku: line.unit_price + to_money(line.unit_price * Decimal("0.08875"), "USD")
             for line in oliver.order_lines}  # fmt: skip
    assert sum(worth.values()) == sum(taxed.values()) and worth.keys() == taxed.keys()
    assert all(abs(worth[sku] - taxed[sku]) <= Decimal("0.01") for sku in taxed), (worth, taxed)
