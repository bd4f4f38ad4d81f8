"""Exchanges (issue 21): exchange line items on returnCreate, priced against the returned lines
(suggestedFinancialOutcome), confirmed by returnProcess into their own fulfillment order (held AWAITING_PAYMENT only
when the customer owes), stock reserved, out-of-stock refusals, removeFromReturn, faults and cost.

Each test drives the engine's own documents (engine/shopify/operations) over HTTP and asserts Shopify's end state
as a client reads it through GraphQL; the store's summaries (``exchanges``, ``returns``) only where they are the
hook under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from emulators.shopify import OrderLineSeed, error_codes

from .conftest import LOC_A, LOC_B, Shop, operation

VERSION = "2026-07"
REASON = "gid://shopify/ReturnReasonDefinition/7"

ORDER_MONEY = """
query OrderMoney($id: ID!) {
  order(id: $id) {
    totalOutstandingSet { presentmentMoney { amount currencyCode } }
    fullyPaid
    transactions(first: 10) { kind gateway amountSet { presentmentMoney { amount } } }
    lineItems(first: 10) { nodes { id sku quantity fulfillableQuantity } }
  }
}
"""


@pytest.fixture(autouse=True)
def _no_faults_left(shop: Shop) -> Iterator[None]:
    yield
    shop.emu.faults.clear()


@pytest.fixture
def exchange_shop(shop: Shop) -> Shop:
    """The test shop plus variants to exchange into: cheaper, dearer, at the other location, out of stock."""
    store = shop.store
    store.add_product(shop.domain, "SOCKS", stock={LOC_B: 4}, price=Decimal("5.00"))
    store.add_product(shop.domain, "HOODIE-M", stock={LOC_A: 1}, price="59.00")
    store.add_product(shop.domain, "TEE-L", stock={LOC_A: 2, LOC_B: 1}, price="24.95")
    store.add_product(shop.domain, "TEE-XL", stock={LOC_A: 0}, price="24.95")
    return shop


# ---- helpers ------------------------------------------------------------------------------------------------
async def _gql(shop: Shop, name: str, variables: dict[str, Any], query: str | None = None) -> dict[str, Any]:
    body = {"query": query or operation(name), "variables": variables, "operationName": name}
    response = await shop.post(body, version=VERSION)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    assert "errors" not in reply, reply
    data: dict[str, Any] = reply["data"]
    return data


async def _variant(shop: Shop, sku: str) -> dict[str, Any]:
    nodes = (await _gql(shop, "VariantsBySku", {"query": f"sku:'{sku}'"}))["productVariants"]["nodes"]
    assert len(nodes) == 1, nodes
    node: dict[str, Any] = nodes[0]
    return node


async def _fli(shop: Shop, sku: str, order_id: str | None = None) -> str:
    order = shop.store.shop(shop.domain).orders[order_id or shop.order_id]
    line = next(li for li in order.line_items if li.sku == sku)
    return next(f.id for ff in order.fulfillments for f in ff.line_items if f.line_item_id == line.id)


async def _create(
    shop: Shop,
    returned: dict[str, int],
    exchanges: list[dict[str, Any]],
    order_id: str | None = None,
) -> dict[str, Any]:
    """ReturnCreate of {sku: qty} returned and exchange lines ({sku, quantity, ...extra}); the payload."""
    lines = [
        {"fulfillmentLineItemId": await _fli(shop, sku, order_id), "quantity": q, "returnReasonDefinitionId": REASON}
        for sku, q in returned.items()
    ]
    exchange_input = []
    for item in exchanges:
        entry = {k: v for k, v in item.items() if k != "sku"}
        if "sku" in item:
            entry["variantId"] = (await _variant(shop, item["sku"]))["id"]
        exchange_input.append(entry)
    return_input = {"orderId": order_id or shop.order_id, "returnLineItems": lines, "exchangeLineItems": exchange_input}
    payload: dict[str, Any] = (await _gql(shop, "ReturnCreate", {"returnInput": return_input, "withExchanges": True}))[
        "returnCreate"
    ]
    return payload


async def _read(shop: Shop, return_id: str) -> dict[str, Any]:
    ret: dict[str, Any] = (await _gql(shop, "ReturnForProcess", {"id": return_id}))["return"]
    return ret


async def _outcome(shop: Shop, ret: dict[str, Any], exchange_units: int | None = None) -> dict[str, Any]:
    """suggestedFinancialOutcome for every return line and exchange line of ``ret`` (the read), all units."""
    variables = {
        "id": ret["id"],
        "lines": [{"id": n["id"], "quantity": n["quantity"]} for n in ret["returnLineItems"]["nodes"]],
        "exchangeLines": [
            {"id": n["id"], "quantity": n["quantity"] if exchange_units is None else exchange_units}
            for n in ret["exchangeLineItems"]["nodes"]
        ],
        "refundShipping": None,
        "allocation": None,
    }
    transfer: dict[str, Any] = (await _gql(shop, "ReturnFinancialOutcome", variables))["return"][
        "suggestedFinancialOutcome"
    ]["financialTransfer"]
    return transfer


def _process_input(ret: dict[str, Any], exchange_units: int | None = None) -> dict[str, Any]:
    process: dict[str, Any] = {
        "returnId": ret["id"],
        "returnLineItems": [
            {"id": n["id"], "quantity": n["processableQuantity"]} for n in ret["returnLineItems"]["nodes"]
        ],
        "exchangeLineItems": [
            {"id": n["id"], "quantity": n["processableQuantity"] if exchange_units is None else exchange_units}
            for n in ret["exchangeLineItems"]["nodes"]
        ],
    }
    return process


async def _process(shop: Shop, process: dict[str, Any], refund: str | None = None) -> dict[str, Any]:
    if refund is not None:
        sale = next(t for t in shop.store.shop(shop.domain).orders[shop.order_id].transactions if t.kind == "SALE")
        money = {"amount": refund, "currencyCode": "GBP"}
        process["financialTransfer"] = {
            "issueRefund": {"orderTransactions": [{"transactionAmount": money, "parentId": sale.id}]}
        }
    payload: dict[str, Any] = (await _gql(shop, "ReturnProcess", {"input": process}))["returnProcess"]
    return payload


async def _fulfillment_orders(shop: Shop) -> list[dict[str, Any]]:
    order = (await _gql(shop, "OrderExchangeFulfillment", {"id": shop.order_id}))["order"]
    nodes: list[dict[str, Any]] = order["fulfillmentOrders"]["nodes"]
    return nodes


def _lines(fulfillment_order: dict[str, Any]) -> dict[str, int]:
    return {n["lineItem"]["sku"]: n["totalQuantity"] for n in fulfillment_order["lineItems"]["nodes"]}


def _available(shop: Shop, sku: str) -> dict[str, tuple[int, int]]:
    """(available, committed) per location."""
    return {loc: (q["available"], q["committed"]) for loc, q in shop.store.stock(shop.domain, sku).items()}


def _money(bag: dict[str, Any]) -> tuple[str, str]:
    return bag["presentmentMoney"]["amount"], bag["presentmentMoney"]["currencyCode"]


# ---- the variant by SKU ---------------------------------------------------------------------------------------
async def test_variants_by_sku_finds_the_variant_its_price_and_stock(exchange_shop: Shop) -> None:
    shop = exchange_shop
    socks = await _variant(shop, "SOCKS")
    assert socks["sku"] == "SOCKS" and socks["price"] == "5.00"
    levels = socks["inventoryItem"]["inventoryLevels"]["nodes"]
    assert [(n["location"]["id"], n["quantities"]) for n in levels] == [(LOC_B, [{"name": "available", "quantity": 4}])]
    bare = (await _gql(shop, "VariantsBySku", {"query": "sku:TEE-L"}))["productVariants"]["nodes"]
    assert [n["id"] for n in bare] == [(await _variant(shop, "TEE-L"))["id"]]
    # A SKU seeded by an order without a price takes the price it was sold at (shop money).
    assert (await _variant(shop, "TEE-M"))["price"] == "24.95"
    assert (await _gql(shop, "VariantsBySku", {"query": "sku:NOPE"}))["productVariants"]["nodes"] == []


# ---- returnCreate -----------------------------------------------------------------------------------------------
async def test_return_created_with_an_exchange_line_priced_and_processable(exchange_shop: Shop) -> None:
    shop = exchange_shop
    payload = await _create(shop, {"TEE-M": 1}, [{"sku": "TEE-L", "quantity": 1}])
    assert payload["userErrors"] == []
    [line] = payload["return"]["exchangeLineItems"]["nodes"]
    variant = await _variant(shop, "TEE-L")
    assert line["variantId"] == variant["id"]
    assert (line["quantity"], line["processableQuantity"], line["processedQuantity"]) == (1, 1, 0)
    read = await _read(shop, payload["return"]["id"])
    assert read["exchangeLineItems"]["nodes"] == [{**line, "lineItems": []}]  # no order line until processed
    # Priced at creation (an even swap: nothing either way), nothing reserved or fulfilled yet.
    assert await _outcome(shop, read) == {"__typename": "RefundReturnOutcome", "amount": {
        "presentmentMoney": {"amount": "0.0", "currencyCode": "GBP"}}}  # fmt: skip
    assert _available(shop, "TEE-L") == {LOC_A: (2, 0), LOC_B: (1, 0)}
    assert len(await _fulfillment_orders(shop)) == 1  # only the order's own


async def test_without_with_exchanges_the_create_payload_does_not_select_them(exchange_shop: Shop) -> None:
    """The engine's ReturnCreate asks for exchange lines only when it sends some (an empty connection costs)."""
    shop = exchange_shop
    line = {"fulfillmentLineItemId": await _fli(shop, "TEE-M"), "quantity": 1, "returnReasonDefinitionId": REASON}
    body = await _gql(shop, "ReturnCreate", {"returnInput": {"orderId": shop.order_id, "returnLineItems": [line]}})
    assert "exchangeLineItems" not in body["returnCreate"]["return"]


