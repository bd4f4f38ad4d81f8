"""``Order.suggestedRefund``: what the given lines (and shipping) are worth with their tax, in shop and presentment
money, and how that amount splits across the order's payments.

No recording shows this field; it follows the schema's descriptions (2026-04/07): ``subtotalSet`` "the sum of all
the prices of the line items being refunded", ``totalTaxSet`` "the sum of the taxes being refunded",
``amountSet`` "the total monetary value to be refunded", ``maximumRefundableSet`` "the total monetary value
available to refund", ``suggestedTransactions`` one ``SUGGESTED_REFUND`` per payment with its
``maximumRefundableSet`` ("the available amount to refund on the gateway"). Quantities above what is still
refundable are lowered to it (the REST `calculate` endpoint documents modified instructions likewise). Tax is added
to the amount only when the order's prices exclude it. The split takes the payments in the order they were
taken, each up to what it can still give back; the engine chooses its own split (gift card first or last)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .money import format_amount, to_decimal

if TYPE_CHECKING:
    from .model import Order
    from .views import View, Views


def _line(order: Order, wanted: dict[str, Any]) -> tuple[Any, int] | None:
    line = order.line(str(wanted.get("lineItemId") or ""))
    if line is None:
        return None
    return line, max(0, min(int(wanted.get("quantity") or 0), order.refundable_quantity(line.id)))


def suggested_transactions(views: Views, order: Order, amount: Decimal, *, with_maximum: bool = True) -> list[View]:
    """``amount`` split across the order's payments in the order they were taken, each up to what it can still
    give back: one ``SUGGESTED_REFUND`` per payment used. ``with_maximum``: fill ``maximumRefundableSet`` (its
    description: "Only available within SuggestedRefund"; null elsewhere)."""
    left = amount
    suggested = []
    for payment in order.payments():
        take = min(left, order.refundable_from(payment))
        if take <= 0:
            continue
        left -= take
        maximum = order.refundable_from(payment)
        suggested.append(
            {
                "__typename": "SuggestedOrderTransaction",
                "kind": "SUGGESTED_REFUND",
                "gateway": payment.gateway,
                "formattedGateway": payment.gateway.replace("_", " ").title(),
                "accountNumber": None,
                "amount": format_amount(order.shop_amount(take)),  # deprecated ``Money`` scalar: shop money
                "amountSet": views.order_money(order, take),
                "maximumRefundable": format_amount(order.shop_amount(maximum)) if with_maximum else None,
                "maximumRefundableSet": views.order_money(order, maximum) if with_maximum else None,
                "parentTransaction": views.transaction(order, payment),
            }
        )
    return suggested


def suggested_refund(views: Views, order: Order, args: dict[str, Any]) -> View:
    lines = [found for wanted in args.get("refundLineItems") or [] if (found := _line(order, wanted))]
    if args.get("suggestFullRefund"):
        lines = [(li, order.refundable_quantity(li.id)) for li in order.line_items]
    subtotal = sum((line.unit_price * qty for line, qty in lines), Decimal("0"))
    tax = sum((order.line_tax(line, qty) for line, qty in lines), Decimal("0"))
    shipping_left = max(order.shipping - order.refunded_shipping(), Decimal("0"))
    shipping = Decimal("0")
    if args.get("refundShipping") or args.get("suggestFullRefund"):
        shipping = shipping_left
    elif args.get("shippingAmount") is not None:
        shipping = min(to_decimal(args["shippingAmount"]), shipping_left)
    amount = min(subtotal + (Decimal("0") if order.taxes_included else tax) + shipping, order.net_payment())
    suggested = suggested_transactions(views, order, amount)
    zero = views.order_money(order, Decimal("0"))
    return {
        "__typename": "SuggestedRefund",
        "amountSet": views.order_money(order, amount),
        "subtotalSet": views.order_money(order, subtotal),
        "discountedSubtotalSet": views.order_money(order, subtotal),
        "totalTaxSet": views.order_money(order, tax),
        "totalCartDiscountAmountSet": zero,
        "totalDutiesSet": zero,
        "maximumRefundableSet": views.order_money(order, order.net_payment()),
        "refundDuties": [],
        "suggestedRefundMethods": [],
        "suggestedTransactions": suggested,
        "shipping": {
            "__typename": "ShippingRefund",
            "amountSet": views.order_money(order, shipping),
            "taxSet": zero,
            "maximumRefundableSet": views.order_money(order, shipping_left),
        },
        "refundLineItems": [
            {
                "__typename": "RefundLineItem",
                "id": None,
                "quantity": qty,
                "restockType": "NO_RESTOCK",
                "restocked": False,
                "location": None,
                "lineItem": views.line_item(order, line),
                "priceSet": views.order_money(order, line.unit_price),
                "subtotalSet": views.order_money(order, line.unit_price * qty),
                "totalTaxSet": views.order_money(order, order.line_tax(line, qty)),
            }
            for line, qty in lines
        ],
    }
