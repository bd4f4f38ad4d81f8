"""Refund arithmetic: Decimal, explicit rounding, fees and caps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.activities.messages import OrderSnapshot
from engine.activities.pricing import priced_plan, rate_of
from engine.definitions.mapping import RefundRules
from engine.money import to_money
from engine.refunds import RefundLineInput, Tender, plan_refund, split_refund


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


def test_a_fault_found_at_inspection_gives_back_the_fees_recorded_when_the_return_opened() -> None:
    """Opened as the customer's fault (fees on the Shopify return), found the merchant's at inspection: the fees
    taken are what the finding says, and those recorded at opening beyond them are given back (fees_waived)."""
    lines = [
        RefundLineInput("L1", "A", 1, "40.00", "100", "merchant", "customer"),
        RefundLineInput("L2", "B", 1, "20.00", "100", "customer", "customer"),
    ]
    plan = plan_refund(lines, currency="GBP", return_shipping_fee="2.95", restocking_fee_percent="10")
    # B is still the customer's: the return fee stays and B's restocking fee (2.00); A's (4.00) is given back
    assert (plan.shipping_fee, plan.restocking_fee, plan.fees_waived, plan.total) == ("2.95", "2.00", "4.00", "55.05")
    only_a = plan_refund(lines[:1], currency="GBP", return_shipping_fee="2.95", restocking_fee_percent="10")
    assert (only_a.shipping_fee, only_a.restocking_fee, only_a.fees_waived, only_a.total) == (
        "0.00", "0.00", "6.95", "40.00")  # fmt: skip
    unchanged = plan_refund(lines[1:], currency="GBP", return_shipping_fee="2.95", restocking_fee_percent="10")
    assert unchanged.fees_waived == "0.00"


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


# ------------------------------------------------------------------ split tenders

tenders = st.lists(
    st.builds(
        Tender,
        parent_id=st.uuids().map(str),
        gateway=st.sampled_from(["gift_card", "shopify_payments", "paypal"]),
        refundable=st.decimals(0, 500, places=2).map(str),
    ),
    min_size=1,
    max_size=4,
)


@given(tenders, st.decimals(Decimal("0.01"), 1500, places=2), st.sampled_from(["first", "last"]))
def test_a_split_sums_to_the_refund_never_over_a_payment_gift_cards_in_their_place(
    payments: list[Tender], total: Decimal, gift_cards: str
) -> None:
    available = sum((Decimal(t.refundable) for t in payments), Decimal(0))
    if total > available:
        with pytest.raises(ValueError, match="can give back"):
            split_refund(str(total), payments, gift_cards=gift_cards)
        return
    split = split_refund(str(total), payments, gift_cards=gift_cards)
    assert sum((Decimal(amount) for _, amount in split), Decimal(0)) == total
    assert all(Decimal(0) < Decimal(amount) <= Decimal(t.refundable) for t, amount in split)
    # The preferred kind (gift cards when "first", the others when "last") is used up before the other kind.
    preferred = [t for t in payments if t.gift_card == (gift_cards == "first")]
    used = {t.parent_id: Decimal(amount) for t, amount in split}
    if any(not t.gift_card == (gift_cards == "first") for t, _ in split):
        assert all(used.get(t.parent_id, Decimal(0)) == Decimal(t.refundable) for t in preferred)


def test_a_gift_card_first_then_the_card() -> None:
    card, gift = Tender("c", "shopify_payments", "80.00"), Tender("g", "gift_card", "25.00")
    assert [(t.gateway, a) for t, a in split_refund("57.04", [card, gift])] == [
        ("gift_card", "25.00"),
        ("shopify_payments", "32.04"),
    ]
    assert [(t.gateway, a) for t, a in split_refund("57.04", [card, gift], gift_cards="last")] == [
        ("shopify_payments", "57.04")
    ]


# ------------------------------------------------------------------ presentment money (Shopify's valuation)


def suggested(units: list[tuple[str, Decimal, int, Decimal]], rate: Decimal, currency: str) -> dict[str, Any]:
    """A suggestedRefund answer: each line's subtotal and tax in presentment and shop money."""

    def bag(amount: Decimal) -> dict[str, Any]:
        return {
            "presentmentMoney": {"amount": str(amount), "currencyCode": currency},
            "shopMoney": {"amount": str((amount / rate).quantize(Decimal("0.01"))), "currencyCode": "GBP"},
        }

    lines = [
        {"lineItem": {"id": lid}, "quantity": qty, "subtotalSet": bag(price * qty), "totalTaxSet": bag(tax)}
        for lid, price, qty, tax in units
    ]
    total = sum((price * qty + tax for _lid, price, qty, tax in units), Decimal(0))
    return {"refundLineItems": lines, "amountSet": bag(total), "maximumRefundableSet": bag(Decimal("100000"))}


@given(
    st.lists(
        st.tuples(st.decimals(1, 300, places=2), st.integers(1, 3), st.decimals(0, 30, places=2)),
        min_size=1,
        max_size=4,
    ),  # fmt: skip
    st.sampled_from([Decimal("1"), Decimal("1.17"), Decimal("1.27"), Decimal("0.86")]),
    st.booleans(),
    st.decimals(0, 5, places=2),
)
def test_a_refund_is_planned_in_the_customers_currency(
    raw: list[tuple[Decimal, int, Decimal]], rate: Decimal, taxes_included: bool, fee: Decimal
) -> None:
    units = [(f"gid://shopify/LineItem/{i}", price, qty, tax) for i, (price, qty, tax) in enumerate(raw)]
    snap = OrderSnapshot("o", "#1", "EUR", "2026-11-01T00:00:00Z", None, None, "100000", taxes_included=taxes_included)
    lines = [RefundLineInput(lid, f"SKU{lid[-1]}", qty, "0", "100", "customer") for lid, _p, qty, _t in units]
    rules = RefundRules(trigger="inspected", issuer="engine", return_shipping_fee=str(fee))
    plan = priced_plan(lines, rules, suggested(units, rate, "EUR"), snap)
    worth = sum((price * qty + (Decimal(0) if taxes_included else tax) for _l, price, qty, tax in units), Decimal(0))
    converted = to_money(fee * rate_of(suggested(units, rate, "EUR")), "EUR")
    assert plan.currency == "EUR"
    assert abs(converted - to_money(fee * rate, "EUR")) <= Decimal("0.01")  # Shopify's rounded shop money
    assert Decimal(plan.total) == max(worth - min(converted, worth), Decimal(0))
    assert Decimal(plan.total).as_tuple().exponent == -2
