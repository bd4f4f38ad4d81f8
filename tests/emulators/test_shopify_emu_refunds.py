"""refundCreate: the required @idempotent directive, key replay/mismatch/expiry, and Shopify's validations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from emulators.shopify.schema import SUPPORTED_VERSIONS

from .conftest import LOC_B, Shop

NO_DIRECTIVE = """
mutation RefundCreate($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id }
    userErrors { field message }
  }
}
"""


async def _refund_input(shop: Shop, amount: str = "24.95", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    order = await shop.order()
    tee = next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")
    sale = order["transactions"][0]
    return {
        "orderId": shop.order_id,
        "note": "Rebound return R-1",
        "refundLineItems": [{"lineItemId": tee["id"], "quantity": quantity, "restockType": "NO_RESTOCK"}],
        "transactions": [
            {
                "amount": amount,
                "gateway": "manual",
                "kind": "REFUND",
                "orderId": shop.order_id,
                "parentId": sale["id"],
            }
        ],
        **extra,
    }


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_directive_is_required(shop: Shop, version: str) -> None:
    refund_input = await _refund_input(shop)
    response = await shop.post({"query": NO_DIRECTIVE, "variables": {"input": refund_input}}, version=version)
    body = response.json()
    assert body["data"] == {"refundCreate": None}
    assert body["errors"] == [
        {
            "message": "The @idempotent directive is required for this mutation but was not provided.",
            "locations": [{"line": 3, "column": 3}],
            "extensions": {"code": "BAD_REQUEST"},
            "path": ["refundCreate"],
        }
    ]
    assert "cost" in body["extensions"]
    assert shop.store.refunds(shop.domain, shop.order_id) == []


async def test_same_key_same_input_refunds_once(shop: Shop) -> None:
    refund_input = await _refund_input(shop)
    first = await shop.refund_create(refund_input, "key-1")
    second = await shop.refund_create(refund_input, "key-1")
    assert first["userErrors"] == [] and second["userErrors"] == []
    assert second["refund"]["id"] == first["refund"]["id"]
    assert len(shop.store.refunds(shop.domain, shop.order_id)) == 1
    assert first["refund"]["totalRefundedSet"]["presentmentMoney"] == {"amount": "24.95", "currencyCode": "GBP"}
    order = await shop.order()
    assert [t["kind"] for t in order["transactions"]] == ["SALE", "REFUND"]
    assert order["transactions"][1]["gateway"] == "shopify_payments"  # the parent's, not the input's "manual"


async def test_same_key_other_input_is_a_mismatch(shop: Shop) -> None:
    await shop.refund_create(await _refund_input(shop), "key-2")
    other = await shop.refund_create(await _refund_input(shop, amount="10.00"), "key-2")
    assert other["refund"] is None
    assert other["userErrors"] == [
        {
            "field": None,
            "message": "The same idempotency key cannot be used with different operation parameters.",
        }
    ]
    assert len(shop.store.refunds(shop.domain, shop.order_id)) == 1


async def test_expired_key_allows_a_second_write(shop: Shop) -> None:
    refund_input = await _refund_input(shop, amount="5.00", quantity=0)
    await shop.refund_create(refund_input, "key-3")
    shop.store.clock.advance(hours=25)
    again = await shop.refund_create(refund_input, "key-3")
    assert again["userErrors"] == []
    assert len(shop.store.refunds(shop.domain, shop.order_id)) == 2


async def test_over_refund_amount_message(shop: Shop) -> None:
    payload = await shop.refund_create(await _refund_input(shop, amount="999.00"), "key-4")
    assert payload["refund"] is None
    assert payload["userErrors"] == [
        {"field": None, "message": "Refund amount £999.00 is greater than net payment received £64.90"}
    ]
    assert payload["order"]["displayFinancialStatus"] == "PAID"


async def test_over_quantity_message_counts_earlier_refunds(shop: Shop) -> None:
    shop.store.refund_by_hand(shop.domain, shop.order_id, {"TEE-M": 1}, Decimal("24.95"), note="staff")
    order = await shop.order()
    assert next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")["refundableQuantity"] == 1
    payload = await shop.refund_create(await _refund_input(shop, quantity=2), "key-5")
    assert payload["userErrors"] == [
        {
            "field": ["refundLineItems", "0", "quantity"],
            "message": "Quantity cannot refund more items than were purchased",
        }
    ]
    assert payload["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"


async def test_unknown_order_and_missing_parent(shop: Shop) -> None:
    unknown = await shop.refund_create({"orderId": "gid://shopify/Order/1"}, "key-6")
    assert unknown == {
        "refund": None,
        "order": None,
        "userErrors": [{"field": ["orderId"], "message": "Order does not exist"}],
    }
    refund_input = await _refund_input(shop)
    refund_input["transactions"][0]["parentId"] = "gid://shopify/OrderTransaction/1"
    payload = await shop.refund_create(refund_input, "key-7")
    assert payload["userErrors"] == [
        {"field": ["transactions"], "message": "Transactions require a parent_id associated with the order"}
    ]
    refund_input["transactions"][0]["kind"] = "AUTHORIZATION"
    payload = await shop.refund_create(refund_input, "key-8")
    assert payload["userErrors"] == [{"field": None, "message": "Kind authorization is not a valid transaction"}]


async def test_full_refund_with_restock_to_location(shop: Shop) -> None:
    before = shop.store.stock(shop.domain, "TEE-M")
    refund_input = await _refund_input(shop, amount="64.90", quantity=2)
    refund_input["refundLineItems"][0].update({"restockType": "RETURN", "locationId": LOC_B})
    payload = await shop.refund_create(refund_input, "key-9", version="2026-07")
    assert payload["userErrors"] == []
    assert payload["order"]["displayFinancialStatus"] == "REFUNDED"
    after = shop.store.stock(shop.domain, "TEE-M")
    assert after[LOC_B]["available"] == before[LOC_B]["available"] + 2
    assert {k: v for k, v in after.items() if k != LOC_B} == {k: v for k, v in before.items() if k != LOC_B}
