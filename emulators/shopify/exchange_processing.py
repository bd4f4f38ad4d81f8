"""Processing exchange lines in ``returnProcess``: the checks, the exchange's fulfillment order, the stock it
reserves, the hold while the customer owes, and the customer paying it (a store hook, as paying Shopify's invoice
would). Shopify's documented facts are in ``exchanges``; what follows are the emulator's choices where the
documents are silent (no recording shows an exchange):

* ``exchangeLineItems[i]`` confirms ``quantity`` more units of an exchange line of this return. An unknown line is
  ``NOT_FOUND`` "Exchange line item was not found." at ``["input", "exchangeLineItems", i, "id"]``; a quantity of 0
  or less, or over what the line has left to process (counting every entry of the call for the same line), is
  ``INVALID`` "Exchange line item has an invalid quantity.", as for return lines (``return_processing``).
* Stock: the exchange items of one call ship from one location: of the shop's locations, the one that can supply
  (``available``) the most of the call's variants in full, the first in the shop's order on a tie. An item with
  fewer units available there than the call asks for is refused, ``LESS_THAN_OR_EQUAL_TO`` ("The input value
  should be less than or equal to the maximum value allowed": the maximum is the stock available) at
  ``["input", "exchangeLineItems", i, "quantity"]``, and nothing of the call is written. The code differs from the
  over-processable ``INVALID`` so a client can tell "out of stock" (remove the exchange and refund instead:
  ``removeFromReturn``) from "already processed".
* Effects of an accepted call with exchange units: each line's units become processed; each line gets one new
  order line (``ExchangeLineItem.lineItems``; unfulfilled, at the exchange price and tax, its variant's SKU); the
  units move from ``available`` to ``committed`` at the location, as an order's unfulfilled units hold stock; ONE
  fulfillment order (``FulfillmentOrder``, ``exchange_fulfillment_orders`` on the order) holds those order lines,
  assigned to the location.
* The hold: the call's balance is the returned units' value less the fees it charges less the exchange units'
  value (``return_outcome.Settlement.net``, the figure ``suggestedFinancialOutcome`` gives for the same lines).
  When it is negative the customer owes it: the fulfillment order is ``ON_HOLD`` with one ``AWAITING_PAYMENT``
  hold and the order's ``totalOutstandingSet`` shows the amount; otherwise it is ``OPEN``. The balance is per call:
  an exchange processed without returned units in the same call is owed in full (process them together, as one
  ``returnProcess`` settles refund, exchange and fees). The refund in ``financialTransfer`` stays the caller's.
* A refund of exchange units not shipped yet (``refundCreate``, ``orderCancel``) releases their ``committed``
  units at the fulfillment order's location (restocked ones are added to ``available`` by the refund itself).
* Payment (``pay_balance``, the store's ``pay_exchange_balance``): a SALE transaction for each owed balance, then
  the ``AWAITING_PAYMENT`` hold is released (the fulfillment order is ``OPEN``) and nothing is outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import ExchangeFulfillmentOrder, ExchangeLine, FulfillmentHold, LineItem, Order, Return, Shop, Transaction
from .outcome import UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

ZERO = Decimal("0")
EXCHANGE_NOT_FOUND = "Exchange line item was not found."
INVALID_QUANTITY = "Exchange line item has an invalid quantity."
AWAITING_PAYMENT = "AWAITING_PAYMENT"
HOLD_NOTE = "The customer owes the balance of the exchange."


@dataclass(frozen=True)
class Units:
    """Units of one exchange line asked for by entry ``index`` of the call."""

    index: int
    line: ExchangeLine
    count: int


def exchange_units(ret: Return, items: list[dict[str, Any]], path: list[str]) -> tuple[list[Units], list[UserError]]:
    """Each requested exchange line and quantity, if the line is on the return and has that many units left."""
    planned: list[Units] = []
    errors: list[UserError] = []
    asked: dict[str, int] = {}
    for index, item in enumerate(items):
        at = [*path, str(index)]
        line = next((el for el in ret.exchange_lines if el.id == item["id"]), None)
        if line is None:
            errors.append(UserError([*at, "id"], EXCHANGE_NOT_FOUND, "NOT_FOUND"))
            continue
        count = int(item["quantity"])
        asked[line.id] = asked.get(line.id, 0) + max(count, 0)
        if count <= 0 or asked[line.id] > line.unprocessed_quantity:
            errors.append(UserError([*at, "quantity"], INVALID_QUANTITY, "INVALID"))
            continue
        planned.append(Units(index, line, count))
    return planned, errors


def _available(shop: Shop, line: ExchangeLine, location_id: str) -> int:
    level = shop.inventory[line.inventory_item_id].levels.get(location_id)
    return level.get("available") if level else 0


def stock_location(shop: Shop, units: list[Units]) -> tuple[str | None, list[UserError]]:
    """The location the call's exchange items ship from, and the entries it cannot supply."""
    if not units:
        return None, []
    wanted: dict[str, int] = {}
    for unit in units:
        wanted[unit.line.inventory_item_id] = wanted.get(unit.line.inventory_item_id, 0) + unit.count
    lines = {unit.line.inventory_item_id: unit.line for unit in units}

    def supplied(location_id: str) -> int:
        return sum(1 for item_id, n in wanted.items() if _available(shop, lines[item_id], location_id) >= n)

    locations = list(shop.locations)
    if not locations:
        chosen = None
    else:
        chosen = max(locations, key=lambda loc: (supplied(loc), -locations.index(loc)))
    errors = []
    for unit in units:
        have = _available(shop, unit.line, chosen) if chosen else 0
        if have < wanted[unit.line.inventory_item_id]:
            sku = shop.inventory[unit.line.inventory_item_id].sku
            message = f"Not enough stock to exchange {sku}: {max(have, 0)} available."
            errors.append(UserError(["input", "exchangeLineItems", str(unit.index), "quantity"], message,
                                    "LESS_THAN_OR_EQUAL_TO"))  # fmt: skip
    return chosen, errors


