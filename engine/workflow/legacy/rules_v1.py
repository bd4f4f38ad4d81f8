"""The pure rules the first workflow computes with, as they were when it was sealed: rounding money, what the
mapping does to an item (disposition, location, refund percent), the refund plan, and the shop's activity queue.
Copied from `engine.money`, `engine.refunds`, `engine.outcomes` and `engine.shopify.plans`, so a draining return
computes the same refund (and replays the same commands) whatever the live rules become."""

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from engine.workflow.legacy.definitions_v1 import MappingDef, RefundRules
from engine.workflow.legacy.types_v1 import (
    Disposition,
    ItemStatus,
    OrderSnapshot,
    RefundLine,
    RefundLineInput,
    RefundPlan,
)

# ---------------------------------------------------------------- money

_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def to_money(value: str | int | Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to the currency's minor unit with the named rounding mode (decimal module constant)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-_MINOR_UNITS.get(currency.upper(), 2)), rounding=rounding)


def fmt(value: Decimal, currency: str) -> str:
    return str(to_money(value, currency))


# ---------------------------------------------------------------- the shop's queue


def shop_task_queue(base: str, domain: str) -> str:
    """The shop's activity queue, derived from the deployment's queue (the live workers poll the same name)."""
    return f"{base}.shopify.{re.sub(r'[^a-z0-9.-]', '-', domain.lower())}"


# ---------------------------------------------------------------- items and the refund


@dataclass
class ItemFacts:
    sku: str
    quantity: int
    reason: str
    grade: str | None
    line_item_id: str
    unit_price: str
    refund_percent: str | None = None


def item_facts(items: Iterable[ItemStatus], order: OrderSnapshot, overrides: Collection[str] = ()) -> list[ItemFacts]:
    """The return's items that are on the order, priced from its lines; an operator's refund percent counts only
    for the SKUs in ``overrides``."""
    facts = []
    for item in items:
        line = order.line_for_sku(item.sku)
        if line is not None:
            override = item.refund_percent if item.sku in overrides else None
            facts.append(
                ItemFacts(
                    item.sku, item.quantity, item.reason, item.grade, line.line_item_id, line.unit_price, override
                )
            )
    return facts


@dataclass
class ItemOutcome:
    disposition: Disposition
    location_id: str | None
    refund_percent: str


def item_outcome(mapping: MappingDef, grade: str | None, reason: str, *, graded: bool) -> ItemOutcome:
    """Before inspection (refund on drop-off or receipt) every registered item counts in full."""
    rule = mapping.grade_for(grade)
    grade_percent = Decimal(rule.refund_percent) if graded else Decimal(100)
    percent = grade_percent * Decimal(mapping.reason_for(reason).refund_percent) / 100
    disposition = cast(Disposition, rule.disposition)
    return ItemOutcome(disposition, mapping.location_id(rule.location), format(percent.normalize(), "f"))


def grades_set_the_refund(mapping: MappingDef) -> bool:
    """Only a brand that refunds on inspection refunds by grade."""
    return mapping.refund.trigger == "inspected"


def refund_lines(mapping: MappingDef, items: list[ItemFacts], *, graded: bool) -> list[RefundLineInput]:
    lines: dict[str, RefundLineInput] = {}
    for item in items:
        outcome = item_outcome(mapping, item.grade, item.reason, graded=graded)
        if item.refund_percent is not None:
            outcome.refund_percent = item.refund_percent
        fault = mapping.reason_for(item.reason).fault
        key = f"{item.line_item_id}|{outcome.refund_percent}|{fault}"
        if key in lines:
            lines[key].quantity += item.quantity
        else:
            lines[key] = RefundLineInput(
                item.line_item_id, item.sku, item.quantity, item.unit_price, outcome.refund_percent, fault
            )
    return list(lines.values())


def refund_for(
    mapping: MappingDef,
    items: list[ItemFacts],
    *,
    currency: str,
    graded: bool,
    cap: str | None,
    rules: RefundRules | None = None,
) -> RefundPlan:
    rules = rules or mapping.refund
    return plan_refund(
        refund_lines(mapping, items, graded=graded),
        currency=currency,
        return_shipping_fee=rules.return_shipping_fee,
        restocking_fee_percent=rules.restocking_fee_percent,
        rounding=rules.rounding,
        refundable_cap=cap,
        method=rules.method,
        store_credit_bonus_percent=rules.store_credit_bonus_percent,
    )


def plan_refund(
    lines: list[RefundLineInput],
    *,
    currency: str,
    return_shipping_fee: str = "0",
    restocking_fee_percent: str = "0",
    rounding: str = "ROUND_HALF_UP",
    refundable_cap: str | None = None,
    method: str = "original_payment",
    store_credit_bonus_percent: str = "0",
) -> RefundPlan:
    """Rounded once per line in the order's currency; fees never make it negative; capped at what is refundable."""
    plan = RefundPlan(currency=currency, method=method)
    subtotal = Decimal(0)
    customer_fault_subtotal = Decimal(0)
    for line in lines:
        if line.quantity <= 0:
            continue
        gross = Decimal(line.unit_price) * line.quantity * Decimal(line.refund_percent) / 100
        amount = to_money(gross, currency, rounding)
        if amount <= 0:
            continue
        plan.lines.append(RefundLine(line.line_item_id, line.sku, line.quantity, fmt(amount, currency)))
        subtotal += amount
        if line.fault == "customer":
            customer_fault_subtotal += amount
    any_customer_fault = any(line.fault == "customer" for line in lines if line.quantity > 0)
    shipping_fee = (
        to_money(return_shipping_fee, currency, rounding) if any_customer_fault and plan.lines else Decimal(0)
    )
    restocking = to_money(customer_fault_subtotal * Decimal(restocking_fee_percent) / 100, currency, rounding)
    shipping_fee = min(shipping_fee, subtotal)
    restocking = min(restocking, subtotal - shipping_fee)
    total = subtotal - shipping_fee - restocking
    if refundable_cap is not None and total > Decimal(refundable_cap):
        total = to_money(refundable_cap, currency, "ROUND_DOWN")
        plan.capped = True
    plan.subtotal = fmt(subtotal, currency)
    plan.shipping_fee = fmt(shipping_fee, currency)
    plan.restocking_fee = fmt(restocking, currency)
    total = max(total, Decimal(0))
    plan.total = fmt(total, currency)
    if method == "store_credit":
        plan.store_credit_bonus = fmt(
            to_money(total * Decimal(store_credit_bonus_percent) / 100, currency, rounding), currency
        )
    return plan
