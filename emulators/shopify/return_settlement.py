"""What a ``returnProcess`` settles besides marking units processed: the checks and the writes of its
dispositions, its refund (transactions, store credit, shipping), the fees it charges and its exchange units. The
rules and the choices are ``return_processing``'s docstring; the arithmetic of fees is ``fees``, of the settlement
``return_outcome``; exchanges' stock and fulfillment order ``exchange_processing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import dispositions, exchange_processing, refunds
from .fees import ZERO, order_line
from .model import RefundLine, Return, ReturnLine, ReturnProcessing, Shop, Transaction
from .money import format_with_symbol, to_decimal
from .outcome import Outcome, UserError
from .return_outcome import settle, shipping_left

if TYPE_CHECKING:
    from .model import Order
    from .store import ShopifyStore

ALREADY_REFUNDED = "Quantity cannot refund more items than were purchased"  # refundCreate's recorded wording
DISPOSITION_LINE_NOT_FOUND = "Reverse fulfillment order line item was not found."
DISPOSITION_OVER = "Disposition quantity is greater than the quantity being processed."
PARENT_NOT_FOUND = "Parent transaction was not found."
PARENT_KIND = "The parent transaction must be a successful transaction of kind CAPTURE or SALE."
PRESENTMENT_CURRENCY = "Currency must be the presentment currency of the order."
NOT_POSITIVE = "Amount must be greater than 0."
NEGATIVE_SHIPPING = "Shipping refund amount must be greater than or equal to 0."
DUTY_NOT_FOUND = "Duty was not found."
TIP_NOT_FOUND = "Tip line was not found."
_ISSUE = ("input", "financialTransfer", "issueRefund")


def _line(ret: Return, line_id: str) -> ReturnLine | None:
    return next((rl for rl in ret.lines if rl.id == line_id), None)


@dataclass
class Plan:
    """A checked processing: what to write."""

    units: list[tuple[ReturnLine, int]]
    disposals: list[dispositions.Planned] = field(default_factory=list)
    refund: bool = False
    payments: list[tuple[Decimal, Transaction]] = field(default_factory=list)
    credits: list[refunds.StoreCreditRefund] = field(default_factory=list)
    shipping: Decimal = ZERO
    exchanges: list[exchange_processing.Units] = field(default_factory=list)
    location_id: str | None = None  # where the exchange items ship from


def plan(
    store: ShopifyStore,
    shop: Shop,
    ret: Return,
    process: dict[str, Any],
    units: list[tuple[ReturnLine, int]],
    exchanges: list[exchange_processing.Units] | None = None,
) -> Outcome[Plan]:
    """Check everything but the lines' quantities and the return's status (``return_processing``)."""
    order = shop.orders[ret.order_id]
    items: list[dict[str, Any]] = list(process.get("returnLineItems") or [])
    planned = Plan(units, exchanges=list(exchanges or []))
    planned.location_id, stock_errors = exchange_processing.stock_location(shop, planned.exchanges)
    issue = (process.get("financialTransfer") or {}).get("issueRefund")
    planned.refund = issue is not None or process.get("refundShipping") is not None
    errors = [
        *_absent_things(process),
        *_disposition_errors(shop, ret, items, planned),
        *(_refundable_errors(order, units) if planned.refund else []),
        *_shipping_errors(order, process.get("refundShipping"), planned),
        *(_money_errors(store, order, issue, planned) if issue is not None else []),
        *stock_errors,
    ]
    return Outcome(errors=errors) if errors else Outcome(planned)


def _absent_things(process: dict[str, Any]) -> list[UserError]:
    """Duties and tip lines: emulated orders have none, so any named is not found."""
    errors = [
        UserError(["input", "refundDuties", str(i), "dutyId"], DUTY_NOT_FOUND, "NOT_FOUND")
        for i, _ in enumerate(process.get("refundDuties") or [])
    ]
    if process.get("tipLineId"):
        errors.append(UserError(["input", "tipLineId"], TIP_NOT_FOUND, "NOT_FOUND"))
    return errors


def _disposition_errors(shop: Shop, ret: Return, items: list[dict[str, Any]], plan: Plan) -> list[UserError]:
    """Each disposition names an RFO line of its return line; together no more than the units processed."""
    errors: list[UserError] = []
    for index, item in enumerate(items):
        line = _line(ret, item["id"])
        assert line is not None  # checked by _unprocessed_units
        given = 0
        for number, disposal in enumerate(item.get("dispositions") or []):
            path = ["input", "returnLineItems", str(index), "dispositions", str(number)]
            dispositions.require_kind(disposal["reverseFulfillmentOrderLineItemId"], "ReverseFulfillmentOrderLineItem")
            dispositions.require_kind(disposal.get("locationId"), "Location")
            found = shop.rfo_line(disposal["reverseFulfillmentOrderLineItemId"])
            if found is None or found[0].return_id != ret.id or found[1].return_line_id != line.id:
                at = [*path, "reverseFulfillmentOrderLineItemId"]
                errors.append(UserError(at, DISPOSITION_LINE_NOT_FOUND, "NOT_FOUND"))
                continue
            given += max(int(disposal["quantity"]), 0)
            if given > int(item["quantity"]):
                errors.append(UserError([*path, "quantity"], DISPOSITION_OVER, "INVALID"))
            plan.disposals.append((path, disposal, *found))
    return errors + dispositions.check(shop, plan.disposals)


def _refundable_errors(order: Order, units: list[tuple[ReturnLine, int]]) -> list[UserError]:
    """A refund's lines: the processed units must still be refundable on the order (none refunded by hand)."""
    errors: list[UserError] = []
    asked: dict[str, int] = {}
    for index, (line, count) in enumerate(units):
        item = order_line(order, line)
        if item is None:
            continue
        asked[item.id] = asked.get(item.id, 0) + count
        if asked[item.id] > order.refundable_quantity(item.id):
            path = ["input", "returnLineItems", str(index), "quantity"]
            errors.append(UserError(path, ALREADY_REFUNDED, "INVALID"))
    return errors


