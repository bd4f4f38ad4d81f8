"""``refundCreate`` rules: quantities, transactions, over-refund guard, restock and money movement.

Money moves only through ``transactions`` (a refund without them records lines/restock and refunds 0.0), the
refund transaction's gateway is the parent's whatever the input says, and ``allowOverRefunding`` does not lift
the "greater than net payment received" guard (all as captured on real stores). Idempotency is handled by the
caller (``idempotency``), not here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import Refund, RefundLine, Shop, Transaction
from .money import format_with_symbol, to_decimal
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

_RESTOCKING_TYPES = ("RETURN", "CANCEL", "LEGACY_RESTOCK")


def create_refund(store: ShopifyStore, shop: Shop, refund_input: dict[str, Any]) -> Outcome[Refund]:
    order = shop.orders.get(refund_input.get("orderId") or "")
    if order is None:
        return Outcome(errors=[UserError(["orderId"], "Order does not exist")])

    errors: list[UserError] = []
    line_inputs: list[dict[str, Any]] = list(refund_input.get("refundLineItems") or [])
    asked: dict[str, int] = {}
    for index, line_input in enumerate(line_inputs):
        path = ["refundLineItems", str(index)]
        line = order.line(line_input["lineItemId"])
        if line is None:
            errors.append(UserError([*path, "lineItemId"], "Line item does not exist"))
            continue
        quantity = int(line_input["quantity"])
        asked[line.id] = asked.get(line.id, 0) + quantity
        if quantity < 0 or asked[line.id] > order.refundable_quantity(line.id):
            errors.append(UserError([*path, "quantity"], "Quantity cannot refund more items than were purchased"))
            continue
        location_id = line_input.get("locationId")
        if location_id is not None and location_id not in shop.locations:
            errors.append(UserError([*path, "locationId"], "Location not found"))
    if errors:
        return Outcome(errors=errors)

    transaction_inputs: list[dict[str, Any]] = list(refund_input.get("transactions") or [])
    amount = Decimal("0")
    parents: list[Transaction] = []
    for tx in transaction_inputs:
        if tx["kind"] != "REFUND":
            return Outcome(errors=[UserError(None, f"Kind {str(tx['kind']).lower()} is not a valid transaction")])
        parent = order.transaction(tx.get("parentId") or "")
        if parent is None or parent.kind not in ("SALE", "CAPTURE"):
            message = "Transactions require a parent_id associated with the order"
            return Outcome(errors=[UserError(["transactions"], message)])
        parents.append(parent)
        amount += to_decimal(tx["amount"])
    if amount > order.net_payment():
        message = (
            f"Refund amount {format_with_symbol(amount, order.currency)} is greater than "
            f"net payment received {format_with_symbol(order.net_payment(), order.currency)}"
        )
        return Outcome(errors=[UserError(None, message)])

    now = store.clock.now()
    refund_lines: list[RefundLine] = []
    for line_input in line_inputs:
        line = order.line(line_input["lineItemId"])
        assert line is not None
        quantity = int(line_input["quantity"])
        restock_type = line_input.get("restockType") or "NO_RESTOCK"
        location_id = line_input.get("locationId")
        restocked = restock_type in _RESTOCKING_TYPES and line.inventory_item_id is not None and quantity > 0
        if restocked:
            location_id = location_id or next(iter(shop.locations), None)
            if location_id is None:
                restocked = False
        if restocked and line.inventory_item_id is not None and location_id is not None:
            level = shop.inventory[line.inventory_item_id].level(location_id)
            level.add("available", quantity)
            level.updated_at = now
        refund_lines.append(
            RefundLine(
                id=store.new_id("RefundLineItem"),
                line_item_id=line.id,
                quantity=quantity,
                restock_type=restock_type,
                location_id=location_id,
                restocked=restocked,
                subtotal=line.unit_price * quantity,
            )
        )
    transaction_ids = []
    for tx, parent in zip(transaction_inputs, parents, strict=True):
        refund_tx = Transaction(
            id=store.new_id("OrderTransaction"),
            kind="REFUND",
            amount=to_decimal(tx["amount"]),
            gateway=parent.gateway,
            created_at=now,
            parent_id=parent.id,
        )
        order.transactions.append(refund_tx)
        transaction_ids.append(refund_tx.id)
    shipping = refund_input.get("shipping") or {}
    shipping_amount = to_decimal(shipping["amount"]) if shipping.get("amount") is not None else Decimal("0")
    if shipping.get("fullRefund"):
        shipping_amount = order.shipping
    refund = Refund(
        id=store.new_id("Refund"),
        note=refund_input.get("note"),
        created_at=now,
        lines=refund_lines,
        transaction_ids=transaction_ids,
        amount=amount,
        shipping=shipping_amount,
    )
    order.refunds.append(refund)
    order.updated_at = now
    return Outcome(refund)


def find_refund(shop: Shop, refund_id: str) -> Refund | None:
    for order in shop.orders.values():
        for refund in order.refunds:
            if refund.id == refund_id:
                return refund
    return None
