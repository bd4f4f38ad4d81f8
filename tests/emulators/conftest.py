"""One emulator per test session (schemas build once); each test gets its own freshly seeded shop."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from emulators.shopify import OrderLineSeed, ShopifyEmulator

OPERATIONS = Path(__file__).resolve().parents[2] / "engine" / "shopify" / "operations"
TOKEN = "shpat_emulator_test"
LOC_A = "gid://shopify/Location/71001"
LOC_B = "gid://shopify/Location/71002"
_shop_numbers = itertools.count(1)


def operation(name: str) -> str:
    """The engine's real document, the contract the emulator must serve."""
    return (OPERATIONS / f"{name}.graphql").read_text()


@dataclass
class Shop:
    """A seeded shop: order #1001 with 2 x TEE-M at 24.95 and 1 x CAP at 10.00, plus 5.00 shipping."""

    emu: ShopifyEmulator
    http: httpx.AsyncClient
    domain: str
    order_id: str
    tee_item: str
    cap_item: str

    @property
    def store(self) -> Any:
        return self.emu.store

    async def post(self, body: Any, *, version: str = "2026-04", token: str = TOKEN) -> httpx.Response:
        return await self.http.post(
            self.emu.graphql_url(self.domain, version),
            json=body,
            headers={"X-Shopify-Access-Token": token},
        )

    async def gql(self, name: str, variables: dict[str, Any], *, version: str = "2026-04") -> dict[str, Any]:
        response = await self.post({"query": operation(name), "variables": variables}, version=version)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refund_create(self, refund_input: dict[str, Any], key: str, version: str = "2026-04") -> dict[str, Any]:
        """The engine's RefundCreate with an idempotency key; the payload (no top-level errors expected)."""
        body = await self.gql("RefundCreate", {"input": refund_input, "idempotencyKey": key}, version=version)
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["refundCreate"]
        return payload

    async def order(self) -> dict[str, Any]:
        """The order as the engine reads it: header/lines, then fulfillments, refunds and returns."""
        body = await self.gql("OrderForReturn", {"id": self.order_id, "metafieldKey": "return", "bonusKey": "bonus"})
        assert "errors" not in body, body
        order: dict[str, Any] = body["data"]["order"]
        for name in ("OrderFulfillments", "OrderRefunds", "OrderReturns"):
            part = await self.gql(name, {"id": self.order_id})
            assert "errors" not in part, part
            order.update(part["data"]["order"])
        return order

    async def create_return(self, sku: str = "TEE-M", quantity: int = 1, **extra: Any) -> dict[str, Any]:
        order = await self.order()
        line = next(li for li in order["lineItems"]["nodes"] if li["sku"] == sku)
        fli = next(
            f["id"]
            for ff in order["fulfillments"]
            for f in ff["fulfillmentLineItems"]["nodes"]
            if f["lineItem"]["id"] == line["id"]
        )
        item = {"fulfillmentLineItemId": fli, "quantity": quantity, **extra}
        if "returnReason" not in extra and "returnReasonDefinitionId" not in extra:
            item["returnReasonDefinitionId"] = "gid://shopify/ReturnReasonDefinition/7"
        return await self.gql("ReturnCreate", {"returnInput": {"orderId": self.order_id, "returnLineItems": [item]}})


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def emulator() -> AsyncIterator[ShopifyEmulator]:
    async with ShopifyEmulator() as emu:
        yield emu


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def shop(emulator: ShopifyEmulator, http: httpx.AsyncClient) -> Shop:
    domain = f"test-{next(_shop_numbers)}.myshopify.com"
    store = emulator.store
    store.add_shop(domain, access_token=TOKEN, currency="GBP", locations=[(LOC_A, "Warehouse"), (LOC_B, "Shop")])
    tee = store.add_product(domain, "TEE-M", stock={LOC_A: 3, LOC_B: 1})
    cap = store.add_product(domain, "CAP", stock={LOC_A: 0})
    order_id = store.add_order(
        domain,
        name="#1001",
        processed_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        lines=[OrderLineSeed("TEE-M", 2, Decimal("24.95")), OrderLineSeed("CAP", 1, Decimal("10.00"))],
        shipping=Decimal("5.00"),
    )
    return Shop(emulator, http, domain, order_id, tee, cap)