async def test_exchange_price_is_in_the_orders_presentment_currency_with_its_discount(exchange_shop: Shop) -> None:
    shop = exchange_shop
    order_id = shop.store.add_order(
        shop.domain,
        name="#2001",
        processed_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        lines=[OrderLineSeed("TEE-M", 1, Decimal("29.19"))],
        presentment_currency="EUR",
        exchange_rate="1.17",
    )
    discount = {"value": {"percentage": 10.0}, "description": "loyalty"}
    payload = await _create(
        shop, {"TEE-M": 1}, [{"sku": "HOODIE-M", "quantity": 1, "appliedDiscount": discount}], order_id
    )
    assert payload["userErrors"] == []
    [summary] = shop.store.exchanges(shop.domain, order_id)
    # 59.00 GBP at 1.17 = 69.03 EUR, less 10 % (6.90) = 62.13 EUR; the customer owes 62.13 - 29.19 = 32.94
    assert (summary["unit_price"], summary["currency"]) == (Decimal("62.13"), "EUR")
    transfer = await _outcome(shop, await _read(shop, payload["return"]["id"]))
    assert transfer == {"__typename": "InvoiceReturnOutcome", "amount": {
        "presentmentMoney": {"amount": "32.94", "currencyCode": "EUR"}}}  # fmt: skip


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"sku": "TEE-L", "quantity": 0}, (["quantity"], "GREATER_THAN")),
        ({"variantId": "gid://shopify/ProductVariant/999999", "quantity": 1}, (["variantId"], "NOT_FOUND")),
        ({"quantity": 1}, (["variantId"], "BLANK")),
        ({"sku": "TEE-L", "quantity": 1, "giftCardCodes": ["ABCD"]}, (["giftCardCodes"], "INVALID")),
        (
            {"sku": "TEE-L", "quantity": 1, "appliedDiscount": {"value": {"percentage": 120.0}}},
            (["appliedDiscount", "value", "percentage"], "LESS_THAN_OR_EQUAL_TO"),
        ),
        (
            {"sku": "TEE-L", "quantity": 1, "appliedDiscount": {"value": {"percentage": -1.0}}},
            (["appliedDiscount", "value", "percentage"], "GREATER_THAN_OR_EQUAL_TO"),
        ),
        (
            {"sku": "TEE-L", "quantity": 1, "appliedDiscount": {"value": {}}},
            (["appliedDiscount", "value"], "INVALID"),
        ),
        (
            {
                "sku": "TEE-L",
                "quantity": 1,
                "appliedDiscount": {"value": {"amount": {"amount": "1", "currencyCode": "USD"}}},
            },
            (["appliedDiscount", "value", "amount", "currencyCode"], "INVALID"),
        ),
        (
            {
                "sku": "TEE-L",
                "quantity": 1,
                "appliedDiscount": {"value": {"amount": {"amount": "30", "currencyCode": "GBP"}}},
            },
            (["appliedDiscount", "value", "amount", "amount"], "LESS_THAN_OR_EQUAL_TO"),
        ),
    ],
)
async def test_refused_exchange_lines_create_nothing(
    exchange_shop: Shop, item: dict[str, Any], error: tuple[list[str], str]
) -> None:
    shop = exchange_shop
    payload = await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}, item])
    assert payload["return"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["returnInput", "exchangeLineItems", "1", *error[0]], error[1])
    ]
    assert shop.store.returns(shop.domain, shop.order_id) == []


