"""Exchanges in Shopify's own model: opened with the Shopify return (its exchange lines), released by the same
returnProcess that settles the refund, once, never both exchanged and refunded; a dearer variant waits for the
customer's payment (Shopify holds its fulfillment order), an out-of-stock one is refunded instead. Checked in
Shopify's end state as the emulator holds it."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from temporalio.api.sdk.v1 import WorkflowMetadata

from emulators.demo import check
from emulators.rebound.scenarios import Scenario
from engine.workers.starter import handle_for
from engine.workflow.messages import ReturnStatus
from tests.conftest import Harness


def exchange_return(harness: Harness, name: str, returned: str, wanted: str, *, stock: int = 5,
                    brand: str = "castore") -> Scenario:  # fmt: skip
    b = harness.builder
    sc = b.new(name, brand, skus=[returned], quantity=1)
    sc.wanted_stock[wanted] = stock
    best = b._grade(brand, "restock")
    b.returned(sc, 0, 1, best, exchange=wanted)
    b.lifecycle(sc, until="processed" if brand == "castore" else "arrivedAtHub")
    b.expect(sc)
    harness.seed(sc)
    return sc


def shopify_side(harness: Harness, sc: Scenario) -> tuple[list[dict], list[dict], list[dict]]:
    """The order's exchanges, refunds and returns as the shop holds them."""
    store, domain, order_id = harness.shopify.store, harness.domain(sc), harness.order_id(sc)
    return store.exchanges(domain, order_id), store.refunds(domain, order_id), store.returns(domain, order_id)


def exchange_states(status: ReturnStatus) -> dict[str, str | None]:
    return {item.exchange_sku or "": item.exchange for item in status.items if item.exchange_sku}


async def test_an_exchange_for_another_size_is_released_and_nothing_is_refunded(harness: Harness) -> None:
    sc = exchange_return(harness, "another size", "CAS-TEE-BLK-M", "CAS-TEE-BLK-L")
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert status.finished and exchange_states(status) == {"CAS-TEE-BLK-L": "released"}
    exchanges, refunds, [ret] = shopify_side(harness, sc)
    assert [(e["sku"], e["processed"]) for e in exchanges] == [("CAS-TEE-BLK-L", 1)]
    assert exchanges[0]["fulfillment_order_status"] == "OPEN"  # nothing owed: free to ship
    assert refunds == []  # the tee is exchanged, never also refunded
    assert ret["processed"] == {"CAS-TEE-BLK-M": 1} and ret["fees_charged"] == Decimal(0)  # fees waived
    assert check(harness.shopify.store, harness.mappings, sc, status) == []


async def test_a_dearer_exchange_waits_for_the_customer_s_payment_then_is_released(harness: Harness) -> None:
    sc = exchange_return(harness, "dearer", "CAS-TEE-BLK-M", "CAS-HOOD-GRY-M")
    assert sc.expected_owed == Decimal("50.00")  # a 95.00 hoodie for a 45.00 tee
    await harness.push_all(sc)
    waiting = await harness.wait_for(sc, lambda s: "awaiting_payment" in exchange_states(s).values(), timeout=30)
    assert exchange_states(waiting) == {"CAS-HOOD-GRY-M": "awaiting_payment"} and not waiting.finished
    exchanges, refunds, _ = shopify_side(harness, sc)
    assert exchanges[0]["holds"] == ["AWAITING_PAYMENT"] and refunds == []
    paid = harness.shopify.store.pay_exchange_balance(harness.domain(sc), harness.order_id(sc))
    assert paid == Decimal("50.00")
    status = await harness.wait_for(sc, lambda s: s.finished, timeout=30)
    assert exchange_states(status) == {"CAS-HOOD-GRY-M": "released"} and status.state == "refunded"
    exchanges, refunds, _ = shopify_side(harness, sc)
    assert exchanges[0]["fulfillment_order_status"] == "OPEN" and refunds == []


async def test_a_dearer_exchange_not_paid_in_time_is_cx_s(harness: Harness) -> None:
    castore = harness.mappings["castore"]
    quick = dataclasses.replace(castore, sla_seconds={**castore.sla_seconds, "exchange_payment_within": 8})
    harness.mappings = {**harness.mappings, "castore": quick}
    sc = exchange_return(harness, "never paid", "CAS-TEE-BLK-M", "CAS-JKT-OLV-M")
    await harness.push_all(sc)
    status = await harness.wait_for(sc, lambda s: s.finished, timeout=40)
    assert status.hold is not None and status.hold.kind == "cx" and "awaiting the customer's payment" in (
        status.attention_reason or "")  # fmt: skip
    assert exchange_states(status) == {"CAS-JKT-OLV-M": "awaiting_payment"}


async def test_a_cheaper_exchange_refunds_the_difference_once(harness: Harness) -> None:
    sc = exchange_return(harness, "cheaper", "CAS-HOOD-GRY-M", "CAS-TEE-BLK-S")
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    exchanges, refunds, [ret] = shopify_side(harness, sc)
    assert [(r["amount"], r["return_id"]) for r in refunds] == [(Decimal("50.00"), ret["id"])]  # 95.00 - 45.00
    assert status.refund is not None and Decimal(status.refund.amount) == Decimal("50.00") == sc.expected_refund
    assert [(e["sku"], e["processed"]) for e in exchanges] == [("CAS-TEE-BLK-S", 1)]
    assert check(harness.shopify.store, harness.mappings, sc, status) == []


