"""Customers and store credit: order.customer, refunds to store credit, storeCreditAccountCredit, reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from emulators.shopify import OrderLineSeed
from emulators.shopify.schema import SUPPORTED_VERSIONS

from .conftest import Shop

HISTORY = """
query History($id: ID!) {
  customer(id: $id) {
    storeCreditAccounts(first: 5) {
      nodes {
        id
        balance { amount currencyCode }
        owner { ... on Customer { id } }
        transactions(first: 25) {
          nodes {
            __typename
            amount { amount currencyCode }
            balanceAfterTransaction { amount }
            event
            origin { ... on OrderTransaction { id kind gateway } }
            ... on StoreCreditAccountCreditTransaction { id expiresAt remainingAmount { amount } }
            ... on StoreCreditAccountExpirationTransaction { creditTransaction { id } }
          }
        }
      }
    }
  }
}
"""

REFUND_TRANSACTIONS = """
query RefundTransactions($id: ID!) {
  order(id: $id) {
    displayFinancialStatus
    totalRefundedSet { shopMoney { amount } }
    netPaymentSet { shopMoney { amount } }
    refunds(first: 5) {
      id
      transactions(first: 5) { nodes { kind gateway amountSet { shopMoney { amount currencyCode } } } }
    }
  }
}
"""


def _customer(shop: Shop) -> str:
    customer_id: str = shop.store.order_summary(shop.domain, shop.order_id)["customer_id"]
    return customer_id


async def _store_credit_input(
    shop: Shop,
    amount: str = "24.95",
    *,
    quantity: int = 1,
    currency: str = "GBP",
    expires_at: str | None = None,
) -> dict[str, Any]:
    order = await shop.order()
    tee = next(li for li in order["lineItems"]["nodes"] if li["sku"] == "TEE-M")
    credit: dict[str, Any] = {"amount": {"amount": amount, "currencyCode": currency}}
    if expires_at is not None:
        credit["expiresAt"] = expires_at
    return {
        "orderId": shop.order_id,
        "note": "Rebound return R-1",
        "notify": False,
        "refundLineItems": [{"lineItemId": tee["id"], "quantity": quantity, "restockType": "NO_RESTOCK"}],
        "refundMethods": [{"storeCreditRefund": credit}],
    }


async def _credit(shop: Shop, target: str, amount: str, currency: str = "GBP", **extra: Any) -> dict[str, Any]:
    credit_input = {"creditAmount": {"amount": amount, "currencyCode": currency}, **extra}
    body = await shop.gql("StoreCreditBonus", {"id": target, "creditInput": credit_input})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["storeCreditAccountCredit"]
    return payload


async def _history(shop: Shop, customer_id: str) -> list[dict[str, Any]]:
    response = await shop.post({"query": HISTORY, "variables": {"id": customer_id}})
    body = response.json()
    assert "errors" not in body, body
    accounts: list[dict[str, Any]] = body["data"]["customer"]["storeCreditAccounts"]["nodes"]
    return accounts


# ---- customers --------------------------------------------------------------------------------------------
async def test_every_order_has_a_customer(shop: Shop) -> None:
    order = await shop.order()
    customer_id = _customer(shop)
    assert customer_id.startswith("gid://shopify/Customer/")
    assert order["customer"] == {"id": customer_id}
    body = await shop.gql("CustomerStoreCredit", {"id": customer_id})
    assert body["data"]["customer"] == {"id": customer_id, "storeCreditAccounts": {"nodes": []}}
    unknown = await shop.gql("CustomerStoreCredit", {"id": "gid://shopify/Customer/1"})
    assert unknown["data"] == {"customer": None}


async def test_orders_share_a_customer_passed_in(shop: Shop) -> None:
    customer_id = _customer(shop)
    second = shop.store.add_order(
        shop.domain,
        name="#1002",
        processed_at=datetime(2026, 11, 21, tzinfo=UTC),
        lines=[OrderLineSeed("CAP", 1, Decimal("10.00"))],
        customer_id=customer_id,
    )
    third = shop.store.add_order(
        shop.domain,
        name="#1003",
        processed_at=datetime(2026, 11, 21, tzinfo=UTC),
        lines=[OrderLineSeed("CAP", 1, Decimal("10.00"))],
    )
    assert shop.store.order_summary(shop.domain, second)["customer_id"] == customer_id
    assert shop.store.order_summary(shop.domain, third)["customer_id"] not in (customer_id, None)
    chosen = shop.store.add_order(
        shop.domain,
        name="#1004",
        processed_at=datetime(2026, 11, 21, tzinfo=UTC),
        lines=[OrderLineSeed("CAP", 1, Decimal("10.00"))],
        customer_id="gid://shopify/Customer/424242",
    )
    assert shop.store.order_summary(shop.domain, chosen)["customer_id"] == "gid://shopify/Customer/424242"
    with pytest.raises(ValueError, match="not a Customer GID"):
        shop.store.add_order(
            shop.domain,
            name="#1005",
            processed_at=datetime(2026, 11, 21, tzinfo=UTC),
            lines=[OrderLineSeed("CAP", 1, Decimal("10.00"))],
            customer_id="gid://shopify/Order/1",
        )


# ---- refunds to store credit ------------------------------------------------------------------------------
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_store_credit_refund_credits_the_customer(shop: Shop, version: str) -> None:
    payload = await shop.refund_create(await _store_credit_input(shop), "sc-1", version=version)
    assert payload["userErrors"] == []
    assert payload["refund"]["totalRefundedSet"]["presentmentMoney"] == {"amount": "24.95", "currencyCode": "GBP"}
    assert payload["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"

    customer_id = _customer(shop)
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("24.95")}
    [refund] = shop.store.refunds(shop.domain, shop.order_id)
    assert refund["method"] == "store_credit"
    assert refund["amount"] == refund["store_credit"] == Decimal("24.95")
    assert refund["lines"] == {"TEE-M": 1}
    summary = shop.store.order_summary(shop.domain, shop.order_id)
    assert summary["net_payment"] == Decimal("39.95")
    assert summary["refundable"]["TEE-M"] == 1

    order = await shop.order()
    assert [(t["kind"], t["gateway"]) for t in order["transactions"]] == [
        ("SALE", "shopify_payments"),
        ("REFUND", "shopify_store_credit"),
    ]
    assert [r["id"] for r in order["refunds"]] == [payload["refund"]["id"]]
    body = await shop.post({"query": REFUND_TRANSACTIONS, "variables": {"id": shop.order_id}}, version=version)
    read = body.json()["data"]["order"]
    assert read["totalRefundedSet"]["shopMoney"]["amount"] == "24.95"
    assert read["netPaymentSet"]["shopMoney"]["amount"] == "39.95"
    assert read["refunds"][0]["transactions"]["nodes"] == [
        {
            "kind": "REFUND",
            "gateway": "shopify_store_credit",
            "amountSet": {"shopMoney": {"amount": "24.95", "currencyCode": "GBP"}},
        }
    ]


async def test_store_credit_counts_against_what_is_refundable(shop: Shop) -> None:
    await shop.refund_create(await _store_credit_input(shop, "24.95"), "sc-2a")
    too_much = await shop.refund_create(await _store_credit_input(shop, "40.00"), "sc-2b")
    assert too_much["refund"] is None
    assert too_much["userErrors"] == [
        {"field": None, "message": "Refund amount £40.00 is greater than net payment received £39.95"}
    ]
    # original payment and store credit in one refund are checked together
    mixed = await _store_credit_input(shop, "30.00", quantity=0)
    sale = (await shop.order())["transactions"][0]
    mixed["transactions"] = [
        {"amount": "10.00", "gateway": "x", "kind": "REFUND", "orderId": shop.order_id, "parentId": sale["id"]}
    ]
    refused = await shop.refund_create(mixed, "sc-2c")
    assert refused["userErrors"] == [
        {"field": None, "message": "Refund amount £40.00 is greater than net payment received £39.95"}
    ]
    mixed["refundMethods"][0]["storeCreditRefund"]["amount"]["amount"] = "29.95"
    accepted = await shop.refund_create(mixed, "sc-2d")
    assert accepted["userErrors"] == []
    assert accepted["order"]["displayFinancialStatus"] == "REFUNDED"
    assert [r["method"] for r in shop.store.refunds(shop.domain, shop.order_id)] == ["store_credit", "mixed"]
    assert shop.store.store_credit(shop.domain, _customer(shop)) == {"GBP": Decimal("54.90")}
    # nothing left: even a staff refund to the card is refused now
    with pytest.raises(ValueError, match="greater than net payment received £0.00"):
        shop.store.refund_by_hand(shop.domain, shop.order_id, {}, Decimal("1.00"))


async def test_store_credit_refund_replays_with_its_key(shop: Shop) -> None:
    refund_input = await _store_credit_input(shop)
    first = await shop.refund_create(refund_input, "sc-3")
    second = await shop.refund_create(refund_input, "sc-3")
    assert second["refund"]["id"] == first["refund"]["id"]
    assert len(shop.store.refunds(shop.domain, shop.order_id)) == 1
    customer_id = _customer(shop)
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("24.95")}
    assert len(shop.store.store_credit_transactions(shop.domain, customer_id)) == 1
    other = await shop.refund_create(await _store_credit_input(shop, "20.00"), "sc-3")
    assert other["userErrors"] == [
        {"field": None, "message": "The same idempotency key cannot be used with different operation parameters."}
    ]


async def test_store_credit_refund_bad_inputs(shop: Shop) -> None:
    negative = await shop.refund_create(await _store_credit_input(shop, "-5.00"), "sc-4a")
    assert negative["userErrors"] == [
        {
            "field": ["refundMethods", "0", "storeCreditRefund", "amount", "amount"],
            "message": "Store credit refund amount must be greater than 0.",
        }
    ]
    dollars = await shop.refund_create(await _store_credit_input(shop, currency="USD"), "sc-4b")
    assert dollars["userErrors"] == [
        {
            "field": ["refundMethods", "0", "storeCreditRefund", "amount", "currencyCode"],
            "message": "Store credit refund currency must match the order currency.",
        }
    ]
    past = await shop.refund_create(await _store_credit_input(shop, expires_at="2020-01-01T00:00:00Z"), "sc-4c")
    assert past["userErrors"] == [
        {
            "field": ["refundMethods", "0", "storeCreditRefund", "expiresAt"],
            "message": "The expiry date must be in the future.",
        }
    ]
    assert shop.store.refunds(shop.domain, shop.order_id) == []
    assert shop.store.store_credit(shop.domain, _customer(shop)) == {}
    assert shop.store.order_summary(shop.domain, shop.order_id)["financial_status"] == "PAID"


# ---- storeCreditAccountCredit and reads -------------------------------------------------------------------
async def test_credit_by_customer_opens_the_account_then_adds_to_it(shop: Shop) -> None:
    customer_id = _customer(shop)
    first = await _credit(shop, customer_id, "5.00", notify=False)
    assert first["userErrors"] == []
    tx = first["storeCreditAccountTransaction"]
    assert tx["id"].startswith("gid://shopify/StoreCreditAccountCreditTransaction/")
    assert tx["amount"] == {"amount": "5.0", "currencyCode": "GBP"}
    account_id = tx["account"]["id"]
    assert account_id.startswith("gid://shopify/StoreCreditAccount/")
    assert tx["account"]["balance"] == {"amount": "5.0", "currencyCode": "GBP"}

    second = await _credit(shop, customer_id, "2.50")
    assert second["storeCreditAccountTransaction"]["account"] == {
        "id": account_id,
        "balance": {"amount": "7.5", "currencyCode": "GBP"},
    }
    by_account = await _credit(shop, account_id, "1.00")
    assert by_account["storeCreditAccountTransaction"]["account"]["balance"]["amount"] == "8.5"
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("8.50")}

    dollars = await _credit(shop, customer_id, "3.00", "USD")  # another currency: a second account
    assert dollars["storeCreditAccountTransaction"]["account"]["id"] != account_id
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("8.50"), "USD": Decimal("3.00")}


async def test_customer_store_credit_lists_refund_and_bonus_credits(shop: Shop) -> None:
    refund = await shop.refund_create(await _store_credit_input(shop), "sc-5")
    customer_id = _customer(shop)
    bonus = await _credit(shop, customer_id, "2.50")
    bonus_id = bonus["storeCreditAccountTransaction"]["id"]

    body = await shop.gql("CustomerStoreCredit", {"id": customer_id})
    assert "errors" not in body, body
    [account] = body["data"]["customer"]["storeCreditAccounts"]["nodes"]
    assert account["balance"] == {"amount": "27.45", "currencyCode": "GBP"}
    nodes = account["transactions"]["nodes"]
    assert [n["amount"] for n in nodes] == [  # the engine reads newest first (reverse: true)
        {"amount": "2.5", "currencyCode": "GBP"},
        {"amount": "24.95", "currencyCode": "GBP"},
    ]
    assert nodes[0]["id"] == bonus_id
    assert nodes[1]["id"].startswith("gid://shopify/StoreCreditAccountCreditTransaction/")
    assert all(n["createdAt"].endswith("Z") for n in nodes)

    [detail] = await _history(shop, customer_id)
    assert detail["owner"] == {"id": customer_id}
    refund_credit, bonus_credit = detail["transactions"]["nodes"]
    assert refund_credit["__typename"] == bonus_credit["__typename"] == "StoreCreditAccountCreditTransaction"
    assert refund_credit["event"] == "ORDER_REFUND"
    assert refund_credit["origin"]["kind"] == "REFUND"
    assert refund_credit["origin"]["gateway"] == "shopify_store_credit"
    refund_tx_ids = [t["id"] for t in (await shop.order())["transactions"] if t["gateway"] == "shopify_store_credit"]
    assert refund_credit["origin"]["id"] in refund_tx_ids
    assert bonus_credit["event"] == "ADJUSTMENT" and bonus_credit["origin"] is None
    assert bonus_credit["balanceAfterTransaction"] == {"amount": "27.45"}
    assert refund["refund"]["id"]

    node = await shop.post(
        {"query": "query($id: ID!) { node(id: $id) { __typename id } }", "variables": {"id": bonus_id}}
    )
    assert node.json()["data"]["node"] == {"__typename": "StoreCreditAccountCreditTransaction", "id": bonus_id}


async def test_credit_bad_inputs(shop: Shop) -> None:
    customer_id = _customer(shop)
    unknown_owner = await _credit(shop, "gid://shopify/Customer/1", "5.00")
    assert unknown_owner == {
        "storeCreditAccountTransaction": None,
        "userErrors": [{"field": ["id"], "message": "Owner does not exist.", "code": "OWNER_NOT_FOUND"}],
    }
    wrong_kind = await _credit(shop, shop.order_id, "5.00")
    assert wrong_kind["userErrors"][0]["code"] == "OWNER_NOT_FOUND"
    unknown_account = await _credit(shop, "gid://shopify/StoreCreditAccount/1", "5.00")
    assert unknown_account["userErrors"] == [
        {"field": ["id"], "message": "The store credit account could not be found.", "code": "ACCOUNT_NOT_FOUND"}
    ]
    for amount in ("0", "-1.00"):
        refused = await _credit(shop, customer_id, amount)
        assert refused["userErrors"] == [
            {
                "field": ["creditInput", "creditAmount", "amount"],
                "message": "A positive amount must be used to credit a store credit account.",
                "code": "NEGATIVE_OR_ZERO_AMOUNT",
            }
        ]
    past = await _credit(shop, customer_id, "5.00", expiresAt="2020-01-01T00:00:00Z")
    assert past["userErrors"] == [
        {
            "field": ["creditInput", "expiresAt"],
            "message": "The expiry date must be in the future.",
            "code": "EXPIRES_AT_IN_PAST",
        }
    ]
    assert shop.store.store_credit(shop.domain, customer_id) == {}  # nothing above opened an account

    opened = await _credit(shop, customer_id, "5.00")
    account_id = opened["storeCreditAccountTransaction"]["account"]["id"]
    mismatch = await _credit(shop, account_id, "5.00", "EUR")
    assert mismatch["userErrors"] == [
        {
            "field": ["creditInput", "creditAmount", "currencyCode"],
            "message": "The currency provided does not match the currency of the store credit account.",
            "code": "MISMATCHING_CURRENCY",
        }
    ]
    bad_enum = await shop.gql(
        "StoreCreditBonus",
        {"id": customer_id, "creditInput": {"creditAmount": {"amount": "5", "currencyCode": "XXY"}}},
    )
    assert bad_enum["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("5.00")}


async def test_credits_expire_on_the_shop_clock(shop: Shop) -> None:
    customer_id = _customer(shop)
    expires = shop.store.clock.now() + timedelta(hours=24)
    shop.store.add_store_credit(shop.domain, customer_id, Decimal("5.00"), expires_at=expires)
    await _credit(shop, customer_id, "2.00")
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("7.00")}
    shop.store.clock.advance(hours=25)
    [account] = await _history(shop, customer_id)
    assert account["balance"]["amount"] == "2.0"
    kinds = [(n["__typename"], n["amount"]["amount"]) for n in account["transactions"]["nodes"]]
    assert kinds == [
        ("StoreCreditAccountCreditTransaction", "5.0"),
        ("StoreCreditAccountCreditTransaction", "2.0"),
        ("StoreCreditAccountExpirationTransaction", "-5.0"),
    ]
    expired, _, expiration = account["transactions"]["nodes"]
    assert expired["remainingAmount"] == {"amount": "0.0"}
    assert expiration["creditTransaction"] == {"id": expired["id"]}
    assert shop.store.store_credit(shop.domain, customer_id) == {"GBP": Decimal("2.00")}


async def test_control_endpoint_orders_name_their_customer(shop: Shop) -> None:
    base = shop.emu.base_url
    created = await shop.http.post(
        f"{base}/__emulator/shops/{shop.domain}/orders",
        json={
            "name": "3001",
            "processedAt": "2026-11-26T10:00:00Z",
            "lines": [{"sku": "CAP", "quantity": 1, "unitPrice": "10.00"}],
            "customerId": _customer(shop),
        },
    )
    assert created.status_code == 200, created.text
    assert created.json()["customerId"] == _customer(shop)
    await _credit(shop, _customer(shop), "4.00")
    state = (await shop.http.get(f"{base}/__emulator/shops/{shop.domain}/state")).json()
    assert state["customers"] == [{"id": _customer(shop), "store_credit": {"GBP": "4.0"}}]