# ---- suggestedFinancialOutcome ------------------------------------------------------------------------------
async def test_outcome_nets_the_exchange_against_the_returned_lines(exchange_shop: Shop) -> None:
    shop = exchange_shop
    cheaper = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    transfer = await _outcome(shop, cheaper)
    assert transfer["__typename"] == "RefundReturnOutcome" and _money(transfer["amount"]) == ("19.95", "GBP")
    dearer = await _read(
        shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "HOODIE-M", "quantity": 1}]))["return"]["id"]
    )
    transfer = await _outcome(shop, dearer)
    assert transfer["__typename"] == "InvoiceReturnOutcome" and _money(transfer["amount"]) == ("34.05", "GBP")
    # Without the exchange line (0 units asked) the returned line is refunded whole.
    transfer = await _outcome(shop, dearer, exchange_units=0)
    assert transfer["__typename"] == "RefundReturnOutcome" and _money(transfer["amount"]) == ("24.95", "GBP")


async def test_outcome_for_an_exchange_line_of_another_return_is_an_error(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, []))["return"]["id"])
    other = await _read(shop, (await _create(shop, {"CAP": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    ret["exchangeLineItems"] = other["exchangeLineItems"]
    variables = {
        "id": ret["id"],
        "lines": [],
        "exchangeLines": [{"id": n["id"], "quantity": 1} for n in ret["exchangeLineItems"]["nodes"]],
    }
    response = await shop.post({"query": operation("ReturnFinancialOutcome"), "variables": variables}, version=VERSION)
    assert [e["message"] for e in response.json()["errors"]] == ["Exchange line item was not found."]


# ---- returnProcess ------------------------------------------------------------------------------------------
async def test_processing_a_cheaper_exchange_opens_its_fulfillment_order_and_reserves_stock(
    exchange_shop: Shop,
) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    payload = await _process(shop, _process_input(ret), refund="19.95")
    assert payload["userErrors"] == []
    assert _money(payload["return"]["refunds"]["nodes"][0]["totalRefundedSet"]) == ("19.95", "GBP")

    seeded, exchange = await _fulfillment_orders(shop)
    assert seeded["status"] == "CLOSED" and _lines(seeded) == {"TEE-M": 2, "CAP": 1}  # shipped long ago
    assert exchange["status"] == "OPEN" and exchange["fulfillmentHolds"] == []
    assert _lines(exchange) == {"SOCKS": 1}
    # SOCKS is only stocked at the shop (LOC_B): the unit is committed there.
    assert _available(shop, "SOCKS") == {LOC_B: (3, 1)}

    after = await _read(shop, ret["id"])
    [line] = after["exchangeLineItems"]["nodes"]
    assert (line["processedQuantity"], line["processableQuantity"]) == (1, 0)
    assert [li["sku"] for li in line["lineItems"]] == ["SOCKS"]
    order = (await _gql(shop, "OrderMoney", {"id": shop.order_id}, ORDER_MONEY))["order"]
    added = next(li for li in order["lineItems"]["nodes"] if li["id"] == line["lineItems"][0]["id"])
    assert (added["quantity"], added["fulfillableQuantity"]) == (1, 1)  # on the same order, to ship
    assert _money(order["totalOutstandingSet"]) == ("0.0", "GBP") and order["fullyPaid"] is True
    assert shop.store.returns(shop.domain, shop.order_id)[0]["exchanged"] == {"SOCKS": 1}
    [summary] = shop.store.exchanges(shop.domain, shop.order_id)
    assert (summary["fulfillment_order_id"], summary["fulfillment_order_status"], summary["holds"]) == (
        exchange["id"], "OPEN", [])  # fmt: skip


async def test_a_dearer_exchange_is_held_until_the_customer_pays(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "HOODIE-M", "quantity": 1}]))["return"]["id"])
    payload = await _process(shop, _process_input(ret))
    assert payload["userErrors"] == [] and payload["return"]["refunds"]["nodes"] == []
    _, exchange = await _fulfillment_orders(shop)
    assert exchange["status"] == "ON_HOLD" and exchange["fulfillmentHolds"] == [{"reason": "AWAITING_PAYMENT"}]
    assert _lines(exchange) == {"HOODIE-M": 1}
    assert _available(shop, "HOODIE-M") == {LOC_A: (0, 1)}
    order = (await _gql(shop, "OrderMoney", {"id": shop.order_id}, ORDER_MONEY))["order"]
    assert _money(order["totalOutstandingSet"]) == ("34.05", "GBP") and order["fullyPaid"] is False

    assert shop.store.pay_exchange_balance(shop.domain, shop.order_id) == Decimal("34.05")
    _, exchange = await _fulfillment_orders(shop)
    assert exchange["status"] == "OPEN" and exchange["fulfillmentHolds"] == []
    order = (await _gql(shop, "OrderMoney", {"id": shop.order_id}, ORDER_MONEY))["order"]
    assert _money(order["totalOutstandingSet"]) == ("0.0", "GBP") and order["fullyPaid"] is True
    assert [(t["kind"], t["gateway"], t["amountSet"]["presentmentMoney"]["amount"]) for t in order["transactions"]][
        -1
    ] == ("SALE", "shopify_payments", "34.05")
    assert shop.store.pay_exchange_balance(shop.domain, shop.order_id) == Decimal("0")  # nothing owed any more


