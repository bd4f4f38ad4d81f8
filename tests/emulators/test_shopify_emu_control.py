"""Control endpoints and fault injection."""

from __future__ import annotations

from .conftest import TOKEN, Shop


async def test_control_endpoints_seed_and_inspect(shop: Shop) -> None:
    base = shop.emu.base_url
    domain = "control-test.myshopify.com"
    created = await shop.http.post(
        f"{base}/__emulator/shops",
        json={
            "domain": domain,
            "accessToken": TOKEN,
            "currency": "EUR",
            "locations": [{"id": "gid://shopify/Location/9", "name": "DC"}],
        },
    )
    assert created.status_code == 200
    product = await shop.http.post(
        f"{base}/__emulator/shops/{domain}/products",
        json={"sku": "MUG", "stock": {"gid://shopify/Location/9": 4}},
    )
    assert product.json()["inventoryItemId"].startswith("gid://shopify/InventoryItem/")
    order = await shop.http.post(
        f"{base}/__emulator/shops/{domain}/orders",
        json={
            "name": "2001",
            "processedAt": "2026-11-26T10:00:00Z",
            "lines": [{"sku": "MUG", "quantity": 3, "unitPrice": "12.50"}],
        },
    )
    order_id = order.json()["orderId"]
    refund = await shop.http.post(
        f"{base}/__emulator/shops/{domain}/refunds",
        json={"orderId": order_id, "lines": {"MUG": 1}, "amount": "12.50", "note": "by hand"},
    )
    assert refund.status_code == 200, refund.text
    too_much = await shop.http.post(
        f"{base}/__emulator/shops/{domain}/refunds",
        json={"orderId": order_id, "lines": {"MUG": 5}, "amount": "1"},
    )
    assert too_much.status_code == 400
    state = (await shop.http.get(f"{base}/__emulator/shops/{domain}/state")).json()
    [dumped] = state["orders"]
    assert dumped["name"] == "#2001" and dumped["financial_status"] == "PARTIALLY_REFUNDED"
    assert dumped["refunds"][0]["amount"] == "12.5" and dumped["lines"][0]["refundable"] == 2
    assert state["inventory"][0]["levels"]["gid://shopify/Location/9"]["available"] == 4
    missing = await shop.http.get(f"{base}/__emulator/shops/nope.myshopify.com/state")
    assert missing.status_code == 404


async def test_faults_error_and_lost_response(shop: Shop) -> None:
    shop.emu.faults.fail_next("error")
    response = await shop.post({"query": "{ shop { name } }"})
    assert response.status_code == 503

    created_before = len(shop.store.returns(shop.domain, shop.order_id))
    shop.emu.faults.fail_next("lost_response")
    order = await shop.order()
    fli = order["fulfillments"][0]["fulfillmentLineItems"]["nodes"][0]["id"]
    variables = {
        "returnInput": {
            "orderId": shop.order_id,
            "returnLineItems": [{"fulfillmentLineItemId": fli, "quantity": 1, "returnReason": "STYLE"}],
        }
    }
    from .conftest import operation

    lost = await shop.post({"query": operation("ReturnCreate"), "variables": variables})
    assert lost.status_code == 502
    assert len(shop.store.returns(shop.domain, shop.order_id)) == created_before + 1  # the write happened

    configured = await shop.http.post(f"{shop.emu.base_url}/__emulator/faults", json={"clear": True})
    assert configured.json()["queued"] == []