async def test_an_exchange_out_of_stock_is_refunded_instead_and_leaves_the_return(harness: Harness) -> None:
    sc = exchange_return(harness, "out of stock", "CAS-SHORT-NVY-M", "CAS-SHORT-NVY-XXL", stock=0)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert exchange_states(status) == {"CAS-SHORT-NVY-XXL": "refunded_instead"}
    assert any("out of stock" in e.detail for e in status.audit)
    exchanges, refunds, _ = shopify_side(harness, sc)
    assert [e["processed"] for e in exchanges] == [0] and all(e["fulfillment_order_id"] is None for e in exchanges)
    assert [r["amount"] for r in refunds] == [Decimal("55.00")] == [sc.expected_refund]  # in full: no fee
    assert check(harness.shopify.store, harness.mappings, sc, status) == []


async def test_a_lost_processing_answer_releases_the_exchange_once(harness: Harness) -> None:
    sc = exchange_return(harness, "lost answer", "CAS-HOOD-GRY-M", "CAS-TEE-BLK-S")
    harness.start_options = {"activity_timeout_seconds": 10}
    faults = harness.shopify.faults
    faults.fail_next("lost_response", operation="ReturnProcess")
    try:
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded", timeout=120)
    finally:
        faults.clear()
    exchanges, refunds, _ = shopify_side(harness, sc)
    assert [(e["processed"], e["fulfillment_order_id"] is not None) for e in exchanges] == [(1, True)]
    assert len(refunds) == 1 and faults.commits["ReturnProcess"] == 1
    assert status.refund is not None and status.refund.status == "already_issued"
    assert exchange_states(status) == {"CAS-TEE-BLK-S": "released"}


async def test_a_brand_that_refunds_a_dearer_exchange_instead_refunds_it_and_removes_the_exchange(
    harness: Harness,
) -> None:
    """OLIVER BONAS (dearer: refund_instead): the vase asked for a dearer cushion is refunded in full, no fee
    (fees waived for exchanges), and the exchange line leaves the Shopify return: never both."""
    sc = exchange_return(harness, "dearer, refunded", "OB-VASE-PINK", "OB-CUSH-MUST", brand="oliver")
    assert sc.expected_exchanges == {"OB-CUSH-MUST": "refunded_instead"}
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert exchange_states(status) == {"OB-CUSH-MUST": "refunded_instead"}
    assert any("costs 10.00 GBP more" in e.detail for e in status.audit)
    exchanges, refunds, _ = shopify_side(harness, sc)
    assert [(e["processed"], e["removed"]) for e in exchanges] == [(0, 1)]
    assert [r["amount"] for r in refunds] == [Decimal("35.00")] == [sc.expected_refund]
    assert check(harness.shopify.store, harness.mappings, sc, status) == []


async def test_an_exchange_out_of_stock_goes_back_as_store_credit_when_the_brand_says_so(harness: Harness) -> None:
    """OLIVER BONAS (out_of_stock: store_credit): the mug's value comes back as store credit to choose again; the
    rest of the return to the card."""
    b = harness.builder
    sc = b.new("sold out, credited", "oliver", skus=["OB-MUG-TEAL", "OB-VASE-PINK"], quantity=1)
    sc.wanted_stock["OB-MUG-GREY"] = 0
    sc.wanted_prices["OB-MUG-GREY"] = Decimal("12.50")
    best = b._grade("oliver", "restock")
    b.returned(sc, 0, 1, best, exchange="OB-MUG-GREY")
    b.returned(sc, 1, 1, best)
    b.lifecycle(sc, until="arrivedAtHub")
    b.expect(sc)
    harness.seed(sc)
    await harness.push_all(sc)
    status = await harness.wait_state(sc, "refunded")
    assert exchange_states(status) == {"OB-MUG-GREY": "refunded_instead"}
    _, [refund], _ = shopify_side(harness, sc)
    assert refund["store_credit"] == Decimal("12.50") and refund["method"] == "mixed"
    assert refund["amount"] == Decimal("12.50") + Decimal("35.00") - Decimal("3.50")  # the vase pays its fee


async def test_an_exchange_reads_as_one_in_the_temporal_ui(harness: Harness) -> None:
    """The workflow list's summary counts the exchange; the current details say what came of it."""
    sc = exchange_return(harness, "ui exchange", "CAS-TEE-BLK-M", "CAS-TEE-BLK-L")
    await harness.push_all(sc)
    await harness.wait_state(sc, "refunded")
    handle = handle_for(harness.client, sc.brand, sc.rebound_return_id)
    summary = await (await handle.describe()).static_summary()
    assert summary is not None and summary.startswith(f"CASTORE {sc.order_name} · 1 item · 1 exchange")
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "| CAS-TEE-BLK-M | 1 |" in metadata.current_details
    assert "| CAS-TEE-BLK-L: released |" in metadata.current_details