async def test_an_exchange_out_of_stock_is_refused_and_nothing_changes(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "TEE-XL", "quantity": 1}]))["return"]["id"])
    payload = await _process(shop, _process_input(ret), refund="0.01")
    assert payload["return"] is None
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["input", "exchangeLineItems", "0", "quantity"], "LESS_THAN_OR_EQUAL_TO")
    assert "TEE-XL" in error["message"]
    assert await _read(shop, ret["id"]) == ret  # nothing processed, no refund
    assert len(await _fulfillment_orders(shop)) == 1
    assert _available(shop, "TEE-XL") == {LOC_A: (0, 0)}
    assert shop.store.refunds(shop.domain, shop.order_id) == []

    # The way out: drop the exchange, then refund the returned line alone.
    [line] = ret["exchangeLineItems"]["nodes"]
    removed = (await _gql(shop, "ExchangeLinesRemove", {"returnId": ret["id"], "lines": [
        {"exchangeLineItemId": line["id"], "quantity": 1}]}))["removeFromReturn"]  # fmt: skip
    assert removed["userErrors"] == [] and removed["return"]["exchangeLineItems"]["nodes"] == []
    payload = await _process(shop, _process_input(await _read(shop, ret["id"])), refund="24.95")
    assert payload["userErrors"] == [] and len(await _fulfillment_orders(shop)) == 1


