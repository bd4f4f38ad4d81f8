"""The client reads the userErrors of every mutation a document sends, not only the first one's."""

from __future__ import annotations

import httpx
import pytest

from engine.errors import ShopifyUserError
from engine.shopify.client import ShopConnection, ShopifyClient


async def test_a_refused_second_mutation_in_one_document_is_an_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        data = {
            "metafieldsSet": {"metafields": [{"id": "gid://shopify/Metafield/1", "key": "k", "value": "{}"}],
                              "userErrors": []},
            "tagsAdd": {"userErrors": [{"field": ["tags"], "message": "Tags are limited to 250 per resource"}]},
        }  # fmt: skip
        bucket = {"maximumAvailable": 2000, "currentlyAvailable": 1980, "restoreRate": 100}
        cost = {"requestedQueryCost": 20, "actualQueryCost": 20, "throttleStatus": bucket}
        return httpx.Response(200, json={"data": data, "extensions": {"cost": cost}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = ShopifyClient(ShopConnection("shop.myshopify.com", "2026-07", "token", "https://shop"), http)
        with pytest.raises(ShopifyUserError) as err:
            await client.mutate("OrderLinkSet", "metafieldsSet", {"orderId": "o", "tags": [], "metafields": []})
    assert err.value.user_errors == [
        {"field": ["tags"], "message": "Tags are limited to 250 per resource", "mutation": "tagsAdd"}
    ]
    assert "tags: Tags are limited to 250 per resource" in str(err.value)
