"""GraphQL projections of the inventory model: products and variants (as their stock shows them), adjustment
groups and the shop's quantity names. Quantities are read when resolved, so a read after a write sees it.

Each seeded SKU is the one default variant of its own product, priced in the shop's currency (``price``, a
``Money`` string: ``"24.95"``). ``inventoryQuantity`` is the variant's
``available`` summed over its locations and ``totalInventory`` the product's sum of those; Shopify recomputes the
product aggregate asynchronously (a read right after a write can still show the old total), the emulator never
lags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from .clock import iso
from .connections import connection
from .exchanges import variant_price
from .inventory import AdjustmentGroup
from .model import ON_HAND_PARTS, QUANTITY_NAMES, InventoryItem, Shop
from .money import format_price

if TYPE_CHECKING:
    from .views import View, Views

# The emulator's own app, the author of every adjustment made through its API.
APP = {
    "__typename": "App",
    "id": "gid://shopify/App/1",
    "title": "Shopify emulator",
    "handle": "shopify-emulator",
    "apiKey": "emulator",
}
STAFF_MEMBER_DENIED = (
    "Access denied for staffMember field. Required access: `read_users` access scope. Also: The app must be a "
    "finance embedded app or installed on a Shopify Plus or Advanced store. Contact Shopify Support to enable this "
    "scope for your app."
)
# Names Shopify's own flows (orders, admin) always use; the others are "in use" once the shop records one.
_ALWAYS_IN_USE = ("available", "committed", "on_hand", "reserved")


def inventory_quantity(item: InventoryItem) -> int:
    return sum(level.get("available") for level in item.levels.values())


def items_of_product(shop: Shop, product_id: str) -> list[InventoryItem]:
    return [item for item in shop.inventory.values() if item.product_id == product_id]


def product(views: Views, product_id: str) -> View | None:
    items = items_of_product(views.shop, product_id)
    if not items:
        return None
    quantities = [inventory_quantity(item) for item in items]
    return {
        "__typename": "Product",
        "id": product_id,
        "title": items[0].sku,
        "handle": items[0].sku.lower(),
        "status": "ACTIVE",
        "totalInventory": sum(quantities),
        "tracksInventory": True,
        "totalVariants": len(items),
        "variantsCount": {"count": len(items), "precision": "EXACT"},
        "hasOnlyDefaultVariant": len(items) == 1,
        "hasOutOfStockVariants": any(q <= 0 for q in quantities),
        "variants": lambda _info, **a: connection(items, a, lambda item: variant(views, item)),
    }


def variant(views: Views, item: InventoryItem) -> View:
    return {
        "__typename": "ProductVariant",
        "id": item.variant_id,
        "sku": item.sku,
        "title": "Default Title",
        "displayName": f"{item.sku} - Default Title",
        "inventoryQuantity": inventory_quantity(item),
        "price": format_price(variant_price(item)),
        "inventoryItem": lambda _info: views.inventory_item(item),
        "product": lambda _info: product(views, item.product_id) if item.product_id else None,
    }


def variant_by_id(views: Views, variant_id: str) -> View | None:
    item = next((i for i in views.shop.inventory.values() if i.variant_id == variant_id), None)
    return variant(views, item) if item else None


def adjustment_group(views: Views, group: AdjustmentGroup) -> View:
    def changes(
        _info: Any,
        inventoryItemIds: list[str] | None = None,  # noqa: N803 - GraphQL argument names
        locationIds: list[str] | None = None,  # noqa: N803
        quantityNames: list[str] | None = None,  # noqa: N803
    ) -> list[View]:
        chosen = [
            c
            for c in group.changes
            if (inventoryItemIds is None or c.item_id in inventoryItemIds)
            and (locationIds is None or c.location_id in locationIds)
            and (quantityNames is None or c.name in quantityNames)
        ]
        return [
            {
                "__typename": "InventoryChange",
                "name": c.name,
                "delta": c.delta,
                "quantityAfterChange": None,  # Shopify leaves it null on these mutations' payloads
                "ledgerDocumentUri": c.ledger_document_uri,
                "item": (lambda i: lambda _info: views.inventory_item(i))(views.shop.inventory[c.item_id]),
                "location": views.location(views.shop.locations[c.location_id]),
            }
            for c in chosen
        ]

    def staff_member(_info: Any) -> None:
        # Shopify refuses this field to apps without `read_users`, the emulator's callers among them.
        raise GraphQLError(STAFF_MEMBER_DENIED, extensions={"code": "ACCESS_DENIED"})

    return {
        "__typename": "InventoryAdjustmentGroup",
        "id": group.id,
        "createdAt": iso(group.created_at),
        "reason": group.reason,
        "referenceDocumentUri": group.reference_document_uri,
        "app": dict(APP),
        "staffMember": staff_member,
        "changes": changes,
    }


def inventory_properties(shop: Shop) -> View:
    def in_use(name: str) -> bool:
        if name in _ALWAYS_IN_USE:
            return True
        return any(name in level.changed_at for item in shop.inventory.values() for level in item.levels.values())

    names = [
        {
            "__typename": "InventoryQuantityName",
            "name": name,
            "displayName": name.replace("_", " ").capitalize(),
            "isInUse": in_use(name),
            "belongsTo": ["on_hand"] if name in ON_HAND_PARTS else [],
            "comprises": list(ON_HAND_PARTS) if name == "on_hand" else [],
        }
        for name in QUANTITY_NAMES
    ]
    return {"__typename": "InventoryProperties", "quantityNames": names}
