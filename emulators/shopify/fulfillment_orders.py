"""An order's fulfillment order, derived from its lines, fulfillments, refunds and cancellation.

The emulator keeps no fulfillment-order state: every seeded order has one fulfillment order (at the shop's
first location) whose lines follow Shopify's bookkeeping:

* ``remainingQuantity``: units still to ship, i.e. unfulfilled units minus those a refund removed (a refund
  takes unfulfilled units first) and none once the order is cancelled (captured orderCancel: 2 -> 0);
* ``totalQuantity``: shipped units plus ``remainingQuantity``;
* status CLOSED when nothing remains to ship or the order is cancelled, IN_PROGRESS when partly shipped,
  otherwise OPEN; ``requestStatus`` is UNSUBMITTED (no fulfillment service is emulated).

Ids are derived from the order and line GIDs (``FulfillmentOrder/<order number>``), so they are stable across
reads without being stored; GID numbers are unique across kinds in the emulator, so they cannot collide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import iso
from .connections import connection
from .ids import derived_gid
from .model import LineItem, Order

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


def status(order: Order) -> str:
    remaining = sum(remaining_quantity(order, li) for li in order.line_items)
    if order.cancelled_at is not None or remaining == 0:
        return "CLOSED"
    shipped = sum(order.fulfilled_quantity(li.id) for li in order.line_items)
    return "IN_PROGRESS" if shipped else "OPEN"


def fulfillment_orders(views: Views, order: Order, args: dict[str, Any]) -> View:
    """``Order.fulfillmentOrders``: the order's one fulfillment order."""
    return connection([order], args, lambda o: fulfillment_order(views, o))


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
        "assignedLocation": (
            {
                "__typename": "FulfillmentOrderAssignedLocation",
                "name": location.name,
                "location": views.location(location),
            }
            if location
            else None
        ),
        "lineItems": lambda _info, **a: connection(
            order.line_items, a, lambda li: fulfillment_order_line(views, order, li)
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
