"""Refund arithmetic: Decimal, explicit rounding, fees and caps."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.refunds import RefundLineInput, plan_refund


def test_full_refund_minus_shipping_fee() -> None:
    plan = plan_refund(
        [RefundLineInput("L1", "A", 2, "45.00", "100"), RefundLineInput("L2", "B", 1, "59.99", "100")],
        currency="GBP",
        return_shipping_fee="2.95",
    )
    assert plan.subtotal == "149.99" and plan.shipping_fee == "2.95" and plan.total == "147.04"


def test_merchant_fault_waives_the_fee_and_zero_percent_lines_are_dropped() -> None:
    plan = plan_refund(
        [
            RefundLineInput("L1", "A", 1, "45.00", "100", "merchant"),
            RefundLineInput("L2", "B", 1, "10", "0", "merchant"),
        ],
        currency="GBP",
        return_shipping_fee="2.95",
    )
    assert plan.total == "45.00" and [line.sku for line in plan.lines] == ["A"]


def test_rounding_is_per_line_and_explicit() -> None:
    line = [RefundLineInput("L1", "A", 1, "10.005", "100")]
    assert plan_refund(line, currency="GBP").total == "10.01"
    assert plan_refund(line, currency="GBP", rounding="ROUND_HALF_EVEN").total == "10.00"
    assert plan_refund(line, currency="GBP", rounding="ROUND_DOWN").total == "10.00"
    assert plan_refund([RefundLineInput("L1", "A", 1, "1500", "33")], currency="JPY").total == "495"


def test_total_is_capped_at_what_is_still_refundable() -> None:
    plan = plan_refund([RefundLineInput("L1", "A", 1, "100", "100")], currency="GBP", refundable_cap="60.00")
    assert plan.total == "60.00" and plan.capped


lines = st.lists(
    st.builds(
        RefundLineInput,
        line_item_id=st.sampled_from(["L1", "L2", "L3"]),
        sku=st.just("SKU"),
        quantity=st.integers(0, 5),
        unit_price=st.decimals(0, 2000, places=2).map(str),
        refund_percent=st.sampled_from(["0", "50", "75", "100"]),
        fault=st.sampled_from(["customer", "merchant", "carrier"]),
    ),
    max_size=6,
)


@given(
    lines,
    st.decimals(0, 20, places=2).map(str),
    st.sampled_from(["0", "10", "100"]),
    st.decimals(0, 5000, places=2),
)
def test_invariants(items: list[RefundLineInput], fee: str, restocking: str, cap: Decimal) -> None:
    plan = plan_refund(items, currency="GBP", return_shipping_fee=fee, restocking_fee_percent=restocking,
                       refundable_cap=str(cap))  # fmt: skip
    total, subtotal = Decimal(plan.total), Decimal(plan.subtotal)
    fees = Decimal(plan.shipping_fee) + Decimal(plan.restocking_fee)
    assert total >= 0
    assert total <= cap
    assert sum((Decimal(line.amount) for line in plan.lines), Decimal(0)) == subtotal
    assert fees <= subtotal
    assert total == min(subtotal - fees, cap.quantize(Decimal("0.01"), rounding="ROUND_DOWN"))
    assert all(Decimal(line.amount).as_tuple().exponent == -2 for line in plan.lines)