def merged(units: list[Units]) -> list[tuple[ExchangeLine, int]]:
    """Units per exchange line, in the call's order."""
    counts: dict[str, int] = {}
    lines: dict[str, ExchangeLine] = {}
    for unit in units:
        counts[unit.line.id] = counts.get(unit.line.id, 0) + unit.count
        lines[unit.line.id] = unit.line
    return [(lines[i], n) for i, n in counts.items()]


def fulfill_exchange(
    store: ShopifyStore,
    shop: Shop,
    order: Order,
    ret: Return,
    lines: list[tuple[ExchangeLine, int]],
    location_id: str | None,
    owed: Decimal,
) -> ExchangeFulfillmentOrder:
    """Write checked exchange units: processed, added to the order, stock committed, one fulfillment order."""
    now = store.clock.now()
    added: list[str] = []
    for line, count in lines:
        item = shop.inventory[line.inventory_item_id]
        order_line = LineItem(
            id=store.new_id("LineItem"),
            sku=item.sku,
            title=item.sku,
            quantity=count,
            unit_price=line.unit_price,
            inventory_item_id=item.id,
            tax_rate=line.tax_rate,
            exchange_line_id=line.id,
        )
        order.line_items.append(order_line)
        line.line_item_ids.append(order_line.id)
        line.processed_quantity += count
        added.append(order_line.id)
        if location_id is not None:
            level = item.level(location_id)
            level.add("available", -count, now, level_at=now)
            level.add("committed", count, now, level_at=now)
    fulfillment_order = ExchangeFulfillmentOrder(
        id=store.new_id("FulfillmentOrder"),
        order_id=order.id,
        return_id=ret.id,
        location_id=location_id,
        line_item_ids=added,
        created_at=now,
        updated_at=now,
    )
    if owed > 0:
        fulfillment_order.balance_due = owed
        hold = FulfillmentHold(store.new_id("FulfillmentHold"), AWAITING_PAYMENT, now, HOLD_NOTE)
        fulfillment_order.holds.append(hold)
    order.exchange_fulfillment_orders.append(fulfillment_order)
    order.updated_at = now
    return fulfillment_order


def pay_balance(store: ShopifyStore, order: Order, gateway: str) -> Decimal:
    """The customer pays every exchange balance they owe on the order: a SALE each, the payment holds released."""
    now = store.clock.now()
    paid = ZERO
    for fulfillment_order in order.exchange_fulfillment_orders:
        if fulfillment_order.balance_due <= 0:
            continue
        sale = Transaction(store.new_id("OrderTransaction"), "SALE", fulfillment_order.balance_due, gateway, now)
        order.transactions.append(sale)
        paid += fulfillment_order.balance_due
        fulfillment_order.balance_due = ZERO
        fulfillment_order.paid_by = sale.id
        fulfillment_order.holds = [h for h in fulfillment_order.holds if h.reason != AWAITING_PAYMENT]
        fulfillment_order.updated_at = now
    if paid:
        order.updated_at = now
    return paid


def release_committed(shop: Shop, order: Order, line: LineItem, quantity: int, now: datetime) -> None:
    """A refund of ``quantity`` units of an exchange order line (before it is recorded): the units not shipped yet
    (a refund takes those first) stop being committed at the location its fulfillment order reserved them."""
    fulfillment_order = next((fo for fo in order.exchange_fulfillment_orders if line.id in fo.line_item_ids), None)
    if fulfillment_order is None or fulfillment_order.location_id is None or line.inventory_item_id is None:
        return
    unshipped = line.quantity - order.fulfilled_quantity(line.id) - order.refunded_quantity(line.id)
    released = min(quantity, max(unshipped, 0))
    if released:
        level = shop.inventory[line.inventory_item_id].level(fulfillment_order.location_id)
        level.add("committed", -released, now, level_at=now)
