"""A refund valued by Shopify: the mapping decides the lines, quantities, percentages and fees; Shopify says what
each line is worth with its tax and discounts, in the customer's presentment currency: suggestedRefund line by line
(`priced_plan`), or, when every unit is refunded in full, the return's suggestedFinancialOutcome for them all
(`outcome_plan`). Pure: the refund activity feeds it what Shopify answered."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from engine.activities.messages import OrderSnapshot
from engine.definitions.mapping import RefundRules
from engine.money import fmt, to_money
from engine.refunds import RefundLineInput, RefundPlan, fee_at_rate, plan_refund


def _presentment(bag: dict[str, Any] | None) -> Decimal:
    return Decimal(str(((bag or {}).get("presentmentMoney") or {}).get("amount") or "0"))


def _shop(bag: dict[str, Any] | None) -> Decimal:
    return Decimal(str(((bag or {}).get("shopMoney") or {}).get("amount") or "0"))


def rate_of(suggested: dict[str, Any]) -> Decimal:
    """Presentment units per shop unit, as Shopify converted this refund (1 for an order in the shop's currency)."""
    shop = _shop(suggested.get("amountSet"))
    return _presentment(suggested.get("amountSet")) / shop if shop > 0 else Decimal(1)


def priced_plan(
    lines: list[RefundLineInput], rules: RefundRules, suggested: dict[str, Any], snap: OrderSnapshot
) -> RefundPlan:
    """The mapping's lines at Shopify's value per unit (tax added when prices exclude it), fees converted to the
    customer's currency at the order's rate (its totals' ratio: the most exact figure Shopify gives; the refund's
    own when the order's is unknown), rounded with the mapping's rounding; capped at what the order can still give
    back."""
    worth: dict[str, tuple[Decimal, int]] = {}
    for line in suggested.get("refundLineItems") or []:
        value = _presentment(line.get("subtotalSet"))
        if not snap.taxes_included:
            value += _presentment(line.get("totalTaxSet"))
        worth[line["lineItem"]["id"]] = (value, int(line["quantity"]))
    priced = []
    for line in lines:
        value, quantity = worth.get(line.line_item_id, (Decimal(0), 0))
        unit = value / quantity if quantity else Decimal(0)
        priced.append(dataclasses.replace(line, unit_price=str(unit)))
    rate = Decimal(snap.rate) if snap.rate else rate_of(suggested)
    fee = fee_at_rate(rules.return_shipping_fee, rate, snap.currency, rules.rounding)
    cap = min(
        Decimal(snap.net_payment), _presentment(suggested.get("maximumRefundableSet")) or Decimal(snap.net_payment)
    )
    return plan_refund(
        priced,
        currency=snap.currency,
        return_shipping_fee=str(fee),
        restocking_fee_percent=rules.restocking_fee_percent,
        rounding=rules.rounding,
        refundable_cap=str(cap),
        method=rules.method,
        store_credit_bonus_percent=rules.store_credit_bonus_percent,
    )


def outcome_plan(
    lines: list[RefundLineInput],
    rules: RefundRules,
    snap: OrderSnapshot,
    valued: Decimal | None = None,
    maximum: Decimal | None = None,
) -> RefundPlan | None:
    """The mapping's lines valued without suggestedRefund: each at its order line's price after every discount (the
    order validate_order read), shared out so that together they come to `valued`, Shopify's worth of those units
    (suggestedFinancialOutcome's discountedSubtotal, plus its totalTax when prices exclude tax; the last line takes
    the rounding); fees converted at the order's rate, rounded with the mapping's rounding; capped at what the order
    can still give back (`maximum`, Shopify's, and the net payment). Without `valued`, the order's prices alone (to
    tell, before asking Shopify, whether a fee is given back). None when the order cannot value them: a line it
    does not list, or a fee in another currency with no rate."""
    by_id = {line.line_item_id: line for line in snap.lines}
    if any(line.line_item_id not in by_id for line in lines):
        return None
    if snap.rate:
        rate = Decimal(snap.rate)
    elif snap.shop_currency in ("", snap.currency):
        rate = Decimal(1)
    else:
        return None
    base = [Decimal(by_id[line.line_item_id].unit_price) * max(line.quantity, 0) for line in lines]
    worth = list(base)
    total_base = sum(base, Decimal(0))
    if valued is not None and total_base > 0 and valued != total_base:
        worth, left = [], valued
        for i, value in enumerate(base):
            share = left if i == len(base) - 1 else to_money(valued * value / total_base, snap.currency)
            worth.append(share)
            left -= share
    priced = [
        dataclasses.replace(line, unit_price=str(value / line.quantity if line.quantity > 0 else Decimal(0)))
        for line, value in zip(lines, worth, strict=True)
    ]
    fee = fee_at_rate(rules.return_shipping_fee, rate, snap.currency, rules.rounding)
    cap = Decimal(snap.net_payment) if maximum is None else min(Decimal(snap.net_payment), maximum)
    return plan_refund(
        priced,
        currency=snap.currency,
        return_shipping_fee=str(fee),
        restocking_fee_percent=rules.restocking_fee_percent,
        rounding=rules.rounding,
        refundable_cap=str(cap),
        method=rules.method,
        store_credit_bonus_percent=rules.store_credit_bonus_percent,
    )


def with_total(plan: RefundPlan, total: Decimal, rules: RefundRules | None, cap: Decimal | None = None) -> RefundPlan:
    """The plan at Shopify's own figure for processing its lines (the fees on the return taken off, shipping added
    when it goes back; never below 0), and never above `cap`, what the order can still give back; the store-credit
    bonus follows the total."""
    total = max(total, Decimal(0))
    capped = cap is not None and total > cap
    if cap is not None and capped:
        total = to_money(cap, plan.currency, "ROUND_DOWN")
    bonus = plan.store_credit_bonus
    if plan.method == "store_credit" and rules is not None:
        percent = Decimal(rules.store_credit_bonus_percent)
        bonus = fmt(to_money(total * percent / 100, plan.currency, rules.rounding), plan.currency)
    return dataclasses.replace(plan, total=fmt(total, plan.currency), capped=plan.capped or capped,
                               store_credit_bonus=bonus)  # fmt: skip