async def test_exchange_items_ship_from_the_location_that_can_supply_them(exchange_shop: Shop) -> None:
    shop = exchange_shop  # TEE-L: 2 at the warehouse (LOC_A), 1 at the shop (LOC_B)
    ret = await _read(shop, (await _create(shop, {"TEE-M": 2}, [{"sku": "TEE-L", "quantity": 2}]))["return"]["id"])
    assert (await _process(shop, _process_input(ret)))["userErrors"] == []
    assert _available(shop, "TEE-L") == {LOC_A: (0, 2), LOC_B: (1, 0)}


async def test_processing_an_exchange_twice_is_refused_the_second_time(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "TEE-L", "quantity": 1}]))["return"]["id"])
    exchange_only = {"returnId": ret["id"], "exchangeLineItems": [
        {"id": ret["exchangeLineItems"]["nodes"][0]["id"], "quantity": 1}]}  # fmt: skip
    assert (await _process(shop, _process_input(ret)))["userErrors"] == []
    again = await _process(shop, dict(exchange_only))
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [
        (["input", "exchangeLineItems", "0", "quantity"], "INVALID")
    ]
    assert len(await _fulfillment_orders(shop)) == 2
    assert _available(shop, "TEE-L") == {LOC_A: (1, 1), LOC_B: (1, 0)}
    unknown = await _process(shop, {"returnId": ret["id"], "exchangeLineItems": [
        {"id": "gid://shopify/ExchangeLineItem/1", "quantity": 1}]})  # fmt: skip
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [
        (["input", "exchangeLineItems", "0", "id"], "NOT_FOUND")
    ]


