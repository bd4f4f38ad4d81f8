"""What can still be returned: ``returnableFulfillments`` and the ``ReturnableFulfillment`` node.

Shopify numbers a returnable fulfillment like its fulfillment (``ReturnableFulfillment/N`` for ``Fulfillment/N``,
capture ``fulfillment-return-node-read-after-write``). A line's returnable quantity is what was fulfilled minus
what returns that were not canceled or declined already claim (the rule ``returnCreate`` enforces).
"""

from __future__ import annotations

from .ids import derived_gid, parse_gid
from .model import Fulfillment, FulfillmentLineItem, Order, Shop
from .returns import returned_quantity


def returnable_id(fulfillment: Fulfillment) -> str:
    return derived_gid("ReturnableFulfillment", fulfillment.id)


def returnable_lines(shop: Shop, fulfillment: Fulfillment) -> list[tuple[FulfillmentLineItem, int]]:
    """Each fulfillment line with units left to return, and how many."""
    lines = [(fli, fli.quantity - returned_quantity(shop, fli.id)) for fli in fulfillment.line_items]
    return [(fli, quantity) for fli, quantity in lines if quantity > 0]


def returnable_fulfillments(shop: Shop, order: Order) -> list[Fulfillment]:
    """The order's fulfillments that still have something to return."""
    return [f for f in order.fulfillments if returnable_lines(shop, f)]


def find_returnable(shop: Shop, returnable: str) -> tuple[Order, Fulfillment] | None:
    if parse_gid(returnable) is None:
        return None
    fulfillment_id = derived_gid("Fulfillment", returnable)
    for order in shop.orders.values():
        for fulfillment in order.fulfillments:
            if fulfillment.id == fulfillment_id:
                return order, fulfillment
    return None
