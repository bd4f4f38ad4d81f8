"""Parity with recorded Shopify, refunds and orders: seed equivalent state, send the recorded document and
variables (ids mapped to the seeded ones), compare the data shape, userErrors (message, field path, code) and status
transitions.

Each parity module keeps a ``COVERAGE`` list of its captures: the test that replays each one, or why it is not
replayed. ``test_every_relevant_capture_is_replayed_or_explained`` keeps the union complete."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from emulators.shopify import OrderLineSeed

from . import test_shopify_emu_parity_inventory as inventory_parity
from . import test_shopify_emu_parity_returns as returns_parity
from .conftest import TOKEN, Shop, operation
from .parity import CAPTURES, PARITY, H, capture, needs_captures, remap, request

pytestmark = needs_captures

COVERAGE: dict[str, str] = {
    f"{H}__2026-04__orders__refund-create-transactions-validation.json": PARITY,
    f"{H}__2026-04__orders__refund-create-attribution-validation.json": PARITY,
    f"{H}__2025-01__orders__refund-create-user-errors-and-quantities.json": PARITY
    + " (all four cases: userErrors, payload keys, order state unchanged; recorded on 2025-01, sent with @idempotent)",
    f"{H}__2025-01__orders__refund-create-full-parity.json": PARITY
    + " (seeded order = recorded hydrate; payload and downstream read equal after id mapping; sent with @idempotent)",
    f"{H}__2025-01__orders__refund-create-over-refund-user-errors.json": PARITY
    + " (userError, payload keys, downstream read unchanged; sent with @idempotent)",
    f"{H}__2025-01__orders__refund-create-partial-shipping-restock-parity.json": PARITY
    + " (shipping refund, RETURN restock to the location's stock, payload and downstream read; sent with @idempotent)",
    f"{H}__2025-01__orders__order-refund-fulfillment-usererror-no-code.json": PARITY
    + " (all seven top-level undefinedField errors: message, locations, path, extensions)",
    f"{H}__2026-04__orders__orderCancel-restock-refundMethod-parity.json": PARITY
    + " (orderCancel with restock and refundMethod: payload, order before/after, refund, fulfillment order, stock)",
}
RELEVANT = ("refund", "return", "reverse", "inventory")


def test_every_relevant_capture_is_replayed_or_explained() -> None:
    modules = [COVERAGE, returns_parity.COVERAGE, inventory_parity.COVERAGE]
    listed = [name for coverage in modules for name in coverage]
    assert len(listed) == len(set(listed)), "a capture is listed by two parity modules"
    relevant = sorted(p.name for p in CAPTURES.glob("*.json") if any(w in p.name.lower() for w in RELEVANT))
    assert sorted(listed) == relevant


async def _seed_cad_order(shop: Shop, gateway: str) -> tuple[str, str]:
    store = shop.store
    domain = f"parity-{shop.domain}"
    store.add_shop(domain, access_token=TOKEN, currency="CAD", locations=[("gid://shopify/Location/1", "W")])
    store.add_product(domain, "HERMES", stock={"gid://shopify/Location/1": 0})
    order_id = store.add_order(
        domain,
        name="#1499",
        processed_at=datetime(2026, 6, 1, tzinfo=UTC),
        lines=[OrderLineSeed("HERMES", 1, Decimal("10.00"), fulfilled=0)],
        gateway=gateway,
        currency="CAD",
    )
    shop.domain = domain
    order = await shop.gql("OrderForReturn", {"id": order_id, "metafieldKey": "aa", "bonusKey": "bb"})
    sale = order["data"]["order"]["transactions"][0]["id"]
    return order_id, sale


@pytest.mark.parametrize("case", ["invalidKind", "missingParent", "mismatchedGateway", "happyPath"])
async def test_refund_create_transactions_validation(shop: Shop, case: str) -> None:
    rec = capture(f"{H}__2026-04__orders__refund-create-transactions-validation.json")
    hydrate = rec["upstreamCalls"][0]["response"]["body"]["data"]["order"]
    recorded_order = rec[case]["variables"]["input"]["orderId"]
    recorded_sale = rec["upstreamCalls"][-1]["response"]["body"]["data"]["order"]["transactions"][0]["id"]
    if case != "happyPath":
        recorded_sale = hydrate["transactions"][0]["id"]
    order_id, sale = await _seed_cad_order(shop, "manual" if case == "happyPath" else "bogus-parent-gateway")
    variables = remap(rec[case]["variables"], {recorded_order: order_id, recorded_sale: sale})

    body = (await shop.post({"query": rec[case]["query"], "variables": variables})).json()
    got, want = body["data"]["refundCreate"], rec[case]["response"]["data"]["refundCreate"]

    assert got["userErrors"] == want["userErrors"]
    assert (got["refund"] is None) == (want["refund"] is None)
    assert got["order"]["displayFinancialStatus"] == want["order"]["displayFinancialStatus"]
    assert set(got) == set(want) and set(got["order"]) == set(want["order"])
    if want["refund"]:
        # the refund's gateway is the parent's whatever the input says ("manual")
        [tx] = got["refund"]["transactions"]["nodes"]
        [want_tx] = want["refund"]["transactions"]["nodes"]
        assert {k: tx[k] for k in ("kind", "status", "gateway")} == {
            k: want_tx[k] for k in ("kind", "status", "gateway")
        }
        assert got["refund"]["totalRefundedSet"]["shopMoney"] == want["refund"]["totalRefundedSet"]["shopMoney"]


@pytest.mark.parametrize("case", ["invalidInline", "invalidVariable"])
async def test_refund_create_attribution_validation(shop: Shop, case: str) -> None:
    rec = capture(f"{H}__2026-04__orders__refund-create-attribution-validation.json")
    document = rec[case].get("document") or rec[case]["query"]
    body = (await shop.post({"query": document, "variables": rec[case]["variables"]})).json()
    want = rec[case]["response"]["errors"]
    assert "data" not in body
    assert [e["message"] for e in body["errors"]] == [e["message"] for e in want]
    assert [e["extensions"]["code"] for e in body["errors"]] == [e["extensions"]["code"] for e in want]
    if case == "invalidInline":
        assert [e["path"] for e in body["errors"]] == [e["path"] for e in want]


async def test_refund_create_unknown_order(shop: Shop) -> None:
    rec = capture(f"{H}__2025-01__orders__refund-create-user-errors-and-quantities.json")
    # The file records variables and responses, not the document: the engine's own RefundCreate selects the
    # same payload fields. Deliberate difference: recorded on a pre-2026-04 contract without @idempotent; the
    # emulator serves 2026-04, which requires the key (the engine always sends one).
    variables = {**rec["unknownOrder"]["variables"], "idempotencyKey": "parity-unknown-order"}
    body = (await shop.post({"query": operation("RefundCreate"), "variables": variables})).json()
    got, want = body["data"]["refundCreate"], rec["unknownOrder"]["response"]["data"]["refundCreate"]
    assert got == {"refund": None, "order": None, "userErrors": want["userErrors"]}
    assert want["refund"] is None and want["order"] is None


# ---- 2025-01 refundCreate recordings -------------------------------------------------------------------
# These files record variables and responses, not the mutation document. The document is the draft proxy's
# RefundCreateParity request (draft-proxy-notes/parity-requests) plus `restocked`, which the recorded responses
# carry; the exact key comparison below proves the selection is the one Shopify answered.
REFUND_PARITY_DOCUMENT = """
mutation RefundCreateParity($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund {
      id
      note
      createdAt
      updatedAt
      totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 5) {
        nodes {
          id
          quantity
          restockType
          restocked
          lineItem { id title }
          subtotalSet { shopMoney { amount currencyCode } }
        }
      }
      transactions(first: 5) {
        nodes { id kind status gateway amountSet { shopMoney { amount currencyCode } } }
      }
    }
    order { id displayFinancialStatus totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
"""
# Deliberate difference: 2025-01 has no @idempotent directive at all (idempotency-by-version.txt: optional from
# 2026-01, required from 2026-04). The emulator serves 2026-04 only, so the recorded call is sent with the
# directive and a fresh key: a first use of a key behaves exactly like the keyless 2025-01 call.
TIMESTAMPS = ("createdAt", "updatedAt", "closedAt", "cancelledAt")


def _pair_ids(recorded: Any, got: Any, ids: dict[str, str]) -> dict[str, str]:
    """Walk a recorded response and the emulator's in step; each recorded GID maps to the emulator's."""
    if isinstance(recorded, dict) and isinstance(got, dict):
        for key, value in recorded.items():
            if key == "id" and isinstance(value, str) and isinstance(got.get(key), str):
                ids.setdefault(value, got[key])
            elif key in got:
                _pair_ids(value, got[key], ids)
    elif isinstance(recorded, list) and isinstance(got, list):
        for r, g in zip(recorded, got, strict=False):
            _pair_ids(r, g, ids)
    return ids


def _without_times(value: Any, times: list[str]) -> Any:
    """The value with timestamps replaced by a marker (collected in ``times``): the shop clock is not Shopify's."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in TIMESTAMPS and isinstance(item, str):
                times.append(item)
                out[key] = "<time>"
            else:
                out[key] = _without_times(item, times)
        return out
    if isinstance(value, list):
        return [_without_times(v, times) for v in value]
    return value


def _assert_same(got: Any, want: Any, ids: dict[str, str]) -> None:
    """Equal after mapping recorded ids to seeded ones; timestamps only need to be present together."""
    got_times: list[str] = []
    want_times: list[str] = []
    assert _without_times(got, got_times) == _without_times(remap(want, ids), want_times)
    assert all(t.endswith("Z") for t in got_times)


def _strip_presentment(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_presentment(v) for k, v in value.items() if k != "presentmentMoney"}
    if isinstance(value, list):
        return [_strip_presentment(v) for v in value]
    return value


def _seed_recorded_order(shop: Shop, hydrate: dict[str, Any]) -> str:
    """A CAD shop holding the recorded order as the hydrate read saw it (unfulfilled lines, one manual SALE,
    earlier refunds replayed as staff refunds). ``_refund_scenario`` checks it by sending the recorded hydrate
    query and comparing the whole answer."""
    store = shop.store
    domain = f"refund-parity-{shop.domain}"
    location = "gid://shopify/Location/1"
    store.add_shop(domain, access_token=TOKEN, currency="CAD", locations=[(location, "W")])
    lines = hydrate["lineItems"]["nodes"]
    for index in range(len(lines)):
        store.add_product(domain, f"SKU-{index}", stock={location: 0})
    shipping = sum(Decimal(s["originalPriceSet"]["shopMoney"]["amount"]) for s in hydrate["shippingLines"]["nodes"])
    order_id = store.add_order(
        domain,
        name=hydrate["name"],
        processed_at=datetime(2026, 6, 22, tzinfo=UTC),
        lines=[
            OrderLineSeed(
                f"SKU-{i}",
                line["quantity"],
                Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"]),
                fulfilled=0,
                title=line["title"],
            )
            for i, line in enumerate(lines)
        ],
        shipping=shipping,
        gateway="manual",
        currency="CAD",
    )
    for refund in hydrate["refunds"]:
        refunded = {f"SKU-{i}": line["quantity"] - line["currentQuantity"] for i, line in enumerate(lines)}
        store.refund_by_hand(
            domain,
            order_id,
            {sku: n for sku, n in refunded.items() if n},
            Decimal(refund["totalRefundedSet"]["shopMoney"]["amount"]),
            note=refund["note"],
        )
    shop.domain = domain
    return order_id


async def _check_hydrate(shop: Shop, call: dict[str, Any], order_id: str, ids: dict[str, str]) -> None:
    variables = {"id": order_id}
    body = (await shop.post({"query": call["query"], "variables": variables})).json()
    want = call["response"]["body"]
    assert "errors" not in body, body["errors"]
    _pair_ids(want["data"], body["data"], ids)
    _assert_same(body["data"], want["data"], ids)


async def _refund_scenario(shop: Shop, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Seed the recorded order and check it against the recorded hydrate read."""
    rec = capture(name)
    [hydrate_call] = [c for c in rec["upstreamCalls"] if c["response"]["body"]["data"]["order"]]
    hydrate = hydrate_call["response"]["body"]["data"]["order"]
    order_id = _seed_recorded_order(shop, hydrate)
    ids = {hydrate["id"]: order_id}
    await _check_hydrate(shop, hydrate_call, order_id, ids)
    ids["gid://shopify/Location/112829759794"] = "gid://shopify/Location/1"  # the restock location
    return rec, ids


async def _send_refund(shop: Shop, variables: dict[str, Any], key: str) -> dict[str, Any]:
    body = (
        await shop.post({"query": REFUND_PARITY_DOCUMENT, "variables": {**variables, "idempotencyKey": key}})
    ).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["refundCreate"]
    return payload


async def _downstream(shop: Shop, rec: dict[str, Any], order_id: str, ids: dict[str, str]) -> None:
    body = (await shop.post({"query": request("refundCreate-downstream-read"), "variables": {"id": order_id}})).json()
    want = rec["downstreamRead"]["response"]["data"]
    assert "errors" not in body, body["errors"]
    _pair_ids(want, body["data"], ids)
    _assert_same(_strip_presentment(body["data"]), want, ids)


@pytest.mark.parametrize(
    "scenario",
    ["refund-create-full-parity", "refund-create-partial-shipping-restock-parity"],
)
async def test_refund_create_success_parity(shop: Shop, scenario: str) -> None:
    rec, ids = await _refund_scenario(shop, f"{H}__2025-01__orders__{scenario}.json")
    order_id = ids[rec["variables"]["input"]["orderId"]]
    before = shop.store.stock(shop.domain, "SKU-0")["gid://shopify/Location/1"]["available"]

    got = await _send_refund(shop, remap(rec["variables"], ids), f"parity-{scenario}")
    want = rec["mutation"]["response"]["data"]["refundCreate"]
    _pair_ids(want, got, ids)
    _assert_same(got, want, ids)
    # RETURN puts the refunded unit back in stock at the given location; NO_RESTOCK leaves stock alone.
    [line] = rec["variables"]["input"]["refundLineItems"]
    restocked = line["quantity"] if line["restockType"] == "RETURN" else 0
    after = shop.store.stock(shop.domain, "SKU-0")["gid://shopify/Location/1"]["available"]
    assert after - before == restocked

    await _downstream(shop, rec, order_id, ids)
    # not in the recording, follows from the input: the shipping refunded (fullRefund / amount) is the 5.00 line
    read = "query($id: ID!) { order(id: $id) { totalRefundedShippingSet { shopMoney { amount } } } }"
    body = (await shop.post({"query": read, "variables": {"id": order_id}})).json()
    assert body["data"]["order"]["totalRefundedShippingSet"]["shopMoney"]["amount"] == "5.0"


async def test_refund_create_over_refund_user_errors(shop: Shop) -> None:
    rec, ids = await _refund_scenario(shop, f"{H}__2025-01__orders__refund-create-over-refund-user-errors.json")
    order_id = ids[rec["variables"]["input"]["orderId"]]
    got = await _send_refund(shop, remap(rec["variables"], ids), "parity-over-refund")
    _assert_same(got, rec["mutation"]["response"]["data"]["refundCreate"], ids)
    await _downstream(shop, rec, order_id, ids)


@pytest.mark.parametrize(
    "case", ["unknownOrder", "overRefundQuantityLineItem", "overRefundAmountNoAllow", "overRefundAllowed"]
)
async def test_refund_create_user_errors_and_quantities(shop: Shop, case: str) -> None:
    name = f"{H}__2025-01__orders__refund-create-user-errors-and-quantities.json"
    rec, ids = await _refund_scenario(shop, name)
    [hydrate_call] = [c for c in rec["upstreamCalls"] if c["response"]["body"]["data"]["order"]]
    order_id = ids[hydrate_call["variables"]["id"]]

    got = await _send_refund(shop, remap(rec[case]["variables"], ids), f"parity-{case}")
    _assert_same(got, rec[case]["response"]["data"]["refundCreate"], ids)
    # a rejected refund writes nothing: the order still reads as the recorded hydrate
    await _check_hydrate(shop, hydrate_call, order_id, ids)


async def test_refund_create_user_error_has_no_code(shop: Shop) -> None:
    rec = capture(f"{H}__2025-01__orders__order-refund-fulfillment-usererror-no-code.json")
    body = (await shop.post({"query": rec["codeSelection"]["query"], "variables": {}})).json()
    assert "data" not in body
    assert body["errors"] == rec["codeSelection"]["response"]["payload"]["errors"]


# ---- orderCancel --------------------------------------------------------------------------------------
# The capture records variables and responses only. The documents below select exactly what the recorded
# answers hold (the exact comparison proves it); the payload selection of orderCancelUserErrors is ours, the
# recorded list is empty.
ORDER_CANCEL_DOCUMENT = """
mutation OrderCancelParity($orderId: ID!, $restock: Boolean!, $reason: OrderCancelReason!,
    $notifyCustomer: Boolean, $staffNote: String, $refundMethod: OrderCancelRefundMethodInput) {
  orderCancel(orderId: $orderId, restock: $restock, reason: $reason, notifyCustomer: $notifyCustomer,
      staffNote: $staffNote, refundMethod: $refundMethod) {
    orderCancelUserErrors { field message code }
  }
}
"""
ORDER_CANCEL_READ = """
query OrderCancelRead($id: ID!) {
  order(id: $id) {
    id name closed closedAt cancelledAt cancelReason
    cancellation { staffNote }
    displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
    totalOutstandingSet { shopMoney { amount currencyCode } }
    currentTotalPriceSet { shopMoney { amount currencyCode } }
    netPaymentSet { shopMoney { amount currencyCode } }
    totalReceivedSet { shopMoney { amount currencyCode } }
    totalRefundedSet { shopMoney { amount currencyCode } }
    refunds {
      id
      totalRefundedSet { shopMoney { amount currencyCode } }
      transactions(first: 5) { nodes { kind status gateway amountSet { shopMoney { amount currencyCode } } } }
    }
    transactions { kind status gateway amountSet { shopMoney { amount currencyCode } } }
    fulfillmentOrders(first: 5) {
      nodes {
        id status requestStatus
        lineItems(first: 5) {
          nodes { id totalQuantity remainingQuantity lineItem { id title quantity fulfillableQuantity } }
        }
      }
    }
  }
}
"""


async def test_order_cancel_restock_refund_method(shop: Shop) -> None:
    rec = capture(f"{H}__2026-04__orders__orderCancel-restock-refundMethod-parity.json")
    before = _strip_presentment(rec["upstreamCalls"][0]["response"]["body"]["data"])
    recorded = before["order"]
    store = shop.store
    domain = f"cancel-parity-{shop.domain}"
    location = "gid://shopify/Location/1"
    store.add_shop(domain, access_token=TOKEN, currency="CAD", locations=[(location, "W")])
    store.add_product(domain, "ITEM", stock={location: 0})
    [fo] = recorded["fulfillmentOrders"]["nodes"]
    [fo_line] = fo["lineItems"]["nodes"]
    line = fo_line["lineItem"]
    total = Decimal(recorded["totalReceivedSet"]["shopMoney"]["amount"])
    order_id = store.add_order(
        domain,
        name=recorded["name"],
        processed_at=datetime(2026, 5, 8, tzinfo=UTC),
        lines=[OrderLineSeed("ITEM", line["quantity"], total / line["quantity"], fulfilled=0, title=line["title"])],
        gateway="manual",
        currency="CAD",
    )
    shop.domain = domain
    ids = {recorded["id"]: order_id}

    read = (await shop.post({"query": ORDER_CANCEL_READ, "variables": {"id": order_id}})).json()
    _pair_ids(before, read["data"], ids)
    _assert_same(_strip_presentment(read["data"]), before, ids)

    variables = remap(rec["variables"], ids)
    body = (await shop.post({"query": ORDER_CANCEL_DOCUMENT, "variables": variables})).json()
    assert body["data"] == rec["mutation"]["response"]["data"]

    read = (await shop.post({"query": ORDER_CANCEL_READ, "variables": {"id": order_id}})).json()
    after = rec["downstreamRead"]["response"]["data"]
    _pair_ids(after, read["data"], ids)
    _assert_same(_strip_presentment(read["data"]), after, ids)
    times = [read["data"]["order"]["closedAt"], read["data"]["order"]["cancelledAt"]]
    assert times[0] == times[1]  # recorded: closed and cancelled in the same instant
    # restock: true puts the cancelled (never fulfilled) units back in stock at the order's location
    assert store.stock(domain, "ITEM")[location]["available"] == line["quantity"]


@pytest.mark.parametrize(
    "case",
    ["staffNoteTooLong", "refundTrueAndRefundMethodConflict", "refundFalseAndRefundMethodConflict", "alreadyCancelled"],
)
async def test_order_cancel_error_messages(shop: Shop, case: str) -> None:
    """Not a refund/return capture (outside COVERAGE), replayed because orderCancel is emulated: its userErrors."""
    rec = capture(f"{H}__2026-04__orders__orderCancel-error-messages.json")
    setup = rec["setup"]
    store = shop.store
    ids: dict[str, str] = {}
    for name in ("freshOrderCreate", "cancelledOrderCreate"):
        recorded_id = setup[name]["response"]["payload"]["data"]["orderCreate"]["order"]["id"]
        ids[recorded_id] = store.add_order(
            shop.domain,
            name=f"#{name}",
            processed_at=datetime(2026, 6, 29, tzinfo=UTC),
            lines=[OrderLineSeed(f"SKU-{name}", 1, Decimal("10.00"), fulfilled=0)],
        )
    cancel = setup["setupCancel"]
    body = (await shop.post({"query": cancel["query"], "variables": remap(cancel["variables"], ids)})).json()
    got = body["data"]["orderCancel"]
    want = cancel["response"]["payload"]["data"]["orderCancel"]
    assert got["job"]["id"].startswith("gid://shopify/Job/") and got["job"]["done"] is want["job"]["done"]
    assert {k: v for k, v in got.items() if k != "job"} == {k: v for k, v in want.items() if k != "job"}

    expected = rec["expected"][case]
    body = (await shop.post({"query": expected["query"], "variables": remap(expected["variables"], ids)})).json()
    assert body["data"] == remap(expected["response"]["payload"]["data"], ids)
