"""Order annotations the engine writes: ``metafieldsSet`` (upsert, atomic), ``tagsAdd`` (no duplicates),
``tagsRemove`` (case-insensitive) and the note through ``orderUpdate`` (overwrites, as Shopify documents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Metafield, Order, Shop
from .outcome import Outcome, UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

MAX_METAFIELDS = 25
APP_NAMESPACE = "app--emulator"


def set_metafields(store: ShopifyStore, shop: Shop, inputs: list[dict[str, Any]]) -> Outcome[list[Metafield]]:
    """All-or-nothing upsert keyed by (owner, namespace, key); only order owners are modelled."""
    if len(inputs) > MAX_METAFIELDS:
        message = f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS}."
        return Outcome(errors=[UserError(["metafields"], message, "LESS_THAN_OR_EQUAL_TO")])
    errors: list[UserError] = []
    for index, item in enumerate(inputs):
        path = ["metafields", str(index)]
        order = shop.orders.get(item["ownerId"])
        if order is None:
            errors.append(UserError([*path, "ownerId"], "Owner does not exist.", "INVALID"))
            continue
        key = item["key"]
        if not 2 <= len(key) <= 64:
            errors.append(UserError([*path, "key"], "Key must be between 2 and 64 characters.", "INVALID"))
        namespace = item.get("namespace") or APP_NAMESPACE
        if not 3 <= len(namespace) <= 255:
            errors.append(UserError([*path, "namespace"], "Namespace must be between 3 and 255 characters.", "INVALID"))
        if (namespace, key) not in order.metafields and not item.get("type"):
            errors.append(UserError([*path, "type"], "Type can't be blank.", "BLANK"))
    if errors:
        return Outcome(errors=errors)

    now = store.clock.now()
    written: list[Metafield] = []
    for item in inputs:
        order = shop.orders[item["ownerId"]]
        namespace = item.get("namespace") or APP_NAMESPACE
        existing = order.metafields.get((namespace, item["key"]))
        if existing is None:
            existing = Metafield(
                id=store.new_id("Metafield"),
                namespace=namespace,
                key=item["key"],
                type=item["type"],
                value=item["value"],
                created_at=now,
                updated_at=now,
            )
            order.metafields[(namespace, item["key"])] = existing
        else:
            existing.value = item["value"]
            existing.type = item.get("type") or existing.type
            existing.updated_at = now
        order.updated_at = now
        written.append(existing)
    return Outcome(written)


def add_tags(store: ShopifyStore, shop: Shop, order_id: str, tags: list[str] | str) -> Outcome[Order]:
    """Tags are trimmed, comma-split and unique case-insensitively; the order keeps them sorted."""
    order = shop.orders.get(order_id)
    if order is None:
        return Outcome(errors=[UserError(["id"], "Order does not exist")])
    raw = tags.split(",") if isinstance(tags, str) else [p for t in tags for p in t.split(",")]
    known = {t.lower() for t in order.tags}
    for tag in (t.strip() for t in raw):
        if tag and tag.lower() not in known:
            order.tags.append(tag)
            known.add(tag.lower())
    order.tags.sort(key=str.lower)
    order.updated_at = store.clock.now()
    return Outcome(order)


def remove_tags(store: ShopifyStore, shop: Shop, order_id: str, tags: list[str]) -> Outcome[Order]:
    """Removing a tag the order does not have is not an error (Shopify answers with no userErrors)."""
    order = shop.orders.get(order_id)
    if order is None:
        return Outcome(errors=[UserError(["id"], "Order does not exist")])
    gone = {t.strip().lower() for t in tags}
    order.tags = [t for t in order.tags if t.lower() not in gone]
    order.updated_at = store.clock.now()
    return Outcome(order)


UPDATABLE = {"id", "note"}  # the OrderInput fields the emulator models


def update_order(store: ShopifyStore, shop: Shop, fields: dict[str, Any]) -> Outcome[Order]:
    """``orderUpdate``: "The new contents for the note associated with the order. Overwrites the existing note"
    (OrderInput.note in the 2026-07 schema). Other OrderInput fields are not modelled and refused by name."""
    order = shop.orders.get(fields.get("id", ""))
    if order is None:
        return Outcome(errors=[UserError(["id"], "Order does not exist")])
    unmodelled = sorted(set(fields) - UPDATABLE)
    if unmodelled:
        raise NotImplementedError(f"the emulator's orderUpdate models id and note only, not {', '.join(unmodelled)}")
    if "note" in fields:
        order.note = fields["note"]
    order.updated_at = store.clock.now()
    return Outcome(order)
