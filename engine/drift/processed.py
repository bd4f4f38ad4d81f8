"""Shopify's record of the returns the engine settled by processing them: every unit the engine refunded that way
must show processed on the Shopify return (the return counts in the merchant's reports only then). The bulk order
scan cannot reach return lines (connection nesting), so those returns are read by id, a page of them per query."""

from __future__ import annotations

from engine.drift.model import ShopifyOrder, ShopifyReturn, WorkflowReturn
from engine.shopify.client import ShopifyClient

PAGE = 25  # returns per query


async def read_processed(client: ShopifyClient, orders: list[ShopifyOrder], flows: list[WorkflowReturn]) -> None:
    """Fill in `processed` for each Shopify return a workflow refunded by processing."""
    returns = {r.id: r for order in orders for r in order.returns}
    wanted = sorted({w.shopify_return_id for w in flows if w.processed_units and w.shopify_return_id} & set(returns))
    for start in range(0, len(wanted), PAGE):
        data = await client.execute("ReturnsProcessed", {"ids": wanted[start : start + PAGE]})
        for node in data.get("nodes") or []:
            if not node or node.get("id") not in returns:
                continue
            processed: dict[str, int] = {}
            for line in (node.get("returnLineItems") or {}).get("nodes") or []:
                item = ((line.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id")
                if item:
                    processed[item] = processed.get(item, 0) + int(line.get("processedQuantity") or 0)
            returns[node["id"]].processed = processed


def unprocessed_units(w: WorkflowReturn, order: ShopifyOrder | None) -> tuple[ShopifyReturn, dict[str, int]] | None:
    """The Shopify return and, per order line item, the refunded units it does not show processed (None: none, or
    its record was not read)."""
    if not w.processed_units or order is None:
        return None
    return_id = w.shopify_return_id or order.return_of(w.rebound_return_id)
    ret = next((r for r in order.returns if r.id == return_id), None)
    if ret is None or ret.processed is None:
        return None
    missing = {
        item: quantity - ret.processed.get(item, 0)
        for item, quantity in sorted(w.processed_units.items())
        if quantity > ret.processed.get(item, 0)
    }
    return (ret, missing) if missing else None
