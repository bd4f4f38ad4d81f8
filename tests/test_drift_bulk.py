"""Bulk operations in the Shopify emulator (shapes and user errors from the recorded captures) and the drift
monitor's bulk document and JSONL reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from graphql import StringValueNode, parse, validate
from graphql.language import ArgumentNode, visit
from graphql.language.visitor import Visitor

from emulators.shopify.bulk import validate_bulk_query
from emulators.shopify.schema import load_schema
from emulators.shopify.server import ShopifyEmulator
from emulators.shopify.store import OrderLineSeed
from engine.drift.shopify_source import parse_jsonl, run_bulk
from engine.shopify.client import ShopConnection, ShopifyClient
from engine.shopify.documents import document
from tests.test_shopify_documents import VERSIONS

SHOP = "bulk.myshopify.com"
MUTATION = "mutation Run($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { field message code } } }"  # noqa: E501


def inner_query() -> str:
    found: list[str] = []

    class Grab(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            if node.name.value == "query" and isinstance(node.value, StringValueNode) and "edges" in node.value.value:
                found.append(node.value.value)

    visit(parse(document("BulkOrdersForDrift")), Grab())
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_drift_bulk_query_is_valid_and_obeys_bulk_limits(version: str) -> None:
    text = inner_query()
    # The emulator serves Shopify's schema as recorded (test_vendored_schema_is_shopifys): one build serves both.
    schema = load_schema(version)
    assert validate(schema, parse(text)) == []
    assert validate_bulk_query(schema, text) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ orders { nodes { id } } }", "Selecting via 'nodes' is not supported. Invalid connection fields: 'orders'."),
        ('{ node(id: "gid://shopify/Product/0") { id } }', "Bulk queries cannot contain a top level `node` field."),
        ("{ shop { id } }", "Bulk queries must contain at least one connection."),
        ("", "Invalid bulk query: syntax error, unexpected end of file"),
        ('mutation { tagsAdd(id: "x", tags: ["a"]) { userErrors { message } } }', "Only `query` operations"),
        ("{ orders { edges { node { name returns { edges { node { id } } } } } } }", "Connection fields without 'id'"),
        (
            "{ orders { edges { node { id fulfillments { events { edges { node { id } } } } } } } }",
            "Queries that contain a connection field within a list field are not currently supported.",
        ),
    ],
)
def test_bulk_query_user_errors_follow_the_captures(query: str, message: str) -> None:
    errors = validate_bulk_query(load_schema("2026-04"), query)
    assert errors and message in errors[0]["message"], errors
    assert errors[0]["code"] == "INVALID" and errors[0]["field"] == ["query"]


def seeded(emu: ShopifyEmulator, orders: int) -> None:
    store = emu.store
    store.add_shop(SHOP, access_token="t", currency="GBP", locations=[("gid://shopify/Location/1", "DC")])
    store.add_product(SHOP, "TEE", stock={"gid://shopify/Location/1": 5})
    for n in range(orders):
        oid = store.add_order(
            SHOP, name=f"#{n}", processed_at=datetime.now(UTC) - timedelta(days=3),
            lines=[OrderLineSeed("TEE", 2, Decimal("10.00"))],
        )  # fmt: skip
        if n % 2 == 0:
            store.shop(SHOP).orders[oid].tags += ["rebound-return", f"rebound:R{n}"]
            store.refund_by_hand(SHOP, oid, {"TEE": 1}, Decimal("10.00"), note=f"[rebound-return:R{n}]")


async def test_bulk_operation_lifecycle_jsonl_and_concurrency_limit() -> None:
    async with ShopifyEmulator() as emu, httpx.AsyncClient() as http:
        seeded(emu, 6)
        client = ShopifyClient(ShopConnection(SHOP, "2026-04", "t", f"{emu.base_url}/shops/{SHOP}"), http)
        statuses: list[str] = []
        orders = await run_bulk(client, http, poll_seconds=0, on_poll=statuses.append)
        assert statuses == ["RUNNING", "COMPLETED"]
        assert sorted(o.name for o in orders) == ["#0", "#2", "#4"]
        assert all(len(o.refunds) == 1 and o.refunds[0].note.startswith("[rebound-return:") for o in orders)

        url = emu.graphql_url(SHOP, "2026-04")
        headers = {"X-Shopify-Access-Token": "t"}
        ids = []
        for _ in range(5):
            body = (
                await http.post(url, json={"query": MUTATION, "variables": {"q": inner_query()}}, headers=headers)
            ).json()
            ids.append(body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"])
        sixth = (
            await http.post(url, json={"query": MUTATION, "variables": {"q": inner_query()}}, headers=headers)
        ).json()
        error = sixth["data"]["bulkOperationRunQuery"]["userErrors"][0]
        assert error["code"] == "OPERATION_IN_PROGRESS" and error["field"] is None
        assert (
            error["message"]
            == f"A bulk query operation for this app and shop is already in progress: {', '.join(ids)}."
        )


def test_jsonl_children_follow_parents_in_either_order() -> None:
    parent = {"id": "gid://shopify/Order/1", "name": "#1", "tags": ["rebound-return"], "refunds": []}
    link = {"id": "gid://shopify/Metafield/2", "namespace": "rebound", "key": "return_R1",
            "value": json.dumps({"rebound_return_id": "R1"}), "__parentId": "gid://shopify/Order/1"}  # fmt: skip
    ret = {"id": "gid://shopify/Return/3", "name": "#1-R1", "status": "OPEN", "__parentId": "gid://shopify/Order/1"}
    for lines in ([parent, link, ret], [link, parent, ret]):
        (order,) = parse_jsonl(json.dumps(x) for x in lines)
        assert order.rebound_ids() == {"R1"} and [r.status for r in order.returns] == ["OPEN"]


async def test_orders_are_found_by_their_returns_and_linked_by_the_marker_in_their_notes() -> None:
    """No tag, no link metafield (before `received`): the order is found by its return (return_status) and linked
    to the Rebound return its lines' notes mark; an order whose only return is a person's (no marker) is left
    out, as is one with no return at all."""
    from emulators.shopify import returns as shopify_returns
    from emulators.shopify.reasons import REASON_DEFINITIONS

    async with ShopifyEmulator() as emu, httpx.AsyncClient() as http:
        seeded(emu, 0)
        store = emu.store
        shop = store.shop(SHOP)
        ids = {}
        for name, note in (("#marked", "Rebound R7: too small [rebound-return:R7]"), ("#persons", "called us"),
                           ("#none", None)):  # fmt: skip
            oid = store.add_order(SHOP, name=name, processed_at=datetime.now(UTC) - timedelta(days=3),
                                  lines=[OrderLineSeed("TEE", 1, Decimal("10.00"))])  # fmt: skip
            ids[name] = oid
            if note is not None:
                fli = shop.orders[oid].fulfillments[0].line_items[0].id
                line = {"fulfillmentLineItemId": fli, "quantity": 1, "returnReasonNote": note,
                        "returnReasonDefinitionId": REASON_DEFINITIONS[6].id}  # fmt: skip
                assert shopify_returns.create_return(store, shop, {"orderId": oid, "returnLineItems": [line]}).ok
        client = ShopifyClient(ShopConnection(SHOP, "2026-04", "t", f"{emu.base_url}/shops/{SHOP}"), http)
        orders = await run_bulk(client, http, poll_seconds=0)
        assert [o.name for o in orders] == ["#marked"]
        [order] = orders
        assert order.tags == [] and order.links == {} and order.rebound_ids() == {"R7"}
        assert order.return_of("R7") == shop.orders[ids["#marked"]].return_ids[0]


async def test_the_orders_search_follows_shopifys_syntax() -> None:
    """The emulator's orders(query:) for the terms the engine sends: OR between terms, AND (implicit or
    written) binding tighter, NOT and '-', parentheses, tag / tag_not / return_status / name."""
    async with ShopifyEmulator() as emu, httpx.AsyncClient() as http:
        seeded(emu, 4)  # #0 and #2 tagged rebound-return; none has a return
        url = emu.graphql_url(SHOP, "2026-04")
        headers = {"X-Shopify-Access-Token": "t"}

        async def names(query: str) -> list[str]:
            body = {"query": "query($q: String) { orders(first: 10, query: $q) { nodes { name } } }",
                    "variables": {"q": query}}  # fmt: skip
            data = (await http.post(url, json=body, headers=headers)).json()
            assert "errors" not in data, data
            return [n["name"] for n in data["data"]["orders"]["nodes"]]

        assert await names("tag:rebound-return") == ["#0", "#2"]
        assert await names("return_status:no_return") == ["#0", "#1", "#2", "#3"]
        assert await names("tag:rebound-return OR return_status:in_progress") == ["#0", "#2"]
        assert await names("tag:rebound-return name:#2 OR name:#3") == ["#2", "#3"]
        assert await names("tag:rebound-return AND (name:#2 OR name:#3)") == ["#2"]
        assert await names("-tag:rebound-return") == await names("tag_not:rebound-return") == ["#1", "#3"]
        assert await names("NOT tag:REBOUND-RETURN name:'#1'") == ["#1"]