async def test_remove_from_return_takes_only_unprocessed_exchange_units(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 2}, [{"sku": "SOCKS", "quantity": 3}]))["return"]["id"])
    line_id = ret["exchangeLineItems"]["nodes"][0]["id"]

    async def remove(quantity: int, line: str = line_id) -> dict[str, Any]:
        variables = {"returnId": ret["id"], "lines": [{"exchangeLineItemId": line, "quantity": quantity}]}
        payload: dict[str, Any] = (await _gql(shop, "ExchangeLinesRemove", variables))["removeFromReturn"]
        return payload

    first = await remove(1)
    assert first["userErrors"] == []
    assert first["return"]["exchangeLineItems"]["nodes"] == [{"id": line_id, "quantity": 3, "processableQuantity": 2}]
    assert (await _process(shop, _process_input(await _read(shop, ret["id"]), exchange_units=1)))["userErrors"] == []
    refused = await remove(2)  # 1 processed, 1 left: 2 cannot go
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["exchangeLineItems", "0", "quantity"], "INVALID")
    ]
    assert [(e["field"], e["code"]) for e in (await remove(1, "gid://shopify/ExchangeLineItem/1"))["userErrors"]] == [
        (["exchangeLineItems", "0", "exchangeLineItemId"], "NOT_FOUND")
    ]
    last = await remove(1)
    assert last["userErrors"] == []  # still listed: a unit of it was processed
    assert last["return"]["exchangeLineItems"]["nodes"] == [{"id": line_id, "quantity": 3, "processableQuantity": 0}]
    summary = shop.store.exchanges(shop.domain, shop.order_id)[0]
    assert (summary["quantity"], summary["processed"], summary["removed"]) == (3, 1, 2)


