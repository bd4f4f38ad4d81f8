"""Inventory mutations beyond the recordings: ``@idempotent(key:)`` (required, replayed without a second write,
mismatched parameters refused, keys expiring after 24 hours on the shop clock) and how restocks and reads meet
the inventory model."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.shopify.idempotency import MISMATCH_MESSAGE, MISSING_MESSAGE

from .conftest import LOC_A, LOC_B, Shop

ADJUST = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta } }
    userErrors { field message code }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta } }
    userErrors { field message code }
  }
}
"""
SET_ON_HAND = """
mutation SetOnHand($input: InventorySetOnHandQuantitiesInput!, $key: String!) {
  inventorySetOnHandQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta } }
    userErrors { field message code }
  }
}
"""
MOVE = """
mutation Move($input: InventoryMoveQuantitiesInput!, $key: String!) {
  inventoryMoveQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta } }
    userErrors { field message code }
  }
}
"""
ACTIVATE = """
mutation Activate($item: ID!, $location: ID!, $available: Int, $key: String!) {
  inventoryActivate(inventoryItemId: $item, locationId: $location, available: $available) @idempotent(key: $key) {
    inventoryLevel { id quantities(names: ["available", "on_hand"]) { name quantity } }
    userErrors { field message }
  }
}
"""


def _adjust_input(shop: Shop, delta: int, before: int) -> dict[str, Any]:
    change = {"inventoryItemId": shop.tee_item, "locationId": LOC_A, "delta": delta, "changeFromQuantity": before}
    return {"name": "available", "reason": "correction", "changes": [change]}


def _inputs(shop: Shop) -> dict[str, tuple[str, dict[str, Any]]]:
    """One valid call of each keyed quantity mutation against the seeded TEE-M (3 available at LOC_A)."""
    line = {"inventoryItemId": shop.tee_item, "locationId": LOC_A, "quantity": 5, "changeFromQuantity": 3}
    move = {
        "inventoryItemId": shop.tee_item,
        "quantity": 1,
        "from": {"locationId": LOC_A, "name": "available", "changeFromQuantity": 3},
        "to": {"locationId": LOC_A, "name": "damaged", "changeFromQuantity": 0, "ledgerDocumentUri": "ledger://qc/1"},
    }
    return {
        "inventoryAdjustQuantities": (ADJUST, {"input": _adjust_input(shop, 2, 3)}),
        "inventorySetQuantities": (SET, {"input": {"name": "available", "reason": "correction", "quantities": [line]}}),
        "inventorySetOnHandQuantities": (SET_ON_HAND, {"input": {"reason": "correction", "setQuantities": [line]}}),
        "inventoryMoveQuantities": (
            MOVE,
            {"input": {"reason": "correction", "referenceDocumentUri": "logistics://qc/1", "changes": [move]}},
        ),
    }


def _stock(shop: Shop) -> dict[str, int]:
    level = shop.store.stock(shop.domain, "TEE-M")[LOC_A]
    return {name: level[name] for name in ("available", "damaged", "on_hand")}


@pytest.mark.parametrize(
    "mutation",
    ["inventoryAdjustQuantities", "inventorySetQuantities", "inventorySetOnHandQuantities", "inventoryMoveQuantities"],
)
@pytest.mark.parametrize("version", ["2026-04", "2026-07"])
async def test_missing_key_is_a_bad_request_without_a_write(shop: Shop, mutation: str, version: str) -> None:
    document, variables = _inputs(shop)[mutation]
    document = document.replace(", $key: String!", "").replace(" @idempotent(key: $key)", "")
    body = (await shop.post({"query": document, "variables": variables}, version=version)).json()
    assert body["data"] == {mutation: None}
    [error] = body["errors"]
    assert (error["message"], error["extensions"]["code"], error["path"]) == (
        MISSING_MESSAGE,
        "BAD_REQUEST",
        [mutation],
    )
    assert _stock(shop) == {"available": 3, "damaged": 0, "on_hand": 3}
    assert shop.store.shop(shop.domain).adjustment_groups == {}


@pytest.mark.parametrize(
    "mutation",
    ["inventoryAdjustQuantities", "inventorySetQuantities", "inventorySetOnHandQuantities", "inventoryMoveQuantities"],
)
async def test_same_key_replays_the_first_group_without_a_second_write(shop: Shop, mutation: str) -> None:
    document, variables = _inputs(shop)[mutation]
    variables = {**variables, "key": f"replay-{mutation}"}
    first = (await shop.post({"query": document, "variables": variables})).json()["data"][mutation]
    after_first = _stock(shop)
    again = (await shop.post({"query": document, "variables": variables})).json()["data"][mutation]
    assert first["userErrors"] == [] and first["inventoryAdjustmentGroup"] is not None
    assert again == first  # the same group (same id), although changeFromQuantity is now stale
    assert _stock(shop) == after_first != {"available": 3, "damaged": 0, "on_hand": 3}
    assert len(shop.store.shop(shop.domain).adjustment_groups) == 1


async def test_same_key_with_other_parameters_is_refused(shop: Shop) -> None:
    first = {"input": _adjust_input(shop, 2, 3), "key": "mismatch"}
    done = (await shop.post({"query": ADJUST, "variables": first})).json()["data"]["inventoryAdjustQuantities"]
    assert done["userErrors"] == []
    other = {"input": _adjust_input(shop, 4, 5), "key": "mismatch"}
    refused = (await shop.post({"query": ADJUST, "variables": other})).json()["data"]["inventoryAdjustQuantities"]
    assert refused == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [{"field": None, "message": MISMATCH_MESSAGE, "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"}],
    }
    assert _stock(shop)["available"] == 5


