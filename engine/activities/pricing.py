"""A refund valued by Shopify: the mapping decides the lines, quantities, percentages and fees; Shopify's
suggestedRefund says what each line is worth with its tax and discounts, in the customer's presentment currency.
Pure: the refund activity feeds it what Shopify answered."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from engine.activities.messages import OrderSnapshot
from engine.definitions.mapping import RefundRules
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
