"""The Shopify return: opened once, its line notes carrying the Rebound return's marker (`create_return`), tracking
on its reverse delivery (`attach_tracking`), closed or cancelled at the end."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from temporalio import activity

from engine.activities.exchanges import variants_by_sku
from engine.activities.messages import CreateReturnInput, ReturnRefInput, ShopifyReturnRef, TrackingInput
from engine.activities.shopify import ShopifyAccess, classified, marked_note, may_have_written, refund_marker
from engine.errors import ShopifyUserError
from engine.shopify.client import ShopifyClient


def linked_return_id(order: dict[str, Any]) -> str | None:
    metafield = order.get("metafield")
    if not metafield:
        return None
    try:
        value = json.loads(metafield["value"])
    except (ValueError, TypeError):
        return None
    linked = value.get("shopify_return_id") if isinstance(value, dict) else None
    return str(linked) if linked else None


def marks(note: str | None, rebound_return_id: str) -> bool:
    """A return line's note names this Rebound return: the marker create_return writes (`marked_note`), or the
    note the workflow wrote before the marker existed ("Rebound <id>: <reason>")."""
    text = note or ""
    return refund_marker(rebound_return_id) in text or text.startswith(f"Rebound {rebound_return_id}: ")


def marked_return(order: dict[str, Any], rebound_return_id: str) -> str | None:
    """The Shopify return on the order whose lines' notes name this Rebound return (None: none does). Exact: a
    person's return, or another Rebound return's, never carries this return's marker."""
    for ret in (order.get("returns") or {}).get("nodes") or []:
        notes = [node.get("returnReasonNote") for node in ret["returnLineItems"]["nodes"]]
        if any(marks(note, rebound_return_id) for note in notes):
            return str(ret["id"])
    return None


def _ref_from_return(ret: dict[str, Any], *, adopted: bool) -> ShopifyReturnRef:
    rfos = ret["reverseFulfillmentOrders"]["nodes"]
    if not rfos:
        raise ShopifyUserError(
            "ReturnCreate", [{"field": ["return"], "message": "return has no reverse fulfillment order"}]
        )
    rfo = rfos[0]
    lines = {node["fulfillmentLineItem"]["id"]: node["id"] for node in rfo["lineItems"]["nodes"]}
    return_lines: dict[str, str] = {}
    for node in (ret.get("returnLineItems") or {}).get("nodes") or []:
        fli = (node.get("fulfillmentLineItem") or {}).get("id")
        if fli:
            return_lines.setdefault(fli, node["id"])
    return ShopifyReturnRef(ret["id"], ret.get("name") or ret["id"], rfo["id"], lines, adopted, return_lines)


class ReturnActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    async def _return_ref(self, client: ShopifyClient, return_id: str, *, adopted: bool) -> ShopifyReturnRef:
        data = await client.execute("ReturnForSync", {"id": return_id})
        if data.get("return") is None:
            raise ShopifyUserError("ReturnForSync", [{"field": ["id"], "message": f"return {return_id} not found"}])
        return _ref_from_return(data["return"], adopted=adopted)

    @activity.defn(name="create_return")
    async def create_return(self, req: CreateReturnInput) -> ShopifyReturnRef:
        async with classified():
            client = self.shopify.client(req.shop)
            if may_have_written(req.repeat):
                adopted = await self._earlier_return(client, req)
                if adopted is not None:
                    return adopted
            by_handle = await self.shopify.reason_definitions(
                client, sorted({ln.reason_handle for ln in req.lines} | {"other-reason"})
            )
            line_inputs = []
            for line in req.lines:
                reason_id = by_handle.get(line.reason_handle) or by_handle.get("other-reason")
                if reason_id is None:
                    problem = {"field": ["returnReasonDefinitionId"], "message": f"no reason {line.reason_handle!r}"}
                    raise ShopifyUserError("ReturnCreate", [problem])
                line_input: dict[str, Any] = {
                    "fulfillmentLineItemId": line.fulfillment_line_item_id,
                    "quantity": line.quantity,
                    "returnReasonDefinitionId": reason_id,
                    "returnReasonNote": marked_note(line.note, req.rebound_return_id),
                }
                percent = req.restocking_fee_percent.get(line.fulfillment_line_item_id)
                if percent:
                    line_input["restockingFee"] = {"percentage": float(percent)}
                line_inputs.append(line_input)
            return_input: dict[str, Any] = {
                "orderId": req.order_id, "returnLineItems": line_inputs, "requestedAt": req.requested_at
            }  # fmt: skip
            if req.return_shipping_fee:
                fee = {"amount": req.return_shipping_fee, "currencyCode": req.currency}
                return_input["returnShippingFee"] = {"amount": fee}
            no_variant: list[str] = []
            if req.exchanges:  # the variants wanted instead, as exchange line items on the return
                variants = await variants_by_sku(client, list(req.exchanges))
                no_variant = sorted(set(req.exchanges) - set(variants))
                wanted = [(variants[sku].id, qty) for sku, qty in sorted(req.exchanges.items()) if sku in variants]
                return_input["exchangeLineItems"] = [{"variantId": v, "quantity": qty} for v, qty in wanted]
            result = await client.mutate("ReturnCreate", "returnCreate", {"returnInput": return_input})
            ref = dataclasses.replace(_ref_from_return(result["return"], adopted=False), no_variant=no_variant)
            await self._link_refused(client, req, ref.return_id)
            return ref

    async def _link_refused(self, client: ShopifyClient, req: CreateReturnInput, return_id: str) -> None:
        """The order's link, written at registration only when lines were refused (final sale): CX reads the
        refusal on the order from the start. Otherwise nothing is written on the order now: the return's line
        notes carry the link, and the order's link is written with the status at `received`."""
        if req.refused:
            link = {"shopify_return_id": return_id, "state": "requested", "refused": req.refused}
            await self.shopify.link(client, req.shop, req.order_id, req.rebound_return_id, link)

    async def _earlier_return(self, client: ShopifyClient, req: CreateReturnInput) -> ShopifyReturnRef | None:
        """The Shopify return an earlier call created (its answer lost, or the call stopped before the order's
        link): the one the order's link names (returns linked before the marker), else the one whose line notes
        carry this return's marker; adopted rather than created again."""
        order = await self.shopify.order(client, req.order_id, req.rebound_return_id, "returns")
        linked = linked_return_id(order)
        if linked:
            return await self._return_ref(client, linked, adopted=True)
        adopted = marked_return(order, req.rebound_return_id)
        if not adopted:
            return None
        ref = await self._return_ref(client, adopted, adopted=True)
        await self._link_refused(client, req, adopted)
        return ref

    @activity.defn(name="attach_tracking")
    async def attach_tracking(self, req: TrackingInput) -> None:
        async with classified():
            client = self.shopify.client(req.shop)
            if may_have_written(req.repeat) and await self._has_tracking(client, req):
                return
            tracking_input: dict[str, Any] = {"number": req.number}
            if req.url:
                tracking_input["url"] = req.url
            lines = [{"reverseFulfillmentOrderLineItemId": line, "quantity": qty} for line, qty in req.lines.items()]
            await client.mutate("ReverseDeliveryCreate", "reverseDeliveryCreateWithShipping",
                                {"rfoId": req.rfo_id, "tracking": tracking_input, "lines": lines})  # fmt: skip

    async def _has_tracking(self, client: ShopifyClient, req: TrackingInput) -> bool:
        data = await client.execute("ReturnForSync", {"id": req.return_id})
        for rfo in (data.get("return") or {}).get("reverseFulfillmentOrders", {}).get("nodes", []):
            for delivery in rfo["reverseDeliveries"]["nodes"]:
                tracking = (delivery.get("deliverable") or {}).get("tracking") or {}
                if tracking.get("number") == req.number:
                    return True
        return False

    @activity.defn(name="close_return")
    async def close_return(self, req: ReturnRefInput) -> None:
        async with classified():
            await self.shopify.client(req.shop).mutate("ReturnClose", "returnClose", {"id": req.return_id})

    @activity.defn(name="cancel_return")
    async def cancel_return(self, req: ReturnRefInput) -> None:
        async with classified():
            await self.shopify.client(req.shop).mutate("ReturnCancel", "returnCancel", {"id": req.return_id})
