"""Query cost, the per-shop bucket by plan, THROTTLED and MAX_COST_EXCEEDED as Shopify shapes them; faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.shopify.cost import PLANS, Bucket, Plan
from emulators.shopify.executor import run_graphql
from engine.shopify.plans import RESTORE_RATES

from .conftest import Shop, operation

DOCS = "https://shopify.dev/api/usage/rate-limits"


@pytest.fixture(autouse=True)
def clean_faults(shop: Shop) -> Iterator[None]:
    yield
    shop.emu.faults.clear()


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_plan_presets_restore_rates_and_bucket_sizes() -> None:
    assert {name: (p.restore_rate, p.maximum_available) for name, p in PLANS.items()} == {
        "standard": (100, 2000),
        "advanced": (200, 4000),
        "plus": (1000, 20000),
        "enterprise": (2000, 40000),
    }


def test_the_engine_and_the_emulator_agree_on_every_plans_restore_rate() -> None:
    """A mapping's plan sets both the engine's dispatch rate and, in the demo and tests, the emulated bucket."""
    assert {name: p.restore_rate for name, p in PLANS.items()} == RESTORE_RATES


def test_bucket_leaks_at_the_plan_rate_and_never_overflows() -> None:
    clock = FakeClock()
    bucket = Bucket(PLANS["advanced"], now=clock)
    assert bucket.try_take(4000) and not bucket.try_take(1)
    clock.t += 0.5
    assert bucket.status()["currentlyAvailable"] == 0
    bucket.refill()
    assert bucket.status() == {"maximumAvailable": 4000, "currentlyAvailable": 100, "restoreRate": 200}
    clock.t += 3600
    bucket.refill()
    assert bucket.status()["currentlyAvailable"] == 4000
    assert bucket.throttled == 1


async def test_every_response_carries_cost_and_the_plan(shop: Shop) -> None:
    shop.emu.set_plan(shop.domain, "plus")
    body = await shop.gql("FindOrderByName", {"query": "name:#1001"})
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 20000 and status["restoreRate"] == 1000
    assert status["currentlyAvailable"] == 20000 - cost["actualQueryCost"]


async def test_mutation_costs_ten_and_requested_is_refunded_down_to_actual(shop: Shop) -> None:
    body = await shop.gql("OrderForReturn", {"id": shop.order_id, "metafieldKey": "x1", "bonusKey": "x2"})
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] < cost["requestedQueryCost"]  # first: 50 lines asked, 2 returned
    closed = await shop.gql("ReturnClose", {"id": "gid://shopify/Return/999999"})
    assert closed["extensions"]["cost"]["requestedQueryCost"] == 10


async def test_throttled_has_shopifys_shape_and_charges_nothing(shop: Shop) -> None:
    shop.emu.set_plan(shop.domain, Plan.custom(restore_rate=1, maximum_available=5))
    first = await shop.gql("FindOrderByName", {"query": "name:#1001"})
    requested = first["extensions"]["cost"]["requestedQueryCost"]
    # connection 2 + a page of 2 charged as 1 node (cost.connection_factor); one order found, nothing refunded:
    # the bucket keeps 2, less than 3
    assert requested == 3
    second = await shop.gql("FindOrderByName", {"query": "name:#1001"})
    assert "data" not in second
    assert second["errors"] == [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": DOCS}}]
    cost = second["extensions"]["cost"]
    assert cost["requestedQueryCost"] == requested and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["maximumAvailable"] == 5 and cost["throttleStatus"]["restoreRate"] == 1
    left = cost["throttleStatus"]["currentlyAvailable"]
    assert left < requested
    assert shop.emu.bucket(shop.domain).throttled == 1
    plan = (await shop.http.get(f"{shop.emu.base_url}/__emulator/shops/{shop.domain}/plan")).json()
    assert plan["throttled"] == 1 and plan["throttleStatus"]["currentlyAvailable"] in (left, left + 1)


async def test_max_cost_exceeded_above_1000_before_any_charge(shop: Shop) -> None:
    # Page factors multiply (250 -> 11): 2 + 11 x (1 + 13 + 2 + 11 x (1 + 13)) = 1872. Two levels of 250 cost
    # only 156, the recorded ReturnLifecycleHydrate (three levels of 250) 978.
    query = (
        "query Big { orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } "
        "fulfillmentOrders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } } } }"
    )
    body = (await shop.post({"query": query})).json()
    [error] = body["errors"]
    assert "data" not in body
    assert (
        error["message"].startswith("Query cost is ")
        and "exceeds the single query max cost limit (1000)" in (error["message"])
    )
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED" and error["extensions"]["maxCost"] == 1000
    assert error["extensions"]["cost"] == 1872
    status = body["extensions"]["cost"]["throttleStatus"]
    assert status["currentlyAvailable"] == status["maximumAvailable"]  # nothing charged


def test_cost_model_counts_connections_by_page_size() -> None:
    from emulators.shopify import ShopifyStore

    store = ShopifyStore()
    store.add_shop("c.myshopify.com", access_token="t")
    bucket = Bucket()
    reply = run_graphql(
        store, "c.myshopify.com", "2026-04", bucket, "{ orders(first: 10) { nodes { id name } } }", None, None
    )
    # connection 2 + a page of 10 charged as 4 nodes x 1 object each (recorded: locations(first: 10) costs 6)
    assert reply.body["extensions"]["cost"]["requestedQueryCost"] == 6
    assert reply.body["extensions"]["cost"]["actualQueryCost"] == 2  # no orders: the connection's 2 only


async def test_documents_that_do_not_validate_are_refused_per_version(shop: Shop) -> None:
    # @idempotent exists from 2026-01; an unknown field is refused with Shopify's validation shape.
    bad = await shop.post({"query": "{ shop { noSuchField } }"})
    [error] = bad.json()["errors"]
    assert error["extensions"]["code"] == "undefinedField" and "noSuchField" in error["message"]
    for version in ("2026-04", "2026-07"):
        ok = await shop.post({"query": operation("FindOrderByName"), "variables": {"query": "x"}}, version=version)
        assert "errors" not in ok.json()


@pytest.mark.parametrize("kind,status", [("http_500", 500), ("http_502", 502), ("http_503", 503), ("error", 503)])
async def test_http_faults_execute_nothing(shop: Shop, kind: Any, status: int) -> None:
    shop.emu.faults.fail_next(kind)
    response = await shop.post({"query": "{ shop { name } }"})
    assert response.status_code == status
    assert shop.emu.faults.injected == [kind]


async def test_faults_per_operation_leave_other_operations_alone(shop: Shop) -> None:
    shop.emu.faults.configure(operation="ReturnClose", http_503_rate=1.0)
    ok = await shop.gql("FindOrderByName", {"query": "name:#1001"})
    assert "errors" not in ok
    refused = await shop.post(
        {"query": operation("ReturnClose"), "variables": {"id": "x"}, "operationName": "ReturnClose"}
    )
    assert refused.status_code == 503
    assert shop.emu.faults.injected_by_operation[("ReturnClose", "http_503")] == 1
    described = shop.emu.faults.describe()
    assert described["perOperation"] == {"ReturnClose": {"http_503_rate": 1.0}}


async def test_throttled_fault_uses_the_real_bucket_status(shop: Shop) -> None:
    shop.emu.faults.fail_next("throttled")
    body = (await shop.post({"query": "{ shop { name } }"})).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


async def test_slow_and_read_timeout_faults(shop: Shop) -> None:
    shop.emu.faults.configure(slow_seconds=0.3, timeout_seconds=0.3)
    shop.emu.faults.fail_next("slow")
    import time

    started = time.monotonic()
    slow = await shop.post({"query": "{ shop { name } }"})
    assert slow.status_code == 200 and time.monotonic() - started >= 0.3
    shop.emu.faults.fail_next("read_timeout", operation="ReturnClose")  # only a committed ReturnClose
    read = await shop.post({"query": "{ shop { name } }"})
    assert read.status_code == 200
    closed = await shop.create_return()
    assert closed["data"]["returnCreate"]["userErrors"] == []
    assert shop.emu.faults.injected == ["slow"]
    ret_id = closed["data"]["returnCreate"]["return"]["id"]
    late = await shop.post(
        {"query": operation("ReturnClose"), "variables": {"id": ret_id}, "operationName": "ReturnClose"}
    )
    assert late.status_code == 504  # ... the close committed, the answer never came
    assert [r["status"] for r in shop.store.returns(shop.domain, shop.order_id)] == ["CLOSED"]


async def test_connect_timeout_drops_the_connection_without_executing(shop: Shop) -> None:
    import httpx

    shop.emu.faults.configure(timeout_seconds=0.05)
    shop.emu.faults.fail_next("connect_timeout")
    with pytest.raises(httpx.RemoteProtocolError):
        await shop.create_return()
    assert shop.store.returns(shop.domain, shop.order_id) == []


async def test_manual_refund_fault_refunds_the_same_lines_by_hand_first(shop: Shop) -> None:
    order = await shop.order()
    tee = next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")
    sale = next(t for t in order["transactions"] if t["kind"] == "SALE")
    shop.emu.faults.fail_next("manual_refund", operation="RefundCreate")
    refund_input = {
        "orderId": shop.order_id,
        "refundLineItems": [{"lineItemId": tee["id"], "quantity": 2, "restockType": "NO_RESTOCK"}],
        "transactions": [
            {"orderId": shop.order_id, "parentId": sale["id"], "amount": "49.90", "gateway": sale["gateway"],
             "kind": "REFUND"}
        ],
    }  # fmt: skip
    body = (
        await shop.post(
            {
                "query": operation("RefundCreate"),
                "variables": {"input": refund_input, "idempotencyKey": "k-1"},
                "operationName": "RefundCreate",
            }
        )  # fmt: skip
    ).json()
    errors = body["data"]["refundCreate"]["userErrors"]
    assert errors == [  # ours meets the staff refund: nothing left to refund on that line
        {
            "field": ["refundLineItems", "0", "quantity"],
            "message": "Quantity cannot refund more items than were purchased",
        }
    ], body
    assert body["data"]["refundCreate"]["refund"] is None
    [staff] = shop.store.refunds(shop.domain, shop.order_id)
    assert staff["lines"] == {"TEE-M": 2} and "staff" in staff["note"]