def _shipping_errors(order: Order, refund_shipping: dict[str, Any] | None, plan: Plan) -> list[UserError]:
    """``shippingRefundAmount`` (presentment currency, 0..what is left) overrides ``fullRefund``."""
    if not refund_shipping:
        return []
    left = shipping_left(order)
    money = refund_shipping.get("shippingRefundAmount")
    if money is None:
        plan.shipping = left if refund_shipping.get("fullRefund") else ZERO
        return []
    path = ["input", "refundShipping", "shippingRefundAmount"]
    amount = to_decimal(money["amount"])
    if money["currencyCode"] != order.presentment:
        return [UserError([*path, "currencyCode"], PRESENTMENT_CURRENCY, "INVALID")]
    if amount < 0:
        return [UserError([*path, "amount"], NEGATIVE_SHIPPING, "GREATER_THAN_OR_EQUAL_TO")]
    if amount > left:
        asked, cap = format_with_symbol(amount, order.presentment), format_with_symbol(left, order.presentment)
        message = f"Shipping refund amount {asked} is greater than the refundable shipping {cap}"
        return [UserError([*path, "amount"], message, "LESS_THAN_OR_EQUAL_TO")]
    plan.shipping = amount
    return []


def _money_errors(store: ShopifyStore, order: Order, issue: dict[str, Any], plan: Plan) -> list[UserError]:
    """``issueRefund``: transactions against this order's payments in its presentment currency, store credit."""
    errors: list[UserError] = []
    taken: dict[str, Decimal] = {}
    for index, tx in enumerate(issue.get("orderTransactions") or []):
        path = [*_ISSUE, "orderTransactions", str(index)]
        money = tx["transactionAmount"]
        amount = to_decimal(money["amount"])
        parent = order.transaction(str(tx["parentId"]))
        if parent is None:
            errors.append(UserError([*path, "parentId"], PARENT_NOT_FOUND, "NOT_FOUND"))
            continue
        if parent.id not in {payment.id for payment in order.payments()}:
            errors.append(UserError([*path, "parentId"], PARENT_KIND, "INVALID"))
            continue
        if money["currencyCode"] != order.presentment:
            errors.append(UserError([*path, "transactionAmount", "currencyCode"], PRESENTMENT_CURRENCY, "INVALID"))
            continue
        if amount <= 0:
            errors.append(UserError([*path, "transactionAmount", "amount"], NOT_POSITIVE, "GREATER_THAN"))
            continue
        taken[parent.id] = taken.get(parent.id, ZERO) + amount
        if taken[parent.id] > order.refundable_from(parent):
            asked = format_with_symbol(amount, order.presentment)
            cap = format_with_symbol(order.refundable_from(parent), order.presentment)
            message = f"Refund amount {asked} is greater than the maximum refundable {cap} of transaction {parent.id}"
            errors.append(UserError([*path, "transactionAmount", "amount"], message, "LESS_THAN_OR_EQUAL_TO"))
            continue
        plan.payments.append((amount, parent))
    credits = refunds.store_credit_refunds(
        store,
        order,
        list(issue.get("refundMethods") or []),
        currency=order.presentment,
        prefix=(*_ISSUE, "refundMethods"),
        code="INVALID",
    )
    errors += credits.errors
    plan.credits = credits.value or []
    total = sum((amount for amount, _ in plan.payments), ZERO) + sum((c.amount for c in plan.credits), ZERO)
    if not errors and not issue.get("allowOverRefunding") and total > order.net_payment():
        message = (
            f"Refund amount {format_with_symbol(total, order.presentment)} is greater than "
            f"net payment received {format_with_symbol(order.net_payment(), order.presentment)}"
        )
        errors.append(UserError(list(_ISSUE), message, "LESS_THAN_OR_EQUAL_TO"))
    return errors


