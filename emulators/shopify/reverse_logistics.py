"""Reverse logistics: ``reverseDeliveryCreateWithShipping`` (tracking) and ``reverseFulfillmentOrderDispose``.

Shapes from capture ``return-reverse-logistics-*``: wrong-type GIDs are top-level ``RESOURCE_NOT_FOUND``
errors; other problems are user errors. Disposing more than was returned is accepted (as on the public store);
only ``RESTOCKED`` moves stock (``available``, and so ``on_hand``) at the given location.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import dispositions
from .model import ReverseDelivery, ReverseDeliveryLine, ReverseFulfillmentOrder, RfoLine, Shop
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .store import ShopifyStore


_require_kind = dispositions.require_kind


def create_delivery(
    store: ShopifyStore,
    shop: Shop,
    rfo_id: str,
    line_inputs: list[dict[str, Any]],
    tracking: dict[str, Any] | None,
    label: dict[str, Any] | None,
) -> Outcome[ReverseDelivery]:
    """A reverse delivery; no line inputs means every RFO line at its full quantity."""
    _require_kind(rfo_id, "ReverseFulfillmentOrder")
    for line in line_inputs:
        _require_kind(line["reverseFulfillmentOrderLineItemId"], "ReverseFulfillmentOrderLineItem")
    rfo = shop.rfos.get(rfo_id)
    if rfo is None:
        message = "Reverse fulfillment order was not found."
        return Outcome(errors=[UserError(["reverseFulfillmentOrderId"], message, "NOT_FOUND")])

    planned: list[tuple[RfoLine, int]] = []
    if not line_inputs:
        planned = [(line, line.total_quantity) for line in rfo.lines]
    errors: list[UserError] = []
    used: dict[str, int] = {}
    for index, line_input in enumerate(line_inputs):
        path = ["reverseDeliveryLineItems", str(index)]
        rfo_line = next((ln for ln in rfo.lines if ln.id == line_input["reverseFulfillmentOrderLineItemId"]), None)
        if rfo_line is None:
            errors.append(UserError([*path, "reverseFulfillmentOrderLineItemId"], "must exist"))
            continue
        quantity = int(line_input["quantity"])
        if quantity <= 0 or used.get(rfo_line.id, 0) + quantity > rfo_line.total_quantity:
            errors.append(UserError([*path, "quantity"], "cannot deliver more items than are returned"))
            continue
        used[rfo_line.id] = used.get(rfo_line.id, 0) + quantity
        planned.append((rfo_line, quantity))
    if errors:
        return Outcome(errors=errors)

    delivery = ReverseDelivery(
        id=store.new_id("ReverseDelivery"),
        rfo_id=rfo.id,
        lines=[ReverseDeliveryLine(store.new_id("ReverseDeliveryLineItem"), ln.id, q) for ln, q in planned],
        created_at=store.clock.now(),
        tracking_number=(tracking or {}).get("number"),
        tracking_url=(tracking or {}).get("url"),
        label_url=(label or {}).get("fileUrl"),
    )
    shop.deliveries[delivery.id] = delivery
    rfo.delivery_ids.append(delivery.id)
    return Outcome(delivery)


def dispose(store: ShopifyStore, shop: Shop, inputs: list[dict[str, Any]]) -> Outcome[list[RfoLine]]:
    """Record dispositions on RFO lines of one reverse fulfillment order; RESTOCKED adds to ``available``."""
    if not inputs:
        return Outcome(errors=[UserError(["dispositionInputs"], "The array cannot be empty.", "BLANK")])
    for item in inputs:
        _require_kind(item["reverseFulfillmentOrderLineItemId"], "ReverseFulfillmentOrderLineItem")
        _require_kind(item.get("locationId"), "Location")

    resolved: list[tuple[ReverseFulfillmentOrder, RfoLine] | None] = [
        shop.rfo_line(item["reverseFulfillmentOrderLineItemId"]) for item in inputs
    ]
    rfo_ids = {found[0].id if found else None for found in resolved}
    if None in rfo_ids or len(rfo_ids) > 1:
        message = "Cannot dispose items from more than one reverse fulfillment order."
        return Outcome(errors=[UserError(["dispositionInputs"], message, "INVALID")])

    planned: list[dispositions.Planned] = []
    for index, (item, found) in enumerate(zip(inputs, resolved, strict=True)):
        assert found is not None
        planned.append((["dispositionInputs", str(index)], item, *found))
    errors = dispositions.check(shop, planned)
    if errors:
        return Outcome(errors=errors)
    return Outcome(dispositions.apply(store, shop, planned))


def update_delivery_shipping(
    store: ShopifyStore,
    shop: Shop,
    delivery_id: str,
    tracking: dict[str, Any] | None,
    label: dict[str, Any] | None,
) -> Outcome[ReverseDelivery]:
    """``reverseDeliveryShippingUpdate``: new tracking and/or label; what is not given is kept."""
    _require_kind(delivery_id, "ReverseDelivery")
    delivery = shop.deliveries.get(delivery_id)
    if delivery is None:
        return Outcome(errors=[UserError(["reverseDeliveryId"], "Reverse delivery was not found.", "NOT_FOUND")])
    if tracking is not None:
        delivery.tracking_number = tracking.get("number")
        delivery.tracking_url = tracking.get("url")
    if label is not None:
        delivery.label_url = label.get("fileUrl")
    return Outcome(delivery)
