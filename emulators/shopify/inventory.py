"""Inventory quantity mutations: adjust, set, set on hand, move and activate, under Shopify's recorded rules.

Every committed change becomes an ``InventoryAdjustmentGroup`` whose ``changes`` list each named change and then
its ``on_hand`` mirror (names that belong to ``on_hand`` move it by the same delta; ``incoming`` does not), as the
captures show. Zero deltas are dropped, and a call whose every delta is zero writes nothing and returns no group.
Rules as recorded on 2026-04 stores:

* adjust/move accept only the names a merchant may change (``ADJUSTABLE_NAMES``); set accepts ``available`` or
  ``on_hand`` (``on_hand`` is reached by changing ``available``); reasons come from ``REASONS``;
* a ledger document URI is required for every name but ``available``;
* quantities are bounded by +/- 1,000,000,000 and ``on_hand`` cannot be set negative;
* unknown items and locations are reported per input line; a line for an item not stocked at the location is
  ``ITEM_NOT_STOCKED_AT_LOCATION`` (use ``inventoryActivate`` first);
* ``changeFromQuantity`` is compared with the current quantity (``CHANGE_FROM_QUANTITY_STALE``). Its absence is a
  request error raised by the caller (``inventory_root``), not here.

Not in any recording, taken from the schema's error-code descriptions: the codes of the name and ledger errors
(the recorded documents did not select ``code``), the stale/not-stocked/available-ledger messages, and moves
between locations (``DIFFERENT_LOCATIONS``; its message is recorded). ``inventoryActivate`` errors for unknown
items/locations and for ``available`` on an active level are worded by analogy with the recorded ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .model import ON_HAND_PARTS, InventoryItem, InventoryLevel, Shop
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

ADJUSTABLE_NAMES = ("available", "damaged", "incoming", "quality_control", "reserved", "safety_stock")
SETTABLE_NAMES = ("available", "on_hand")
REASONS = (
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
)
QUANTITY_LIMIT = 1_000_000_000

NAME_MESSAGE = f"The specified quantity name is invalid. Valid values are: {', '.join(ADJUSTABLE_NAMES)}."
SET_NAME_MESSAGE = "The quantity name must be either 'available' or 'on_hand'."
REASON_MESSAGE = f"The specified reason is invalid. Valid values are: {', '.join(REASONS)}."
ITEM_MESSAGE = "The specified inventory item could not be found."
LOCATION_MESSAGE = "The specified location could not be found."
LEDGER_MESSAGE = "A ledger document URI is required except when adjusting available."
NOT_STOCKED_MESSAGE = "The inventory item is not stocked at the location."
STALE_MESSAGE = "The changeFromQuantity argument no longer matches the persisted quantity."
AVAILABLE_LEDGER_MESSAGE = "A ledger document URI is not allowed when adjusting available."
TOO_HIGH_MESSAGE = "The quantity can't be higher than 1,000,000,000."
TOO_LOW_MESSAGE = "The quantity can't be lower than -1,000,000,000."
NEGATIVE_MESSAGE = "The quantity can't be negative."
DUPLICATE_MESSAGE = "The combination of inventoryItemId and locationId must be unique."
OTHER_LOCATION_MESSAGE = "The quantities can't be moved between different locations."


@dataclass(frozen=True)
class InventoryChange:
    item_id: str
    location_id: str
    name: str
    delta: int
    ledger_document_uri: str | None = None


@dataclass
class AdjustmentGroup:
    """One committed inventory write (Shopify's ``InventoryAdjustmentGroup``)."""

    id: str
    created_at: datetime
    reason: str
    reference_document_uri: str | None
    changes: list[InventoryChange] = field(default_factory=list)


@dataclass(frozen=True)
class _Planned:
    """A named change before it is applied (``_commit`` adds the ``on_hand`` mirror)."""

    item: InventoryItem
    level: InventoryLevel
    name: str
    delta: int
    ledger: str | None


# ---- shared checks ----------------------------------------------------------------------------------------
def _reason_errors(reason: str) -> list[UserError]:
    return [] if reason in REASONS else [UserError(["input", "reason"], REASON_MESSAGE, "INVALID_REASON")]


def _ledger_errors(name: str, ledger: str | None, path: list[str]) -> list[UserError]:
    """``available`` changes carry no ledger document; every other name needs one."""
    if name == "available" and ledger:
        return [UserError(path, AVAILABLE_LEDGER_MESSAGE, "INVALID_AVAILABLE_DOCUMENT")]
    if name != "available" and not ledger:
        return [UserError(path, LEDGER_MESSAGE, "INVALID_QUANTITY_DOCUMENT")]
    return []


def _bounds_errors(quantity: int, path: list[str], *, on_hand: bool = False) -> list[UserError]:
    if quantity > QUANTITY_LIMIT:
        return [UserError(path, TOO_HIGH_MESSAGE, "INVALID_QUANTITY_TOO_HIGH")]
    if on_hand and quantity < 0:
        return [UserError(path, NEGATIVE_MESSAGE, "INVALID_QUANTITY_NEGATIVE")]
    if quantity < -QUANTITY_LIMIT:
        return [UserError(path, TOO_LOW_MESSAGE, "INVALID_QUANTITY_TOO_LOW")]
    return []


def _locate(
    shop: Shop, item_id: str, location_paths: Iterable[tuple[str, list[str]]], item_path: list[str]
) -> tuple[InventoryItem | None, list[UserError]]:
    """The item, and errors for an unknown item or unknown locations (each location path reported)."""
    errors: list[UserError] = []
    item = shop.inventory.get(item_id)
    if item is None:
        errors.append(UserError(item_path, ITEM_MESSAGE, "INVALID_INVENTORY_ITEM"))
    for location_id, path in location_paths:
        if location_id not in shop.locations:
            errors.append(UserError(path, LOCATION_MESSAGE, "INVALID_LOCATION"))
    return item, errors


def _stocked(item: InventoryItem, location_id: str, path: list[str]) -> tuple[InventoryLevel | None, list[UserError]]:
    level = item.levels.get(location_id)
    if level is None:
        return None, [UserError(path, NOT_STOCKED_MESSAGE, "ITEM_NOT_STOCKED_AT_LOCATION")]
    return level, []


def _stale(level: InventoryLevel, name: str, expected: Any, path: list[str]) -> list[UserError]:
    if expected is None or level.get(name) == int(expected):
        return []
    return [UserError(path, STALE_MESSAGE, "CHANGE_FROM_QUANTITY_STALE")]


def _commit(
    store: ShopifyStore, shop: Shop, reason: str, reference: str | None, planned: list[_Planned]
) -> Outcome[AdjustmentGroup]:
    """Apply the non-zero changes and record them as one group (no group at all when nothing changes)."""
    planned = [p for p in planned if p.delta != 0]
    if not planned:
        return Outcome(None)
    now = store.clock.now()
    named: list[InventoryChange] = []
    mirrors: dict[tuple[str, str], int] = {}
    for p in planned:
        p.level.add(p.name, p.delta, now, level_at=now)
        named.append(InventoryChange(p.item.id, p.level.location_id, p.name, p.delta, p.ledger))
        if p.name in ON_HAND_PARTS:
            key = (p.item.id, p.level.location_id)
            mirrors[key] = mirrors.get(key, 0) + p.delta
    on_hand = [InventoryChange(i, loc, "on_hand", d) for (i, loc), d in mirrors.items() if d != 0]
    group = AdjustmentGroup(store.new_id("InventoryAdjustmentGroup"), now, reason, reference, named + on_hand)
    shop.adjustment_groups[group.id] = group
    return Outcome(group)


# ---- mutations --------------------------------------------------------------------------------------------
def adjust(store: ShopifyStore, shop: Shop, data: dict[str, Any]) -> Outcome[AdjustmentGroup]:
    """``inventoryAdjustQuantities``: add ``delta`` to one name per change."""
    name = str(data["name"])
    errors: list[UserError] = []
    if name not in ADJUSTABLE_NAMES:
        errors.append(UserError(["input", "name"], NAME_MESSAGE, "INVALID_QUANTITY_NAME"))
    errors += _reason_errors(str(data["reason"]))
    planned: list[_Planned] = []
    for index, change in enumerate(data["changes"]):
        path = ["input", "changes", str(index)]
        item, found = _locate(
            shop, change["inventoryItemId"], [(change["locationId"], [*path, "locationId"])], [*path, "inventoryItemId"]
        )
        errors += found
        ledger = change.get("ledgerDocumentUri")
        errors += _ledger_errors(name, ledger, [*path, "ledgerDocumentUri"])
        if item is None or found or name not in ADJUSTABLE_NAMES:
            continue
        level, missing = _stocked(item, change["locationId"], [*path, "locationId"])
        errors += missing
        if level is None:
            continue
        errors += _stale(level, name, change.get("changeFromQuantity"), [*path, "changeFromQuantity"])
        planned.append(_Planned(item, level, name, int(change["delta"]), ledger))
    if errors:
        return Outcome(errors=errors)
    return _commit(store, shop, str(data["reason"]), data.get("referenceDocumentUri"), planned)


def set_quantities(
    store: ShopifyStore, shop: Shop, data: dict[str, Any], *, lines_key: str = "quantities", name: str | None = None
) -> Outcome[AdjustmentGroup]:
    """``inventorySetQuantities`` (and, with ``name="on_hand"`` and ``setQuantities``, its on-hand sibling):
    set a name to an absolute quantity; ``on_hand`` is reached by changing ``available`` by the difference."""
    name = name or str(data["name"])
    errors: list[UserError] = []
    if name not in SETTABLE_NAMES:
        errors.append(UserError(["input", "name"], SET_NAME_MESSAGE, "INVALID_NAME"))
    errors += _reason_errors(str(data["reason"]))
    lines: list[dict[str, Any]] = list(data[lines_key])
    pairs = [(line["inventoryItemId"], line["locationId"]) for line in lines]
    planned: list[_Planned] = []
    for index, line in enumerate(lines):
        path = ["input", lines_key, str(index)]
        if pairs.count(pairs[index]) > 1:
            errors.append(
                UserError([*path, "locationId"], DUPLICATE_MESSAGE, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR")
            )
            continue
        item, found = _locate(
            shop, line["inventoryItemId"], [(line["locationId"], [*path, "locationId"])], [*path, "inventoryItemId"]
        )
        quantity = int(line["quantity"])
        bounds = _bounds_errors(quantity, [*path, "quantity"], on_hand=name == "on_hand")
        errors += found + bounds
        if item is None or found or bounds or name not in SETTABLE_NAMES:
            continue
        level, missing = _stocked(item, line["locationId"], [*path, "locationId"])
        errors += missing
        if level is None:
            continue
        errors += _stale(level, name, line.get("changeFromQuantity"), [*path, "changeFromQuantity"])
        planned.append(_Planned(item, level, "available", quantity - level.get(name), None))
    if errors:
        return Outcome(errors=errors)
    return _commit(store, shop, str(data["reason"]), data.get("referenceDocumentUri"), planned)


def move(store: ShopifyStore, shop: Shop, data: dict[str, Any]) -> Outcome[AdjustmentGroup]:
    """``inventoryMoveQuantities``: take ``quantity`` from one name and give it to another at the same location."""
    errors = _reason_errors(str(data["reason"]))
    planned: list[_Planned] = []
    for index, change in enumerate(data["changes"]):
        path = ["input", "changes", str(index)]
        ends = {"from": change["from"], "to": change["to"]}
        bad_names = [
            UserError([*path, e, "name"], NAME_MESSAGE, "INVALID_QUANTITY_NAME")
            for e, t in ends.items()
            if t["name"] not in ADJUSTABLE_NAMES
        ]
        item, found = _locate(
            shop,
            change["inventoryItemId"],
            [(t["locationId"], [*path, e, "locationId"]) for e, t in ends.items()],
            [*path, "inventoryItemId"],
        )
        errors += bad_names + found
        if not bad_names:
            for end, terminal in ends.items():
                ledger_path = [*path, end, "ledgerDocumentUri"]
                errors += _ledger_errors(terminal["name"], terminal.get("ledgerDocumentUri"), ledger_path)
        if item is None or found or bad_names:
            continue
        if change["from"]["locationId"] != change["to"]["locationId"]:
            errors.append(UserError(path, OTHER_LOCATION_MESSAGE, "DIFFERENT_LOCATIONS"))
            continue
        level, missing = _stocked(item, change["from"]["locationId"], [*path, "from", "locationId"])
        errors += missing
        if level is None:
            continue
        quantity = int(change["quantity"])
        for end, sign in (("from", -1), ("to", 1)):
            terminal = ends[end]
            errors += _stale(
                level, terminal["name"], terminal.get("changeFromQuantity"), [*path, end, "changeFromQuantity"]
            )
            planned.append(_Planned(item, level, terminal["name"], sign * quantity, terminal.get("ledgerDocumentUri")))
    if errors:
        return Outcome(errors=errors)
    return _commit(store, shop, str(data["reason"]), data.get("referenceDocumentUri"), planned)


# ---- activation -------------------------------------------------------------------------------------------
def _cannot_stock(location_name: str, why: str) -> str:
    return f"The product couldn't be stocked at {location_name} because {why}."


@dataclass(frozen=True)
class Activation:
    """What ``inventoryActivate`` hands back: the level (also on some errors, as Shopify does) and errors."""

    level: InventoryLevel | None
    item: InventoryItem | None
    errors: list[UserError]
    created: bool = False  # a new level was stocked (activating an active item without quantities is a no-op)


def activate(
    store: ShopifyStore, shop: Shop, item_id: str, location_id: str, available: int | None, on_hand: int | None
) -> Activation:
    """Stock an item at a location, with ``available`` or ``onHand`` (not both) as its first quantity."""
    item = shop.inventory.get(item_id)
    location = shop.locations.get(location_id)
    if item is None:
        return Activation(None, None, [UserError(["inventoryItemId"], ITEM_MESSAGE)])
    if location is None:
        return Activation(None, item, [UserError(["locationId"], LOCATION_MESSAGE)])
    existing = item.levels.get(location_id)
    if available is not None and on_hand is not None:
        message = _cannot_stock(location.name, "not allowed to set available and on_hand quantities at the same time")
        return Activation(None, item, [UserError(["available"], message), UserError(["onHand"], message)])
    if existing is not None:
        errors: list[UserError] = []
        if on_hand is not None:
            message = "Not allowed to set an on_hand quantity when the item is already active at the location."
            errors.append(UserError(["onHand"], message))
        if available is not None:
            message = "Not allowed to set an available quantity when the item is already active at the location."
            errors.append(UserError(["available"], message))
        return Activation(existing, item, errors)
    first = available if available is not None else on_hand
    field_name = "available" if available is not None else "onHand"
    if first is not None and abs(first) > QUANTITY_LIMIT:
        message = _cannot_stock(location.name, "the quantity needs to be between -1 billion and 1 billion")
        return Activation(None, item, [UserError([field_name], message)])
    now = store.clock.now()
    level = item.level(location_id)
    level.add("available", first or 0, now, level_at=now)
    return Activation(level, item, [], created=True)


def find_level(shop: Shop, level_id: str) -> tuple[InventoryItem, InventoryLevel] | None:
    """The (item, level) behind an ``InventoryLevel`` GID (``.../InventoryLevel/<location>?inventory_item_id=<n>``)."""
    head, _, query = level_id.partition("?inventory_item_id=")
    location_number = head.rsplit("/", 1)[-1]
    item = shop.inventory.get(f"gid://shopify/InventoryItem/{query}")
    if item is None:
        return None
    level = item.levels.get(f"gid://shopify/Location/{location_number}")
    return (item, level) if level is not None else None
