"""Returns end to end while Shopify misbehaves: with each fault on, a batch of returns ends with exactly one
refund per refunded return, each disposition applied once and every return in the right state."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from emulators.rebound.scenarios import Scenario
from engine.definitions.flow import load_flow
from tests.conftest import Harness
from tests.paths import REPO_ROOT

PREVIOUS_FLOW = REPO_ROOT / "tests" / "fixtures" / "flows" / "return-v3.yaml"  # refunds beside the Shopify return

BATCH = 6
ALL_CALLS = 0.06  # per request; low enough that 8 attempts of an activity never all fail
WRITES = 0.25  # per committed write

FAULTS: dict[str, dict[str, Any]] = {
    "http_500": {"http_500_rate": ALL_CALLS},
    "http_502": {"http_502_rate": ALL_CALLS},
    "http_503": {"http_503_rate": ALL_CALLS},
    "timeout_504": {"timeout_rate": ALL_CALLS},
    "connect_timeout": {"connect_timeout_rate": ALL_CALLS},
    "throttled": {"throttled_rate": ALL_CALLS * 2},
    "slow": {"slow_rate": 0.3},
    "lost_after_commit": {"lost_response_rate": WRITES},
    "read_timeout_after_commit": {"read_timeout_rate": WRITES},
}


def batch(harness: Harness, name: str, size: int = BATCH) -> list[Scenario]:
    # Grade A is restocked at the DC; every other return also has a damaged unit (D: not restocked nor refunded).
    grades: list[tuple[str | None, ...]] = [("A", "D") if i % 2 else ("A",) for i in range(size)]
    scenarios = [harness.new_return(f"{name}-{i}", grades=g, lines=2, seed=False) for i, g in enumerate(grades)]
    harness.seed(*scenarios)
    return scenarios


async def run_batch(harness: Harness, scenarios: list[Scenario]) -> list[Any]:
    harness.start_options = {"activity_timeout_seconds": 10}
    await asyncio.gather(*(harness.push_all(sc) for sc in scenarios))
    return list(await asyncio.gather(*(harness.wait_state(sc, "refunded", timeout=120) for sc in scenarios)))


def stock(harness: Harness, scenarios: list[Scenario]) -> dict[str, int]:
    """Available stock per ``sku@location`` for every line of the batch (returns may share SKUs)."""
    store, domain = harness.shopify.store, harness.domain(scenarios[0])
    levels = {}
    for sc in scenarios:
        for line in sc.order_lines:
            for location, quantities in store.stock(domain, line.sku).items():
                levels[f"{line.sku}@{location}"] = int(quantities["available"])
    return levels


def restocked_once(harness: Harness, scenarios: list[Scenario], before: dict[str, int]) -> None:
    expected: dict[str, int] = {}
    for sc in scenarios:
        for key, quantity in sc.expected_restock.items():
            expected[key] = expected.get(key, 0) + quantity
    after = stock(harness, scenarios)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == expected


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_batch_survives_each_fault(harness: Harness, fault: str) -> None:
    scenarios = batch(harness, fault)
    before = stock(harness, scenarios)
    faults = harness.shopify.faults
    faults.configure(seed=7, timeout_seconds=0.3, slow_seconds=0.3, **FAULTS[fault])
    try:
        statuses = await run_batch(harness, scenarios)
    finally:
        injected = len(faults.injected)
        faults.clear()

    assert injected > 0, "the fault never fired"
    store = harness.shopify.store
    for sc, status in zip(scenarios, statuses, strict=True):
        assert status.state == "refunded" and not status.needs_attention, (sc.name, status.attention_reason)
        refunds = store.refunds(harness.domain(sc), harness.order_id(sc))
        assert len(refunds) == 1, (sc.name, refunds)
        assert Decimal(str(refunds[0]["amount"])) == sc.expected_refund
        [ret] = store.returns(harness.domain(sc), harness.order_id(sc))
        assert ret["status"] == "CLOSED"
        assert sorted(d["type"] for d in ret["dispositions"]) == sorted(
            ["RESTOCKED"] + (["NOT_RESTOCKED"] if len(status.items) == 2 else [])
        )
        assert [d["quantity"] for d in ret["dispositions"]] == [1] * len(ret["dispositions"])
        assert len(ret["tracking"]) == 1, ret["tracking"]  # one reverse delivery, whatever was retried
    restocked_once(harness, scenarios, before)


async def test_a_refund_whose_response_was_lost_is_not_repeated(harness: Harness) -> None:
    """A return started on return@3 refunds beside the Shopify return (refundCreate) to its end."""
    harness.flows = {
        **harness.flows,
        "return": load_flow(REPO_ROOT / "tests" / "fixtures" / "flows" / "return-v3.yaml"),
    }
    [sc] = batch(harness, "lost-refund", 1)
    harness.shopify.faults.fail_next("lost_response", operation="RefundCreate")
    harness.shopify.faults.fail_next("read_timeout", operation="RefundCreate")  # and the retry's too
    harness.shopify.faults.configure(timeout_seconds=0.3)
    try:
        [status] = await run_batch(harness, [sc])
    finally:
        harness.shopify.faults.clear()

    assert status.state == "refunded" and not status.needs_attention, status.attention_reason
    refunds = harness.shopify.store.refunds(harness.domain(sc), harness.order_id(sc))
    assert len(refunds) == 1
    assert harness.shopify.faults.commits["RefundCreate"] == 1  # the retries found it; nothing written twice
    assert status.refund is not None and status.refund.status == "already_issued"
    assert status.refund.refund_id == refunds[0]["id"]


@pytest.mark.parametrize("who", ["manual_refund", "app_refund"])
async def test_a_refund_made_by_someone_else_first_preempts_ours(harness: Harness, who: Any) -> None:
    scenarios = batch(harness, who, 4)
    # Someone refunds the whole order just before the refund step reads the order's refunds and payments.
    harness.shopify.faults.configure(operation="OrderPayments", **{f"{who}_rate": 1.0})
    try:
        statuses = await run_batch(harness, scenarios)
    finally:
        harness.shopify.faults.clear()

    store = harness.shopify.store
    for sc, status in zip(scenarios, statuses, strict=True):
        if not status.finished:  # the finance flag shows before the last steps (close) have run
            status = await harness.wait_for(sc, lambda s: s.finished)
        assert status.state == "refunded" and status.finished
        refunds = store.refunds(harness.domain(sc), harness.order_id(sc))
        assert len(refunds) == 1, refunds  # theirs only
        assert sc.rebound_return_id not in (refunds[0]["note"] or "")
        assert status.refund is not None and status.refund.status == "preempted", status.refund
        assert status.refund.refund_id == refunds[0]["id"]
        assert status.attention_reason is not None and "finance" in status.attention_reason
        assert store.returns(harness.domain(sc), harness.order_id(sc))[0]["status"] == "CLOSED"
    assert harness.shopify.faults.commits.get("RefundCreate", 0) == 0  # ours never wrote
