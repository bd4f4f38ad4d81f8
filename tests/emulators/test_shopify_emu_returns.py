"""Return lifecycle end to end over HTTP, with the engine's own documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from emulators.shopify.schema import SUPPORTED_VERSIONS

from .conftest import LOC_A, LOC_B, Shop


def _rfo(created: dict[str, Any]) -> dict[str, Any]:
    rfo: dict[str, Any] = created["data"]["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"][0]
    return rfo


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_full_return_lifecycle(shop: Shop, version: str) -> None:
    before = shop.store.stock(shop.domain, "TEE-M")
    order = await shop.order()
    tee = next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")
    fli = next(
        f["id"]
        for ff in order["fulfillments"]
        for f in ff["fulfillmentLineItems"]["nodes"]
        if f["lineItem"]["id"] == tee["id"]
    )

    created = await shop.gql(
        "ReturnCreate",
        {
            "returnInput": {
                "orderId": shop.order_id,
                "returnLineItems": [
                    {
                        "fulfillmentLineItemId": fli,
                        "quantity": 2,
                        "returnReasonDefinitionId": "gid://shopify/ReturnReasonDefinition/7",
                    }
                ],
            }
        },
        version=version,
    )
    payload = created["data"]["returnCreate"]
    assert payload["userErrors"] == []
    ret = payload["return"]
    assert ret["status"] == "OPEN" and ret["name"] == "#1001-R1"
    rfo = _rfo(created)
    [rfo_line] = rfo["lineItems"]["nodes"]
    assert rfo_line["totalQuantity"] == 2 and rfo_line["fulfillmentLineItem"]["id"] == fli

    delivery = await shop.gql(
        "ReverseDeliveryCreate",
        {
            "rfoId": rfo["id"],
            "tracking": {"number": "RB123456789GB", "url": "https://track.example/RB123456789GB"},
            "lines": [],
        },
        version=version,
    )
    assert delivery["data"]["reverseDeliveryCreateWithShipping"]["userErrors"] == []
    tracking = delivery["data"]["reverseDeliveryCreateWithShipping"]["reverseDelivery"]["deliverable"]["tracking"]
    assert tracking == {"number": "RB123456789GB", "url": "https://track.example/RB123456789GB"}

    disposed = await shop.gql(
        "ReverseFulfillmentOrderDispose",
        {
            "dispositionInputs": [
                {
                    "reverseFulfillmentOrderLineItemId": rfo_line["id"],
                    "quantity": 1,
                    "locationId": LOC_A,
                    "dispositionType": "RESTOCKED",
                },
                {
                    "reverseFulfillmentOrderLineItemId": rfo_line["id"],
                    "quantity": 1,
                    "dispositionType": "NOT_RESTOCKED",
                },
            ]
        },
        version=version,
    )
    dispose_payload = disposed["data"]["reverseFulfillmentOrderDispose"]
    assert dispose_payload["userErrors"] == []
    [line] = dispose_payload["reverseFulfillmentOrderLineItems"]
    assert line["dispositions"] == [
        {"type": "RESTOCKED", "quantity": 1, "location": {"id": LOC_A}},
        {"type": "NOT_RESTOCKED", "quantity": 1, "location": None},
    ]

    sale = order["transactions"][0]
    refund = await shop.gql(
        "RefundCreate",
        {
            "idempotencyKey": f"rebound-return-1-{version}",
            "input": {
                "orderId": shop.order_id,
                "note": "Rebound return R-1",
                "refundLineItems": [{"lineItemId": tee["id"], "quantity": 2, "restockType": "NO_RESTOCK"}],
                "transactions": [
                    {
                        "amount": "49.90",
                        "gateway": "shopify_payments",
                        "kind": "REFUND",
                        "orderId": shop.order_id,
                        "parentId": sale["id"],
                    }
                ],
            },
        },
        version=version,
    )
    refund_payload = refund["data"]["refundCreate"]
    assert refund_payload["userErrors"] == []
    assert refund_payload["refund"]["totalRefundedSet"]["presentmentMoney"] == {
        "amount": "49.9",
        "currencyCode": "GBP",
    }
    assert refund_payload["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"

    closed = await shop.gql("ReturnClose", {"id": ret["id"]}, version=version)
    assert closed["data"]["returnClose"]["userErrors"] == []
    assert closed["data"]["returnClose"]["return"]["status"] == "CLOSED"
    assert closed["data"]["returnClose"]["return"]["closedAt"].endswith("Z")

    after = shop.store.stock(shop.domain, "TEE-M")
    assert after[LOC_A]["available"] == before[LOC_A]["available"] + 1
    assert after[LOC_A]["on_hand"] == before[LOC_A]["on_hand"] + 1
    assert after[LOC_B] == before[LOC_B]
    [stored_refund] = shop.store.refunds(shop.domain, shop.order_id)
    assert stored_refund["amount"] == Decimal("49.90") and stored_refund["lines"] == {"TEE-M": 2}
    [stored_return] = shop.store.returns(shop.domain, shop.order_id)
    assert stored_return["status"] == "CLOSED"
    assert stored_return["tracking"] == [
        {"number": "RB123456789GB", "url": "https://track.example/RB123456789GB", "lines": {"TEE-M": 2}}
    ]

    synced = await shop.gql("ReturnForSync", {"id": ret["id"]}, version=version)
    rfo_read = synced["data"]["return"]["reverseFulfillmentOrders"]["nodes"][0]
    assert [d["type"] for d in rfo_read["lineItems"]["nodes"][0]["dispositions"]] == [
        "RESTOCKED",
        "NOT_RESTOCKED",
    ]
    assert rfo_read["reverseDeliveries"]["nodes"][0]["deliverable"]["tracking"]["number"] == "RB123456789GB"

    order_after = await shop.order()
    assert order_after["returns"]["nodes"][0]["status"] == "CLOSED"
    assert next(li for li in order_after["lineItems"]["nodes"] if li["sku"] == "TEE-M")["refundableQuantity"] == 0

    again = await shop.gql("ReturnClose", {"id": ret["id"]}, version=version)  # closing CLOSED is a no-op
    assert again["data"]["returnClose"]["userErrors"] == []


async def test_return_create_over_returnable_quantity(shop: Shop) -> None:
    first = await shop.create_return(quantity=2)
    assert first["data"]["returnCreate"]["userErrors"] == []
    second = await shop.create_return(quantity=1)
    assert second["data"]["returnCreate"] == {
        "return": None,
        "userErrors": [
            {
                "field": ["returnLineItems", "0", "quantity"],
                "message": "Quantity is not available for return.",
                "code": "INVALID",
            }
        ],
    }
    # A canceled return frees its quantity again.
    cancel = await shop.gql("ReturnCancel", {"id": first["data"]["returnCreate"]["return"]["id"]})
    assert cancel["data"]["returnCancel"]["return"]["status"] == "CANCELED"
    third = await shop.create_return(quantity=2)
    assert third["data"]["returnCreate"]["userErrors"] == []


async def test_return_create_reason_required_and_unknown_line(shop: Shop) -> None:
    order = await shop.order()
    fli = order["fulfillments"][0]["fulfillmentLineItems"]["nodes"][0]["id"]
    no_reason = await shop.gql(
        "ReturnCreate",
        {
            "returnInput": {
                "orderId": shop.order_id,
                "returnLineItems": [{"fulfillmentLineItemId": fli, "quantity": 1}],
            }
        },
    )
    assert no_reason["data"]["returnCreate"]["userErrors"] == [
        {
            "field": ["returnInput", "returnLineItems", "0"],
            "message": "Return line items Either return reason or return reason definition must be provided",
            "code": "NOT_FOUND",
        }
    ]
    other = await shop.create_return(returnReason="OTHER")
    assert other["data"]["returnCreate"]["userErrors"][0]["code"] == "BLANK"
    legacy = await shop.create_return(returnReason="SIZE_TOO_SMALL")
    assert legacy["data"]["returnCreate"]["userErrors"] == []

    bogus = await shop.gql(
        "ReturnCreate",
        {
            "returnInput": {
                "orderId": shop.order_id,
                "returnLineItems": [
                    {
                        "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/1",
                        "quantity": 1,
                        "returnReason": "STYLE",
                    }
                ],
            }
        },
    )
    assert bogus["data"]["returnCreate"]["userErrors"] == [
        {
            "field": ["returnLineItems", "0", "fulfillmentLineItemId"],
            "message": "Fulfillment line item does not exist.",
            "code": "INVALID",
        }
    ]
    assert len(shop.store.returns(shop.domain, shop.order_id)) == 1  # rejected calls leave no trace


async def test_cancel_after_disposition_is_refused(shop: Shop) -> None:
    created = await shop.create_return()
    ret_id = created["data"]["returnCreate"]["return"]["id"]
    line_id = _rfo(created)["lineItems"]["nodes"][0]["id"]
    await shop.gql(
        "ReverseFulfillmentOrderDispose",
        {
            "dispositionInputs": [
                {"reverseFulfillmentOrderLineItemId": line_id, "quantity": 1, "dispositionType": "MISSING"}
            ]
        },
    )
    cancel = await shop.gql("ReturnCancel", {"id": ret_id})
    assert cancel["data"]["returnCancel"] == {
        "return": None,
        "userErrors": [{"field": ["id"], "message": "Return is not cancelable.", "code": "INVALID_STATE"}],
    }
    missing = await shop.gql("ReturnClose", {"id": "gid://shopify/Return/999999"})
    assert missing["data"]["returnClose"]["userErrors"] == [
        {"field": ["id"], "message": "Return not found.", "code": "NOT_FOUND"}
    ]


async def test_dispose_validation(shop: Shop) -> None:
    created = await shop.create_return()
    line_id = _rfo(created)["lineItems"]["nodes"][0]["id"]

    async def dispose(inputs: list[dict[str, Any]]) -> dict[str, Any]:
        body = await shop.gql("ReverseFulfillmentOrderDispose", {"dispositionInputs": inputs})
        payload: dict[str, Any] = body["data"]["reverseFulfillmentOrderDispose"]
        return payload

    empty = await dispose([])
    assert empty == {
        "reverseFulfillmentOrderLineItems": None,
        "userErrors": [{"field": ["dispositionInputs"], "message": "The array cannot be empty.", "code": "BLANK"}],
    }
    unknown = await dispose(
        [
            {
                "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/1",
                "quantity": 1,
                "dispositionType": "MISSING",
            }
        ]
    )
    assert unknown["userErrors"][0]["message"] == "Cannot dispose items from more than one reverse fulfillment order."
    bad_location = await dispose(
        [
            {
                "reverseFulfillmentOrderLineItemId": line_id,
                "quantity": 1,
                "locationId": "gid://shopify/Location/1",
                "dispositionType": "RESTOCKED",
            }
        ]
    )
    assert bad_location["userErrors"] == [
        {
            "field": ["dispositionInputs", "0", "locationId"],
            "message": "Location not found.",
            "code": "NOT_FOUND",
        }
    ]
    no_location = await dispose(
        [{"reverseFulfillmentOrderLineItemId": line_id, "quantity": 1, "dispositionType": "RESTOCKED"}]
    )
    assert no_location == {  # a restock names where the units go
        "reverseFulfillmentOrderLineItems": None,
        "userErrors": [
            {"field": ["dispositionInputs", "0", "locationId"], "message": "Location not found.", "code": "NOT_FOUND"}
        ],
    }
    wrong_type = await shop.gql(
        "ReverseFulfillmentOrderDispose",
        {
            "dispositionInputs": [
                {
                    "reverseFulfillmentOrderLineItemId": shop.order_id,
                    "quantity": 1,
                    "dispositionType": "MISSING",
                }
            ]
        },
    )
    assert wrong_type["data"]["reverseFulfillmentOrderDispose"] is None
    assert wrong_type["errors"][0]["extensions"]["code"] == "RESOURCE_NOT_FOUND"
    assert wrong_type["errors"][0]["message"] == f"Invalid id: {shop.order_id}"

    # Other dispositions never touch available stock.
    before = shop.store.stock(shop.domain, "TEE-M")
    ok = await dispose(
        [
            {
                "reverseFulfillmentOrderLineItemId": line_id,
                "quantity": 1,
                "dispositionType": "PROCESSING_REQUIRED",
            }
        ]
    )
    assert ok["userErrors"] == []
    assert shop.store.stock(shop.domain, "TEE-M") == before


async def test_reverse_delivery_unknown_rfo(shop: Shop) -> None:
    body = await shop.gql(
        "ReverseDeliveryCreate",
        {"rfoId": "gid://shopify/ReverseFulfillmentOrder/1", "tracking": {"number": "X"}, "lines": []},
    )
    assert body["data"]["reverseDeliveryCreateWithShipping"] == {
        "reverseDelivery": None,
        "userErrors": [
            {
                "field": ["reverseFulfillmentOrderId"],
                "message": "Reverse fulfillment order was not found.",
                "code": "NOT_FOUND",
            }
        ],
    }


async def test_order_link_set_metafields_and_tags(shop: Shop) -> None:
    variables: dict[str, Any] = {
        "orderId": shop.order_id,
        "tags": ["rebound", "rebound-return"],
        "metafields": [
            {
                "ownerId": shop.order_id,
                "namespace": "rebound",
                "key": "return",
                "type": "json",
                "value": '{"id":"R-1"}',
            }
        ],
    }
    first = await shop.gql("OrderLinkSet", variables)
    assert first["data"]["metafieldsSet"]["userErrors"] == [] and first["data"]["tagsAdd"]["userErrors"] == []
    variables["metafields"][0]["value"] = '{"id":"R-1","status":"refunded"}'
    variables["tags"] = ["Rebound", "rebound-refunded"]
    await shop.gql("OrderLinkSet", variables)
    order = await shop.order()
    assert order["tags"] == ["rebound", "rebound-refunded", "rebound-return"]
    assert order["metafield"]["value"] == '{"id":"R-1","status":"refunded"}'
    assert order["metafield"]["id"] == first["data"]["metafieldsSet"]["metafields"][0]["id"]  # upsert, same id