async def test_keys_expire_after_24_hours_on_the_shop_clock(shop: Shop) -> None:
    variables = {"input": _adjust_input(shop, 2, 3), "key": "expiring"}
    first = (await shop.post({"query": ADJUST, "variables": variables})).json()["data"]["inventoryAdjustQuantities"]
    shop.store.clock.advance(hours=23, seconds=59 * 60)
    replay = (await shop.post({"query": ADJUST, "variables": variables})).json()["data"]["inventoryAdjustQuantities"]
    assert replay == first and _stock(shop)["available"] == 5
    shop.store.clock.advance(seconds=60)  # 24 hours: the key is forgotten, the call is new
    fresh = (await shop.post({"query": ADJUST, "variables": variables})).json()["data"]["inventoryAdjustQuantities"]
    assert fresh["userErrors"] == [
        {
            "field": ["input", "changes", "0", "changeFromQuantity"],
            "message": "The changeFromQuantity argument no longer matches the persisted quantity.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    variables["input"]["changes"][0]["changeFromQuantity"] = 5  # a new write under the same key
    fresh = (await shop.post({"query": ADJUST, "variables": variables})).json()["data"]["inventoryAdjustQuantities"]
    assert fresh["inventoryAdjustmentGroup"]["id"] != first["inventoryAdjustmentGroup"]["id"]
    assert _stock(shop)["available"] == 7


async def test_rejected_call_does_not_spend_its_key(shop: Shop) -> None:
    stale = {"input": _adjust_input(shop, 2, 99), "key": "retry"}
    rejected = (await shop.post({"query": ADJUST, "variables": stale})).json()["data"]["inventoryAdjustQuantities"]
    assert rejected["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    fixed = {"input": _adjust_input(shop, 2, 3), "key": "retry"}
    done = (await shop.post({"query": ADJUST, "variables": fixed})).json()["data"]["inventoryAdjustQuantities"]
    assert done["userErrors"] == [] and _stock(shop)["available"] == 5


async def test_activate_is_keyed_and_replays_the_level(shop: Shop) -> None:
    variables = {"item": shop.cap_item, "location": LOC_B, "available": 4, "key": "activate-cap"}
    first = (await shop.post({"query": ACTIVATE, "variables": variables})).json()["data"]["inventoryActivate"]
    assert first["userErrors"] == []
    assert [q["quantity"] for q in first["inventoryLevel"]["quantities"]] == [4, 4]
    assert shop.store.stock(shop.domain, "CAP")[LOC_B]["available"] == 4
    again = (await shop.post({"query": ACTIVATE, "variables": variables})).json()["data"]["inventoryActivate"]
    assert again == first  # replayed: no "already active" error, no second write
    other = {**variables, "available": 9}
    refused = (await shop.post({"query": ACTIVATE, "variables": other})).json()["data"]["inventoryActivate"]
    assert refused == {"inventoryLevel": None, "userErrors": [{"field": None, "message": MISMATCH_MESSAGE}]}
    missing = ACTIVATE.replace(", $key: String!", "").replace(" @idempotent(key: $key)", "")
    body = (await shop.post({"query": missing, "variables": {k: v for k, v in variables.items() if k != "key"}})).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_restock_shows_in_the_engine_read(shop: Shop) -> None:
    """The engine's InventoryLevels read after a restock (``available`` added, as a RESTOCKED disposition does):
    ``on_hand`` follows, being derived."""
    before = await shop.gql("InventoryLevels", {"id": shop.tee_item})
    shop.store.shop(shop.domain).inventory[shop.tee_item].level(LOC_A).add("available", 2, shop.store.clock.now())
    after = await shop.gql("InventoryLevels", {"id": shop.tee_item})

    def quantities(body: dict[str, Any]) -> dict[str, int]:
        node = next(
            n for n in body["data"]["inventoryItem"]["inventoryLevels"]["nodes"] if n["location"]["id"] == LOC_A
        )
        return {q["name"]: q["quantity"] for q in node["quantities"]}

    assert quantities(before) == {"available": 3, "on_hand": 3, "damaged": 0, "quality_control": 0}
    assert quantities(after) == {"available": 5, "on_hand": 5, "damaged": 0, "quality_control": 0}


async def test_product_and_variant_follow_stock(shop: Shop) -> None:
    item = shop.store.shop(shop.domain).inventory[shop.cap_item]
    query = """
    query P($id: ID!, $variant: ID!) {
      product(id: $id) {
        totalInventory hasOutOfStockVariants hasOnlyDefaultVariant variants(first: 5) { nodes { id } }
      }
      productVariant(id: $variant) { inventoryQuantity inventoryItem { id } product { id } }
    }
    """
    body = (await shop.post({"query": query, "variables": {"id": item.product_id, "variant": item.variant_id}})).json()
    assert body["data"] == {
        "product": {
            "totalInventory": 0,
            "hasOutOfStockVariants": True,
            "hasOnlyDefaultVariant": True,
            "variants": {"nodes": [{"id": item.variant_id}]},
        },
        "productVariant": {
            "inventoryQuantity": 0,
            "inventoryItem": {"id": item.id},
            "product": {"id": item.product_id},
        },
    }
