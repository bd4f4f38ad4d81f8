"""Shopify's side: one bulk operation (BulkOrdersForDrift) over every order with returns or tagged rebound-return,
polled with BulkOperationStatus until COMPLETED, its JSONL downloaded and folded back into orders (children carry
`__parentId`; they may come right after their parent or later in the file). Then each Shopify return no order
link names is read by id for the Rebound return its lines' notes mark (ReturnsMarked), and orders that show no
trace of Rebound (another app's returns, a person's) are left out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

import httpx

from engine.drift.markers import marker_ids
from engine.drift.model import ShopifyOrder, ShopifyRefund, ShopifyReturn
from engine.shopify.client import ShopifyClient

LINK_PREFIX = "return_"
PAGE = 25  # returns per ReturnsMarked query


class BulkOperationFailed(RuntimeError):
    pass


def parse_jsonl(lines: Iterable[str | bytes]) -> list[ShopifyOrder]:
    orders: dict[str, ShopifyOrder] = {}
    orphans: list[dict[str, Any]] = []
    for raw in lines:
        if not raw or not raw.strip():
            continue
        obj = json.loads(raw)
        parent = obj.get("__parentId")
        if parent is None:
            orders[obj["id"]] = _order(obj)
        elif parent in orders:
            _attach(orders[parent], obj)
        else:
            orphans.append(obj)
    for obj in orphans:
        if obj["__parentId"] in orders:
            _attach(orders[obj["__parentId"]], obj)
    return list(orders.values())


def _order(obj: dict[str, Any]) -> ShopifyOrder:
    refunds = [
        ShopifyRefund(
            id=r["id"],
            note=r.get("note") or "",
            created_at=r.get("createdAt") or "",
            amount=str(((r.get("totalRefundedSet") or {}).get("presentmentMoney") or {}).get("amount") or "0"),
            currency=str(((r.get("totalRefundedSet") or {}).get("presentmentMoney") or {}).get("currencyCode") or ""),
            return_id=str((r.get("return") or {}).get("id") or ""),
        )
        for r in obj.get("refunds") or []
    ]
    return ShopifyOrder(obj["id"], obj.get("name") or "", list(obj.get("tags") or []), obj.get("createdAt"), refunds)


def _attach(order: ShopifyOrder, obj: dict[str, Any]) -> None:
    gid = str(obj.get("id") or "")
    if "/Metafield/" in gid or "key" in obj:
        if obj.get("namespace", "rebound") != "rebound" or not str(obj.get("key", "")).startswith(LINK_PREFIX):
            return
        try:
            value = json.loads(obj.get("value") or "{}")
        except ValueError:
            return
        rid = value.get("rebound_return_id") if isinstance(value, dict) else None
        if rid:
            order.links[str(rid)] = value
    elif "/Return/" in gid or "status" in obj:
        order.returns.append(
            ShopifyReturn(
                gid, obj.get("name") or gid, obj.get("status") or "", obj.get("createdAt"), obj.get("closedAt")
            )
        )


async def read_marks(client: ShopifyClient, orders: list[ShopifyOrder]) -> None:
    """Link each Shopify return no order link names to the Rebound return its lines' notes mark (the link metafield
    is written at `received`; before it, and for a return whose link was never written, the marker is the link)."""
    unlinked = {r.id: r for order in orders for r in order.returns if r.id not in order.linked_return_ids()}
    wanted = sorted(unlinked)
    for start in range(0, len(wanted), PAGE):
        data = await client.execute("ReturnsMarked", {"ids": wanted[start : start + PAGE]})
        for node in data.get("nodes") or []:
            if not node or node.get("id") not in unlinked:
                continue
            for line in (node.get("returnLineItems") or {}).get("nodes") or []:
                ids = marker_ids(line.get("returnReasonNote") or "")
                if ids:
                    unlinked[node["id"]].rebound_return_id = ids[0]
                    break


def touched(order: ShopifyOrder) -> bool:
    """The order shows a trace of Rebound: a link, a tag, a marked return, a marked refund."""
    return bool(order.rebound_ids()) or "rebound-return" in order.tags or any(marker_ids(r.note) for r in order.refunds)


async def run_bulk(
    client: ShopifyClient,
    http: httpx.AsyncClient,
    *,
    poll_seconds: float = 1.0,
    timeout_seconds: float = 3600.0,
    on_poll: Any = None,
) -> list[ShopifyOrder]:
    """Start the bulk query, wait for it, download and parse its JSONL."""
    result = await client.mutate("BulkOrdersForDrift", "bulkOperationRunQuery", {})
    op_id = result["bulkOperation"]["id"]
    deadline = time.monotonic() + timeout_seconds
    while True:
        op = (await client.execute("BulkOperationStatus", {"id": op_id})).get("bulkOperation") or {}
        status = op.get("status")
        if on_poll is not None:
            on_poll(status)
        if status == "COMPLETED":
            break
        if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED") or op == {}:
            raise BulkOperationFailed(f"bulk operation {op_id} {status}: {op.get('errorCode')}")
        if time.monotonic() > deadline:
            raise BulkOperationFailed(f"bulk operation {op_id} still {status} after {timeout_seconds:.0f}s")
        await asyncio.sleep(poll_seconds)
    url = op.get("url")
    if not url:
        return []  # nothing matched: Shopify writes no file
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        lines = [line async for line in response.aiter_lines()]
    orders = parse_jsonl(lines)
    await read_marks(client, orders)
    return [order for order in orders if touched(order)]
