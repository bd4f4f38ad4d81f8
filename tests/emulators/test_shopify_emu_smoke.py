"""Reads the engine performs: order by name, the order for a return, stock levels, reason definitions."""

from __future__ import annotations

from .conftest import LOC_A, LOC_B, Shop


async def test_find_order_by_name_with_and_without_hash(shop: Shop) -> None:
    for query in ("name:#1001", "name:1001", 'name:"#1001"'):
        body = await shop.gql("FindOrderByName", {"query": query})
        assert body["data"]["orders"]["nodes"] == [{"id": shop.order_id, "name": "#1001"}]
    body = await shop.gql("FindOrderByName", {"query": "name:#9999"})
    assert body["data"]["orders"]["nodes"] == []


async def test_order_for_return_shapes(shop: Shop) -> None:
    order = await shop.order()
    assert order["name"] == "#1001"
    assert order["currencyCode"] == "GBP"
    assert order["processedAt"] == "2026-11-20T10:00:00Z"
    assert order["displayFinancialStatus"] == "PAID"
    assert order["metafield"] is None
    tee = next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")
    assert tee["quantity"] == 2 and tee["refundableQuantity"] == 2
    assert tee["discountedUnitPriceAfterAllDiscountsSet"]["presentmentMoney"] == {
        "amount": "24.95",
        "currencyCode": "GBP",
    }
    assert tee["variant"]["inventoryItem"]["id"] == shop.tee_item
    [sale] = order["transactions"]
    assert sale["kind"] == "SALE" and sale["gateway"] == "shopify_payments"
    assert sale["amountSet"]["presentmentMoney"]["amount"] == "64.9"  # 2 x 24.95 + 10.00 + 5.00
    [fulfillment] = order["fulfillments"]
    assert {n["quantity"] for n in fulfillment["fulfillmentLineItems"]["nodes"]} == {2, 1}
    assert order["refunds"] == [] and order["returns"]["nodes"] == []


async def test_inventory_levels_quantities(shop: Shop) -> None:
    body = await shop.gql("InventoryLevels", {"id": shop.tee_item})
    item = body["data"]["inventoryItem"]
    assert item["sku"] == "TEE-M"
    levels = {
        n["location"]["id"]: {q["name"]: q["quantity"] for q in n["quantities"]}
        for n in item["inventoryLevels"]["nodes"]
    }
    assert levels[LOC_A] == {"available": 3, "on_hand": 3, "damaged": 0, "quality_control": 0}
    assert levels[LOC_B]["available"] == 1


async def test_return_reason_definitions_by_handle(shop: Shop) -> None:
    body = await shop.gql("ReturnReasonDefinitions", {"handles": ["too-small", "changed-my-mind"]})
    nodes = body["data"]["returnReasonDefinitions"]["nodes"]
    assert nodes == [
        {
            "id": "gid://shopify/ReturnReasonDefinition/2",
            "handle": "changed-my-mind",
            "name": "Changed my mind",
            "deleted": False,
        },
        {
            "id": "gid://shopify/ReturnReasonDefinition/7",
            "handle": "too-small",
            "name": "Too small",
            "deleted": False,
        },
    ]
    body = await shop.gql("ReturnReasonDefinitions", {"handles": None})
    assert len(body["data"]["returnReasonDefinitions"]["nodes"]) == 10


async def test_every_response_has_cost_extension(shop: Shop) -> None:
    body = await shop.gql("FindOrderByName", {"query": "name:#1001"})
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] > 0
    assert cost["throttleStatus"]["maximumAvailable"] == 2000
    assert cost["throttleStatus"]["restoreRate"] == 100
    assert 0 < cost["throttleStatus"]["currentlyAvailable"] <= 2000
