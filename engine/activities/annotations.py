"""What a flow writes on the order for people to see: tags (`tag_order`, `untag_order`) and a line in the
order's note (`add_order_note`), each idempotent: tags are a set, and a note line carries its marker."""

from __future__ import annotations

from temporalio import activity

from engine.activities.messages import OrderNoteInput, OrderTagInput
from engine.activities.shopify import ShopifyAccess, classified

MAX_NOTE = 5000  # keep the note readable: the oldest lines go first


class AnnotationActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    @activity.defn(name="tag_order")
    async def tag_order(self, req: OrderTagInput) -> None:
        async with classified():
            await self.shopify.client(req.shop).mutate(
                "OrderTagsAdd", "tagsAdd", {"id": req.order_id, "tags": [req.tag]}
            )

    @activity.defn(name="untag_order")
    async def untag_order(self, req: OrderTagInput) -> None:
        async with classified():
            client = self.shopify.client(req.shop)
            await client.mutate("OrderTagsRemove", "tagsRemove", {"id": req.order_id, "tags": [req.tag]})

    @activity.defn(name="add_order_note")
    async def add_order_note(self, req: OrderNoteInput) -> None:
        async with classified():
            client = self.shopify.client(req.shop)
            order = (await client.execute("OrderNote", {"id": req.order_id})).get("order") or {}
            note = order.get("note") or ""
            if req.marker in note:
                return  # an earlier attempt wrote it
            line = f"{req.marker} {req.text}"
            lines = [*note.splitlines(), line] if note else [line]
            while len("\n".join(lines)) > MAX_NOTE and len(lines) > 1:
                lines.pop(0)
            await client.mutate(
                "OrderNoteSet", "orderUpdate", {"input": {"id": req.order_id, "note": "\n".join(lines)}}
            )
