"""The order: is it returnable (`validate_order`), and the return's status written on it (`sync_order_status`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity

from engine.activities.messages import (
    OrderLine,
    OrderSnapshot,
    OrderStatusInput,
    Payment,
    ValidateOrderInput,
    ValidateOrderResult,
)
from engine.activities.shopify import ShopifyAccess, classified, money, parse_time


def payments_of(transactions: list[dict[str, Any]]) -> list[Payment]:
    """The order's successful payments, each with what it can still give back."""
    return [
        Payment(t["id"], t["gateway"], str(money(t["amountSet"])),
                str((t.get("maximumRefundableV2") or {}).get("amount") or money(t["amountSet"])))
        for t in transactions
        if t["status"] == "SUCCESS" and t["kind"] in ("SALE", "CAPTURE")
    ]  # fmt: skip


def snapshot(order: dict[str, Any]) -> OrderSnapshot:
    """What the workflow keeps of an order: lines with what was fulfilled and is still refundable, payments."""
    fulfilled: dict[str, tuple[str, int]] = {}
    for fulfillment in order.get("fulfillments") or []:
        if fulfillment.get("status") not in (None, "SUCCESS"):
            continue
        for fli in fulfillment["fulfillmentLineItems"]["nodes"]:
            line_id = fli["lineItem"]["id"]
            prev = fulfilled.get(line_id)
            fulfilled[line_id] = (prev[0] if prev else fli["id"], (prev[1] if prev else 0) + fli["quantity"])
    transactions = [t for t in order.get("transactions") or [] if t["status"] == "SUCCESS"]
    sales = [t for t in transactions if t["kind"] in ("SALE", "CAPTURE")]
    paid = sum((money(t["amountSet"]) for t in sales), Decimal(0))
    refunded = sum((money(t["amountSet"]) for t in transactions if t["kind"] == "REFUND"), Decimal(0))
    lines = []
    for node in order["lineItems"]["nodes"]:
        fli_id, qty = fulfilled.get(node["id"], ("", 0))
        variant = node.get("variant") or {}
        lines.append(
            OrderLine(
                line_item_id=node["id"],
                fulfillment_line_item_id=fli_id,
                sku=node.get("sku") or "",
                unit_price=str(money(node["discountedUnitPriceAfterAllDiscountsSet"])),
                inventory_item_id=(variant.get("inventoryItem") or {}).get("id"),
                fulfilled_quantity=qty,
                refundable_quantity=node["refundableQuantity"],
            )
        )
    sale = sales[0] if sales else None
    payments = payments_of(order.get("transactions") or [])
    presentment = order.get("presentmentCurrencyCode") or order["currencyCode"]
    total = order.get("totalPriceSet") or {}
    shop_total = Decimal(str((total.get("shopMoney") or {}).get("amount") or "0"))
    presentment_total = Decimal(str((total.get("presentmentMoney") or {}).get("amount") or "0"))
    return OrderSnapshot(
        order_id=order["id"],
        name=order["name"],
        currency=presentment,
        processed_at=order["processedAt"],
        sale_transaction_id=sale["id"] if sale else None,
        gateway=sale["gateway"] if sale else None,
        net_payment=str(paid - refunded),
        lines=lines,
        customer_id=(order.get("customer") or {}).get("id"),
        shop_currency=order["currencyCode"],
        taxes_included=bool(order.get("taxesIncluded", True)),
        payments=payments,
        rate=str(presentment_total / shop_total) if shop_total > 0 else "",
    )


class OrderActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    @activity.defn(name="validate_order")
    async def validate_order(self, req: ValidateOrderInput) -> ValidateOrderResult:
        async with classified():
            client = self.shopify.client(req.shop)
            name = req.order_name if req.order_name.startswith("#") else f"#{req.order_name}"
            found = (await client.execute("OrderByName", {"query": f"name:{name}"}))["orders"]["nodes"]
            exact = [o for o in found if o["name"] == name]
            if not exact:
                return ValidateOrderResult(False, [f"order {name} not found in {req.shop.domain}"])
            order = exact[0]
            snap = snapshot(order)
            problems: list[str] = []
            if order.get("cancelledAt"):
                problems.append(f"order {name} was cancelled")
            wanted: dict[str, int] = {}
            for item in req.items:
                wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
            if not wanted:
                problems.append("every item is final sale: " + "; ".join(req.refused) if req.refused else
                                "the return has no items")  # fmt: skip
            for sku, qty in wanted.items():
                line = snap.line_for_sku(sku)
                if line is None:
                    problems.append(f"SKU {sku} is not on order {name}")
                elif line.fulfilled_quantity < qty:
                    problems.append(f"SKU {sku}: {qty} returned but {line.fulfilled_quantity} fulfilled")
                elif req.check_refundable and line.refundable_quantity < qty:
                    problems.append(f"SKU {sku}: {qty} returned but only {line.refundable_quantity} still refundable")
            window_end = parse_time(snap.processed_at) + timedelta(days=req.return_window_days)
            if parse_time(req.registered_at) > window_end:
                problems.append(
                    f"registered {req.registered_at[:10]}, outside the {req.return_window_days}-day return window"
                    f" (ended {window_end.date().isoformat()})"
                )
            return ValidateOrderResult(not problems, problems, snap)

    @activity.defn(name="sync_order_status")
    async def sync_order_status(self, req: OrderStatusInput) -> None:
        async with classified():
            client = self.shopify.client(req.shop)
            fields = {"state": req.state, "shopify_return_id": req.return_id, "tracking_number": req.tracking_number,
                      "refund_id": req.refund_id, **({"refused": req.refused} if req.refused else {})}  # fmt: skip
            await self.shopify.link(client, req.shop, req.order_id, req.rebound_return_id, fields)