def apply(
    store: ShopifyStore, shop: Shop, ret: Return, plan: Plan, note: str | None, staff_member_id: str | None = None
) -> None:
    """Write a checked processing: processed units, dispositions, the refund, the fees it charged."""
    order = shop.orders[ret.order_id]
    processed: dict[str, int] = {}
    for line, count in plan.units:
        processed[line.id] = processed.get(line.id, 0) + count
    merged = [(line, processed[line.id]) for line in ret.lines if line.id in processed]
    exchanged = exchange_processing.merged(plan.exchanges)
    # the fees due and the customer's balance, before these units count as processed
    settlement = settle(order, ret, merged, plan.shipping, exchanged)
    for line, count in merged:
        line.processed_quantity += count
    dispositions.apply(store, shop, plan.disposals)
    fulfillment_order_id = None
    if exchanged:
        owed = max(-settlement.net, ZERO)
        fulfilled = exchange_processing.fulfill_exchange(store, shop, order, ret, exchanged, plan.location_id, owed)
        fulfillment_order_id = fulfilled.id
    refund_id = None
    if plan.refund:
        lines = [
            RefundLine(
                id=store.new_id("RefundLineItem"),
                line_item_id=item.id,
                quantity=count,
                restock_type="RETURN",
                location_id=None,
                restocked=False,
                subtotal=item.unit_price * count,
                total_tax=order.line_tax(item, count),
            )
            for _, item, count in settlement.lines
        ]
        refund = refunds.record_refund(
            store,
            shop,
            order,
            lines,
            plan.payments,
            plan.credits,
            plan.shipping,
            note,
            return_id=ret.id,
            staff_member_id=staff_member_id,
        )
        refund_id = refund.id
        for line, _, count in settlement.lines:
            line.refunded_quantity += count
    ret.processings.append(
        ReturnProcessing(
            id=store.new_id("ReturnProcessing"),
            created_at=store.clock.now(),
            lines=processed,
            restocking_fees=dict(settlement.restocking_fees),
            shipping_fee=settlement.shipping_fee,
            refund_id=refund_id,
            exchange_lines={line.id: count for line, count in exchanged},
            fulfillment_order_id=fulfillment_order_id,
            balance=settlement.net,
        )
    )
    order.updated_at = store.clock.now()