async def test_refunding_an_unshipped_exchange_item_releases_its_stock(exchange_shop: Shop) -> None:
    """Cancelling the exchange item after processing (a refund with a CANCEL restock) gives the committed unit back
    to available where it was reserved, and its fulfillment order has nothing left to ship."""
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    assert (await _process(shop, _process_input(ret)))["userErrors"] == []
    added = (await _read(shop, ret["id"]))["exchangeLineItems"]["nodes"][0]["lineItems"][0]["id"]
    refund = {
        "orderId": shop.order_id,
        "refundLineItems": [{"lineItemId": added, "quantity": 1, "restockType": "CANCEL", "locationId": LOC_B}],
    }
    assert (await shop.refund_create(refund, "exchange-cancel-1"))["userErrors"] == []
    assert _available(shop, "SOCKS") == {LOC_B: (4, 0)}
    assert [fo["status"] for fo in await _fulfillment_orders(shop)] == ["CLOSED", "CLOSED"]


async def test_control_endpoints_price_a_product_and_pay_the_balance(exchange_shop: Shop) -> None:
    """The JSON control API mirrors the store hooks: a product's price, the customer paying, the state dump."""
    shop = exchange_shop
    base = f"{shop.emu.base_url}/__emulator/shops/{shop.domain}"
    made = await shop.http.post(f"{base}/products", json={"sku": "SCARF", "stock": {LOC_A: 2}, "price": "40.00"})
    assert made.status_code == 200 and (await _variant(shop, "SCARF"))["price"] == "40.00"
    ret = await _read(shop, (await _create(shop, {"CAP": 1}, [{"sku": "SCARF", "quantity": 1}]))["return"]["id"])
    assert (await _process(shop, _process_input(ret)))["userErrors"] == []
    paid = await shop.http.post(f"{base}/exchange-payments", json={"orderId": shop.order_id, "gateway": "manual"})
    assert paid.status_code == 200 and paid.json() == {"paid": "30.0"}  # 40.00 less the 10.00 cap returned
    state = (await shop.http.get(f"{base}/state")).json()
    [order] = [o for o in state["orders"] if o["id"] == shop.order_id]
    [exchange] = order["exchanges"]
    assert (exchange["sku"], exchange["processed"], exchange["fulfillment_order_status"]) == ("SCARF", 1, "OPEN")
    assert order["outstanding"] == "0.0" and order["returns"][0]["exchanged"] == {"SCARF": 1}


# ---- faults -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lost_response", "http_500_after_commit"])
async def test_a_lost_answer_to_return_process_commits_the_exchange_once(exchange_shop: Shop, kind: Any) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "HOODIE-M", "quantity": 1}]))["return"]["id"])
    process = _process_input(ret)
    shop.emu.faults.fail_next(kind, operation="ReturnProcess")
    body = {"query": operation("ReturnProcess"), "variables": {"input": process}, "operationName": "ReturnProcess"}
    response = await shop.post(body, version=VERSION)
    assert response.status_code in (500, 502)
    commits = shop.emu.faults.commits.get("ReturnProcess", 0)
    # The client retries: Shopify says it is done (nothing left to process), and nothing is written twice.
    retry = await _process(shop, dict(process))
    assert {e["code"] for e in retry["userErrors"]} == {"INVALID"}
    assert shop.emu.faults.commits.get("ReturnProcess", 0) == commits
    fulfillment_orders = await _fulfillment_orders(shop)
    assert [fo["status"] for fo in fulfillment_orders] == ["CLOSED", "ON_HOLD"]
    assert _available(shop, "HOODIE-M") == {LOC_A: (0, 1)}
    assert [e["processed"] for e in shop.store.exchanges(shop.domain, shop.order_id)] == [1]


