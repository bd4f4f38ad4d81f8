"""Dispositions of reverse fulfillment order lines, shared by ``reverseFulfillmentOrderDispose`` and the
``dispositions`` of ``returnProcess`` lines: the checks on each disposition and recording them (RESTOCKED adds to
``available`` at the location).

Each planned disposition is ``(path, input, rfo, rfo line)``; ``path`` is where the input sits in the mutation's
arguments (``["dispositionInputs", "0"]``, ``["input", "returnLineItems", "0", "dispositions", "1"]``), so the
field paths of the errors are the calling mutation's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .ids import gid_kind
from .model import Disposition, ReverseFulfillmentOrder, RfoLine, Shop
from .outcome import UserError, invalid_id

if TYPE_CHECKING:
    from .store import ShopifyStore

Planned = tuple[list[str], dict[str, Any], ReverseFulfillmentOrder, RfoLine]
CUSTOM_LINE_RESTOCKED = "RESTOCKED is an invalid disposition type for a custom line item."
LOCATION_NOT_FOUND = "Location not found."


def require_kind(value: str | None, kind: str) -> None:
    """A GID of another type is a top-level ``RESOURCE_NOT_FOUND`` (capture ``return-reverse-logistics-*``)."""
    if value is not None and gid_kind(value) not in (None, kind):
        raise invalid_id(value)


def check(shop: Shop, planned: Sequence[Planned]) -> list[UserError]:
    """Custom lines can't be RESTOCKED, RESTOCKED needs a known location, quantities are positive and no more than
    the RFO line has left to dispose (counting every disposition of the call)."""
    errors: list[UserError] = []
    asking: dict[str, int] = {}  # per RFO line, over every input of this call
    for path, item, rfo, line in planned:
        order = shop.orders[rfo.order_id]
        fli = order.fulfillment_line(line.fulfillment_line_item_id)
        line_item = order.line(fli.line_item_id) if fli else None
        restocked = item["dispositionType"] == "RESTOCKED"
        if restocked and (line_item is None or line_item.inventory_item_id is None):
            errors.append(UserError([*path, "dispositionType"], CUSTOM_LINE_RESTOCKED, "INVALID"))
        location_id = item.get("locationId")
        if (restocked and location_id is None) or (location_id is not None and location_id not in shop.locations):
            errors.append(UserError([*path, "locationId"], LOCATION_NOT_FOUND, "NOT_FOUND"))
        if int(item["quantity"]) <= 0:
            errors.append(UserError([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
        asking[line.id] = asking.get(line.id, 0) + int(item["quantity"])
        left = line.total_quantity - sum(d.quantity for d in line.dispositions)
        if int(item["quantity"]) > 0 and asking[line.id] > left:
            # No capture shows this branch; the wording follows the schema's totalQuantity ("the total number of
            # units to be processed") and ReturnErrorCode.INVALID.
            message = f"Quantity is greater than the {max(left, 0)} unit(s) left to be processed."
            errors.append(UserError([*path, "quantity"], message, "INVALID"))
    return errors


def apply(store: ShopifyStore, shop: Shop, planned: Sequence[Planned]) -> list[RfoLine]:
    """Record checked dispositions; RESTOCKED adds to ``available``. Returns the touched lines, in input order."""
    now = store.clock.now()
    touched: list[RfoLine] = []
    for _path, item, rfo, line in planned:
        quantity = int(item["quantity"])
        kind = item["dispositionType"]
        line.dispositions.append(
            Disposition(
                store.new_id("ReverseFulfillmentOrderDisposition"),
                kind,
                quantity,
                item.get("locationId"),
                now,
            )
        )
        if kind == "RESTOCKED":
            order = shop.orders[rfo.order_id]
            fli = order.fulfillment_line(line.fulfillment_line_item_id)
            line_item = order.line(fli.line_item_id) if fli else None
            assert line_item is not None and line_item.inventory_item_id is not None
            level = shop.inventory[line_item.inventory_item_id].level(item["locationId"])
            level.add("available", quantity, level_at=now)
        if line not in touched:
            touched.append(line)
    return touched
