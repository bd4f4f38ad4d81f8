"""``orderCancel`` rules: validation, cancellation state, restock and the refund a cancel may issue.

As captured on 2026-04 (``orderCancel-restock-refundMethod-parity``, ``orderCancel-error-messages``,
``orderCancel-parity``): a cancel closes the order in the same instant (``closedAt == cancelledAt``), keeps
the staff note in ``Order.cancellation``, drops the current total to 0.0 and closes the fulfillment order
(see ``fulfillment_orders``). ``refundMethod: {originalPaymentMethodsRefund: true}`` (or the deprecated
``refund: true``) refunds what was paid, as one refund with one REFUND transaction per paid parent on its
gateway; ``refundMethod: {storeCreditRefund}`` refunds it to the customer's store credit instead. ``restock``
returns the units still waiting to ship to stock (CANCEL restock at the shop's first location); shipped units
are never restocked by a cancel. Shopify answers with an asynchronous ``Job`` (``done: false``); the emulator
applies the cancel at once, so a read right after already sees it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .fulfillment_orders import remaining_quantity
from .model import Order, Shop
from .money import format_amount
from .outcome import Outcome, UserError
from .refunds import create_refund

if TYPE_CHECKING:
    from .store import ShopifyStore

STAFF_NOTE_MAX = 255
STAFF_NOTE_TOO_LONG = "Staff note is too long. Maximum length is 255 characters."
REFUND_ARGUMENT_CONFLICT = "Only one of the arguments `refund` or `refund_method` is allowed."
ALREADY_CANCELLED = "Cannot cancel an order that has already been canceled"
NOT_FOUND = "Order does not exist"


@dataclass(frozen=True)
class CancelRequest:
    """The mutation's arguments, as coerced by the schema."""

    order_id: str
    reason: str
    restock: bool
    staff_note: str | None = None
    refund: bool | None = None
    refund_method: dict[str, Any] | None = None


@dataclass(frozen=True)
class CancelJob:
    """The ``Job`` Shopify hands back for the asynchronous cancel."""

    id: str
    done: bool = False


def _validate(shop: Shop, request: CancelRequest) -> tuple[Order | None, list[UserError]]:
    order = shop.orders.get(request.order_id)
    if order is None:
        return None, [UserError(["orderId"], NOT_FOUND, "NOT_FOUND")]
    errors: list[UserError] = []
    if request.staff_note is not None and len(request.staff_note) > STAFF_NOTE_MAX:
        errors.append(UserError(["staffNote"], STAFF_NOTE_TOO_LONG, "INVALID"))
    if request.refund is not None and request.refund_method is not None:
        errors.append(UserError(["refund"], REFUND_ARGUMENT_CONFLICT, "INVALID"))
    if order.cancelled_at is not None:
        errors.append(UserError(["orderId"], ALREADY_CANCELLED, "INVALID"))
    return order, errors


def _refund_input(shop: Shop, order: Order, request: CancelRequest) -> dict[str, Any]:
    """The refundCreate input a cancel amounts to: every unit left, the shipping, and the money if asked."""
    location_id = next(iter(shop.locations), None)
    lines = []
    for line in order.line_items:
        left = order.refundable_quantity(line.id)
        if left <= 0:
            continue
        waiting = remaining_quantity(order, line)  # the order is not cancelled yet (validated above)
        restock = min(left, waiting) if request.restock and location_id is not None else 0
        if restock:
            lines.append(
                {"lineItemId": line.id, "quantity": restock, "restockType": "CANCEL", "locationId": location_id}
            )
        if left - restock:
            lines.append({"lineItemId": line.id, "quantity": left - restock, "restockType": "NO_RESTOCK"})
    refund_input: dict[str, Any] = {"orderId": order.id, "refundLineItems": lines, "shipping": {"fullRefund": True}}
    method = request.refund_method or {}
    if request.refund or method.get("originalPaymentMethodsRefund"):
        refund_input["transactions"] = [
            {
                "amount": format_amount(left),
                "gateway": t.gateway,
                "kind": "REFUND",
                "orderId": order.id,
                "parentId": t.id,
            }
            for t, left in _refundable_parents(order)
        ]
    elif method.get("storeCreditRefund") is not None and order.net_payment() > 0:
        credit = method["storeCreditRefund"]
        amount = {"amount": format_amount(order.net_payment()), "currencyCode": order.currency}
        refund_input["refundMethods"] = [
            {"storeCreditRefund": {"amount": amount, "expiresAt": credit.get("expiresAt")}}
        ]
    return refund_input


def _refundable_parents(order: Order) -> list[tuple[Any, Decimal]]:
    """Each paid SALE/CAPTURE with what is left of it after the refunds made against it."""
    out = []
    for tx in order.transactions:
        if tx.kind not in ("SALE", "CAPTURE") or tx.status != "SUCCESS":
            continue
        refunded = sum(
            (t.amount for t in order.transactions if t.kind == "REFUND" and t.parent_id == tx.id), Decimal("0")
        )
        if tx.amount - refunded > 0:
            out.append((tx, tx.amount - refunded))
    return out


def cancel_order(store: ShopifyStore, shop: Shop, request: CancelRequest) -> Outcome[CancelJob]:
    order, errors = _validate(shop, request)
    if errors or order is None:
        return Outcome(errors=errors)
    refund_input = _refund_input(shop, order, request)
    if refund_input["refundLineItems"] or refund_input.get("transactions") or refund_input.get("refundMethods"):
        refunded = create_refund(store, shop, refund_input)
        if refunded.value is None:
            return Outcome(errors=[UserError(e.field, e.message, "INVALID") for e in refunded.errors])
    now = store.clock.now()
    order.cancelled_at = now
    order.closed_at = now
    order.cancel_reason = request.reason
    order.cancel_staff_note = request.staff_note
    order.updated_at = now
    return Outcome(CancelJob(id=f"gid://shopify/Job/{uuid.uuid4()}"))