async def test_read_timeout_on_return_process_leaves_the_exchange_processed(exchange_shop: Shop) -> None:
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    before = shop.emu.faults.timeout_seconds
    shop.emu.faults.configure(timeout_seconds=0.05)
    shop.emu.faults.fail_next("read_timeout", operation="ReturnProcess")
    body = {"query": operation("ReturnProcess"), "variables": {"input": _process_input(ret)}}
    try:
        assert (await shop.post(body, version=VERSION)).status_code == 504
    finally:
        shop.emu.faults.configure(timeout_seconds=before)
    after = await _read(shop, ret["id"])
    assert after["exchangeLineItems"]["nodes"][0]["processedQuantity"] == 1
    assert len(await _fulfillment_orders(shop)) == 2


async def test_a_person_processing_the_exchange_first_makes_ours_refused(exchange_shop: Shop) -> None:
    """manual_refund before a ReturnProcess: staff did the same processing in the admin (exchange included)."""
    shop = exchange_shop
    ret = await _read(shop, (await _create(shop, {"TEE-M": 1}, [{"sku": "SOCKS", "quantity": 1}]))["return"]["id"])
    shop.emu.faults.fail_next("manual_refund", operation="ReturnProcess")
    ours = await _process(shop, _process_input(ret), refund="19.95")
    assert ours["return"] is None and {e["code"] for e in ours["userErrors"]} == {"INVALID"}
    [refund] = (await _read(shop, ret["id"]))["refunds"]["nodes"]
    assert refund["staffMember"] is not None and _money(refund["totalRefundedSet"]) == ("19.95", "GBP")
    assert [fo["status"] for fo in await _fulfillment_orders(shop)] == ["CLOSED", "OPEN"]
    assert _available(shop, "SOCKS") == {LOC_B: (3, 1)}


# ---- cost and error codes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "variables", "requested"),
    [
        # productVariants(first: 10): 2 + 4 x (variant 1 + inventoryItem 1 + levels(first: 10): 2 + 4 x 3) = 66
        ("VariantsBySku", {"query": "sku:SOCKS"}, 66),
        # order 1 + fulfillmentOrders(first: 20): 2 + 5 x (1 + holds 1 + lineItems(first: 50): 2 + 7 x 2) = 93
        ("OrderExchangeFulfillment", {"id": None}, 93),
        # a mutation 10, its return free, exchangeLineItems(first: 50): 2 + 7 x 1, userErrors free = 19
        ("ExchangeLinesRemove", {"returnId": "gid://shopify/Return/1", "lines": []}, 19),
    ],
)
async def test_the_new_documents_cost_what_the_schema_rules_say(
    exchange_shop: Shop, name: str, variables: dict[str, Any], requested: int
) -> None:
    shop = exchange_shop
    variables = {k: shop.order_id if v is None else v for k, v in variables.items()}
    response = await shop.post({"query": operation(name), "variables": variables}, version=VERSION)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    assert response.json()["extensions"]["cost"]["requestedQueryCost"] == requested


def test_every_exchange_refusal_code_is_a_chosen_one_with_its_reason() -> None:
    """Codes no recording shows are written down with why (error_codes.CHOSEN; test_error_codes checks branches)."""
    assert {"BLANK", "NOT_FOUND", "INVALID", "GREATER_THAN_OR_EQUAL_TO", "LESS_THAN_OR_EQUAL_TO"} <= set(
        error_codes.CHOSEN["returnCreate"]
    )
    assert "exchange" in error_codes.CHOSEN["returnProcess"]["LESS_THAN_OR_EQUAL_TO"]
    assert "exchange" in error_codes.CHOSEN["returnProcess"]["INVALID"]
    assert {"NOT_FOUND", "INVALID"} <= set(error_codes.CHOSEN["removeFromReturn"])
