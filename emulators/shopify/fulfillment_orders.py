"""An order's fulfillment orders: the one of its seeded lines, derived from its lines, fulfillments, refunds and
cancellation, then one per processed exchange (``exchange_processing``), in the order they were created.

The emulator keeps no state for the first: every seeded order has one fulfillment order (at the shop's first
location) for its own lines (not the exchange items added later), whose lines follow Shopify's bookkeeping:

* ``remainingQuantity``: units still to ship, i.e. unfulfilled units minus those a refund removed (a refund
  takes unfulfilled units first) and none once the order is cancelled (captured orderCancel: 2 -> 0);
* ``totalQuantity``: shipped units plus ``remainingQuantity``;
* status CLOSED when nothing remains to ship or the order is cancelled, IN_PROGRESS when partly shipped,
  otherwise OPEN; ``requestStatus`` is UNSUBMITTED (no fulfillment service is emulated).

Ids are derived from the order and line GIDs (``FulfillmentOrder/<order number>``), so they are stable across
reads without being stored; GID numbers are unique across kinds in the emulator, so they cannot collide.

An exchange's fulfillment order holds the order lines its processing added, at the location whose stock it
reserved: ``ON_HOLD`` while a hold is on it (``AWAITING_PAYMENT`` until the customer pays what they owe), CLOSED
when nothing remains to ship or the order is cancelled, otherwise OPEN (the emulator fulfills nothing, so never
IN_PROGRESS). A hold's ``displayReason`` is the emulator's wording (no recording of this reason).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import iso
from .connections import connection
from .ids import derived_gid
from .model import ExchangeFulfillmentOrder, FulfillmentHold, LineItem, Order

if TYPE_CHECKING:
    from .views import Views

View = dict[str, Any]


def remaining_quantity(order: Order, line: LineItem) -> int:
    """Units of the line still to ship (``LineItem.fulfillableQuantity``)."""
    if order.cancelled_at is not None:
        return 0
    unshipped = line.quantity - order.fulfilled_quantity(line.id)
    return max(0, unshipped - order.refunded_quantity(line.id))


def total_quantity(order: Order, line: LineItem) -> int:
    return order.fulfilled_quantity(line.id) + remaining_quantity(order, line)


def seeded_lines(order: Order) -> list[LineItem]:
    """The order's own lines: not the exchange items processing added (they ship on their own)."""
    return [li for li in order.line_items if li.exchange_line_id is None]


def status(order: Order) -> str:
    lines = seeded_lines(order)
    remaining = sum(remaining_quantity(order, li) for li in lines)
    if order.cancelled_at is not None or remaining == 0:
        return "CLOSED"
    shipped = sum(order.fulfilled_quantity(li.id) for li in lines)
    return "IN_PROGRESS" if shipped else "OPEN"


def exchange_status(order: Order, fulfillment_order: ExchangeFulfillmentOrder) -> str:
    lines = [li for li in order.line_items if li.id in fulfillment_order.line_item_ids]
    if order.cancelled_at is not None or sum(remaining_quantity(order, li) for li in lines) == 0:
        return "CLOSED"
    return "ON_HOLD" if fulfillment_order.holds else "OPEN"


def fulfillment_orders(views: Views, order: Order, args: dict[str, Any]) -> View:
    """``Order.fulfillmentOrders``: the order's own, then its exchanges'."""
    items: list[Order | ExchangeFulfillmentOrder] = [order, *order.exchange_fulfillment_orders]
    return connection(
        items,
        args,
        lambda fo: (
            fulfillment_order(views, fo) if isinstance(fo, Order) else exchange_fulfillment_order(views, order, fo)
        ),
    )


DISPLAY_REASONS = {"AWAITING_PAYMENT": "Awaiting payment"}


def fulfillment_hold(hold: FulfillmentHold) -> View:
    return {
        "__typename": "FulfillmentHold",
        "id": hold.id,
        "reason": hold.reason,
        "reasonNotes": hold.reason_notes,
        "displayReason": DISPLAY_REASONS.get(hold.reason, hold.reason.replace("_", " ").capitalize()),
        "handle": None,
        "heldByApp": None,
        "heldByRequestingApp": False,  # Shopify placed it, not the caller's app
    }


def exchange_fulfillment_order(views: Views, order: Order, fulfillment_order: ExchangeFulfillmentOrder) -> View:
    location = views.shop.locations.get(fulfillment_order.location_id or "")
    lines = [li for li in order.line_items if li.id in fulfillment_order.line_item_ids]
    return {
        "__typename": "FulfillmentOrder",
        "id": fulfillment_order.id,
        "orderId": order.id,
        "orderName": order.name,
        "orderProcessedAt": iso(order.processed_at),
        "createdAt": iso(fulfillment_order.created_at),
        "updatedAt": iso(fulfillment_order.updated_at or fulfillment_order.created_at),
        "status": exchange_status(order, fulfillment_order),
        "requestStatus": "UNSUBMITTED",
        "fulfillmentHolds": [fulfillment_hold(h) for h in fulfillment_order.holds],
        "supportedActions": [],
        "order": lambda _info: views.order(order),
        "assignedLocation": _assigned(views, location),
        "lineItems": lambda _info, **a: connection(lines, a, lambda li: fulfillment_order_line(views, order, li)),
    }


def _assigned(views: Views, location: Any) -> View | None:
    if location is None:
        return None
    return {
        "__typename": "FulfillmentOrderAssignedLocation",
        "name": location.name,
        "location": views.location(location),
    }


def fulfillment_order(views: Views, order: Order) -> View:
    location = next(iter(views.shop.locations.values()), None)
    return {
        "__typename": "FulfillmentOrder",
        "id": derived_gid("FulfillmentOrder", order.id),
        "orderId": order.id,
        "orderName": order.name,
        "orderProcessedAt": iso(order.processed_at),
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at or order.created_at),
        "status": status(order),
        "requestStatus": "UNSUBMITTED",
        "fulfillmentHolds": [],
        "supportedActions": [],
        "order": lambda _info: views.order(order),
        "assignedLocation": _assigned(views, location),
        "lineItems": lambda _info, **a: connection(
            seeded_lines(order), a, lambda li: fulfillment_order_line(views, order, li)
        ),
    }


def fulfillment_order_line(views: Views, order: Order, line: LineItem) -> View:
    return {
        "__typename": "FulfillmentOrderLineItem",
        "id": derived_gid("FulfillmentOrderLineItem", line.id),
        "sku": line.sku,
        "productTitle": line.title,
        "requiresShipping": True,
        "inventoryItemId": line.inventory_item_id,
        "totalQuantity": total_quantity(order, line),
        "remainingQuantity": remaining_quantity(order, line),
        "warnings": [],
        "financialSummaries": [],
        "lineItem": lambda _info: views.line_item(order, line),
    }
