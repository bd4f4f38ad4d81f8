"""``Order.shippingLines``: the emulator's orders carry one shipping amount, shown as one shipping line.

An order without shipping has no shipping line. Refunded shipping (``refundCreate`` ``shipping``) lowers the
line's current price, never its original price; the id is derived from the order GID (stable, not stored).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .connections import connection
from .ids import derived_gid
from .model import Order

if TYPE_CHECKING:
    from .views import Views

View = dict[str, Any]


def shipping_lines(views: Views, order: Order, args: dict[str, Any]) -> View:
    lines = [order] if order.shipping > 0 else []
    return connection(lines, args, lambda o: shipping_line(views, o))


def shipping_line(views: Views, order: Order) -> View:
    original = views.money(order.shipping, order.currency)
    current = views.money(max(Decimal("0"), order.shipping - order.refunded_shipping()), order.currency)
    return {
        "__typename": "ShippingLine",
        "id": derived_gid("ShippingLine", order.id),
        "title": "Shipping",
        "code": "custom",
        "source": None,
        "custom": True,
        "isRemoved": False,
        "originalPriceSet": original,
        "discountedPriceSet": original,
        "currentDiscountedPriceSet": current,
        "discountAllocations": [],
        "taxLines": [],
    }
