"""What a return costs the shop's bucket: every required write once, the order read once, no look-up before a
first attempt's write; a retried step still looks first (tests/test_faults.py: one return, one delivery, one
restock, one refund under lost responses)."""

from __future__ import annotations

from tests.conftest import Harness

REQUIRED_WRITES = ["ReturnCreate", "ReverseDeliveryCreate", "ReverseFulfillmentOrderDispose", "ReturnProcess",
                   "ReturnClose"]  # fmt: skip
MINIMUM = 83  # those writes (71 on this order) plus one order read (12)
TARGET = 100  # issue 24: <= 100 (96.45 on the bench: no order write at registration, no suggestedRefund)


async def test_a_return_on_the_standard_flow_spends_at_most_100_points_each_write_once(harness: Harness) -> None:
    first, second = harness.new_return("points-1", seed=False), harness.new_return("points-2", seed=False)
    harness.seed(first, second)
    bucket = harness.shopify.bucket(harness.domain(first))
    reasons_before = bucket.calls["ReturnReasonDefinitions"]  # the emulator serves earlier tests too
    for sc in (first, second):
        before = bucket.spent.copy(), bucket.calls.copy()
        await harness.push_all(sc)
        status = await harness.wait_state(sc, "refunded")
        assert status.state == "refunded" and status.finished and not status.needs_attention, status.audit
        spent, calls = bucket.spent - before[0], bucket.calls - before[1]
        assert {op: calls[op] for op in REQUIRED_WRITES} == dict.fromkeys(REQUIRED_WRITES, 1), dict(calls)
        # First attempts write without looking: no re-read of the order or of the Shopify return.
        assert calls["OrderForReturn"] == calls["ReturnForSync"] == calls["OrderReturns"] == 0, dict(calls)
        # The order is written once, at `received` (the link and the status); the Shopify return carries the link
        # from the start (its lines' notes), so registering writes nothing on the order.
        assert calls["OrderByName"] == 1 and calls["OrderStatusSet"] == 1 and calls["OrderLinkSet"] == 0
        # Every unit refunded in full: Shopify's outcome for processing values the refund, no suggestedRefund.
        assert calls["ReturnFinancialOutcome"] == 1 and calls["SuggestedRefund"] == 0, dict(calls)
        assert MINIMUM <= sum(spent.values()) <= TARGET, dict(spent)
    # The shop's reasons are looked up once per worker: again only for a reason the first return did not ask for.
    reason = harness.mappings["castore"].reason_for
    asked_first = {reason(u.reason).shopify for u in first.units}
    asked_again = not {reason(u.reason).shopify for u in second.units} <= asked_first
    assert bucket.calls["ReturnReasonDefinitions"] - reasons_before == 1 + asked_again
