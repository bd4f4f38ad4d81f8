"""Stock: each item's disposition applied in Shopify once (`dispose_items`); only sellable units reach
`available`, at their location. What Shopify already shows for a line is never applied again."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from engine.activities.messages import Disposal, DisposeInput, DisposeResult
from engine.activities.shopify import ShopifyAccess, classified, may_have_written
from engine.errors import ShopifyUserError
from engine.shopify.client import ShopifyClient
from engine.telemetry.instruments import restocked


class StockActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    @activity.defn(name="dispose_items")
    async def dispose_items(self, req: DisposeInput) -> DisposeResult:
        async with classified():
            client = self.shopify.client(req.shop)
            result = DisposeResult()
            if may_have_written(req.repeat):
                to_apply = await self._still_to_apply(client, req, result)
            else:  # a first call: nothing of this return was disposed yet (Shopify refuses more than is left)
                to_apply = list(req.disposals)
            if to_apply:
                inputs = []
                for d in to_apply:
                    entry: dict[str, Any] = {"reverseFulfillmentOrderLineItemId": d.rfo_line_id,
                                             "quantity": d.quantity, "dispositionType": d.disposition}  # fmt: skip
                    if d.location_id:
                        entry["locationId"] = d.location_id
                    inputs.append(entry)
                await client.mutate("ReverseFulfillmentOrderDispose", "reverseFulfillmentOrderDispose",
                                    {"dispositionInputs": inputs})  # fmt: skip
                result.applied = to_apply
                for d in to_apply:
                    if d.disposition == "RESTOCKED" and d.location_id:
                        restocked(req.shop.brand, d.location_id, d.quantity)
            return result

    async def _still_to_apply(self, client: ShopifyClient, req: DisposeInput, result: DisposeResult) -> list[Disposal]:
        """What Shopify already shows for each line is recorded as done; only the rest is applied."""
        ret = (await client.execute("ReturnForSync", {"id": req.return_id})).get("return")
        if ret is None:
            problem = {"field": ["id"], "message": f"return {req.return_id} not found"}
            raise ShopifyUserError("ReturnForSync", [problem])
        existing: dict[tuple[str, str, str | None], int] = {}
        undisposed: dict[str, int] = {}
        for rfo in ret["reverseFulfillmentOrders"]["nodes"]:
            for line in rfo["lineItems"]["nodes"]:
                total = line["totalQuantity"]
                for d in line["dispositions"]:
                    key = (line["id"], d["type"], (d.get("location") or {}).get("id"))
                    existing[key] = existing.get(key, 0) + d["quantity"]
                    total -= d["quantity"]
                undisposed[line["id"]] = total
        to_apply: list[Disposal] = []
        for want in req.disposals:
            key = (want.rfo_line_id, want.disposition, want.location_id)
            done = min(existing.get(key, 0), want.quantity)
            if done:
                existing[key] -= done
                result.already_done.append(Disposal(want.rfo_line_id, done, want.disposition, want.location_id))
            remaining = want.quantity - done
            if remaining <= 0:
                continue
            left = undisposed.get(want.rfo_line_id, 0)
            if left < remaining:
                asked = f"{want.rfo_line_id}: only {left} left to dispose, {remaining} asked"
                problem = {"field": ["dispositionInputs"], "message": asked}
                raise ShopifyUserError("ReverseFulfillmentOrderDispose", [problem])
            undisposed[want.rfo_line_id] -= remaining
            to_apply.append(Disposal(want.rfo_line_id, remaining, want.disposition, want.location_id))
        return to_apply
