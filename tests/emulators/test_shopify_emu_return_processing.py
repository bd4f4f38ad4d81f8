"""Returns with money: restocking fees on returnCreate, Return.suggestedFinancialOutcome, returnProcess with a
refund (transactions, store credit, shipping), dispositions inside it, its refusals and its faults.

Every document here is validated against both vendored schemas (``test_documents_validate``) and sent over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql import parse, validate

from emulators.shopify import OrderLineSeed
from emulators.shopify.schema import SUPPORTED_VERSIONS, load_schema

from .conftest import LOC_A, Shop

MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"

RETURN_CREATE = f"""
mutation ReturnCreate($returnInput: ReturnInput!) {{
  returnCreate(returnInput: $returnInput) {{
    return {{
      id
      status
      returnShippingFees {{ id amountSet {{ {MONEY} }} }}
      returnLineItems(first: 5) {{
        nodes {{
          id
          quantity
          refundableQuantity
          refundedQuantity
          ... on ReturnLineItem {{
            fulfillmentLineItem {{ id lineItem {{ id sku }} }}
            restockingFee {{ id percentage amountSet {{ {MONEY} }} }}
          }}
        }}
      }}
      reverseFulfillmentOrders(first: 2) {{
        nodes {{ id lineItems(first: 5) {{ nodes {{ id totalQuantity fulfillmentLineItem {{ id }} }} }} }}
      }}
    }}
    userErrors {{ field message code }}
  }}
}}
"""

RETURN_REQUEST = """
mutation ReturnRequest($input: ReturnRequestInput!) {
  returnRequest(input: $input) {
    return { id }
    userErrors { field message code }
  }
}
"""

ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    id
    presentmentCurrencyCode
    netPaymentSet { presentmentMoney { amount currencyCode } }
    totalRefundedShippingSet { presentmentMoney { amount currencyCode } }
    fulfillments(first: 2) { fulfillmentLineItems(first: 5) { nodes { id lineItem { id sku } } } }
    transactions(first: 10) { id kind gateway amountSet { presentmentMoney { amount currencyCode } } }
    refunds(first: 5) {
      id
      note
      return { id }
      staffMember { id }
      totalRefundedSet { presentmentMoney { amount currencyCode } }
    }
  }
}
"""

OUTCOME = f"""
query ReturnFinancialOutcome(
  $id: ID!
  $lines: [SuggestedOutcomeReturnLineItemInput!]!
  $refundShipping: RefundShippingInput
  $allocation: RefundMethodAllocation
) {{
  return(id: $id) {{
    id
    suggestedFinancialOutcome(
      returnLineItems: $lines
      exchangeLineItems: []
      refundShipping: $refundShipping
      refundMethodAllocation: $allocation
    ) {{
      discountedSubtotal {{ {MONEY} }}
      totalTax {{ {MONEY} }}
      totalAdditionalFees {{ {MONEY} }}
      totalCartDiscountAmount {{ presentmentMoney {{ amount }} }}
      totalDuties {{ presentmentMoney {{ amount }} }}
      refundDuties {{ amountSet {{ presentmentMoney {{ amount }} }} }}
      maximumRefundable {{ {MONEY} }}
      shipping {{ amountSet {{ {MONEY} }} maximumRefundableSet {{ presentmentMoney {{ amount }} }} }}
      financialTransfer {{
        __typename
        ... on RefundReturnOutcome {{
          amount {{ {MONEY} }}
          suggestedTransactions {{
            kind
            gateway
            amountSet {{ {MONEY} }}
            maximumRefundableSet {{ presentmentMoney {{ amount }} }}
            parentTransaction {{ id kind gateway }}
          }}
          suggestedRefundMethods {{
            __typename
            amount {{ {MONEY} }}
            maximumRefundable {{ presentmentMoney {{ amount }} }}
            ... on SuggestedStoreCreditRefund {{ expiresAt }}
          }}
        }}
        ... on InvoiceReturnOutcome {{ amount {{ {MONEY} }} }}
      }}
    }}
  }}
}}
"""

PROCESS = """
mutation ReturnProcess($input: ReturnProcessInput!) {
  returnProcess(input: $input) {
    return {
      id
      status
      returnLineItems(first: 5) {
        nodes {
          id
          quantity
          processedQuantity
          processableQuantity
          unprocessedQuantity
          refundableQuantity
          refundedQuantity
        }
      }
      refunds(first: 3) {
        nodes {
          id
          note
          return { id }
          totalRefundedSet { presentmentMoney { amount currencyCode } }
          transactions(first: 3) {
            nodes { kind gateway parentTransaction { id } amountSet { presentmentMoney { amount currencyCode } } }
          }
          refundLineItems(first: 3) { nodes { quantity restockType restocked lineItem { sku } } }
        }
      }
      transactions(first: 3) { nodes { id kind } }
      reverseFulfillmentOrders(first: 1) {
        nodes { lineItems(first: 3) { nodes { id dispositions { type quantity location { id } } } } }
      }
    }
    userErrors { field message code }
  }
}
"""

RETURN_READ = """
query ReturnRead($id: ID!) {
  return(id: $id) {
    id
    status
    processed: returnLineItems(first: 5, processingStatus: PROCESSED) { nodes { id } }
    processable: returnLineItems(first: 5, processingStatus: PROCESSABLE) { nodes { id } }
    refunds(first: 3) { nodes { id staffMember { id name } totalRefundedSet { presentmentMoney { amount } } } }
  }
}
"""

RETURN_CLOSE = """
mutation ReturnClose($id: ID!) {
  returnClose(id: $id) {
    return { id status }
    userErrors { field message code }
  }
}
"""

DOCUMENTS = {
    "ReturnCreate": RETURN_CREATE,
    "ReturnRequest": RETURN_REQUEST,
    "Order": ORDER,
    "ReturnFinancialOutcome": OUTCOME,
    "ReturnProcess": PROCESS,
    "ReturnRead": RETURN_READ,
    "ReturnClose": RETURN_CLOSE,
}
REASON = "gid://shopify/ReturnReasonDefinition/7"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_documents_validate(version: str) -> None:
    schema = load_schema(version)
    invalid = {name: [e.message for e in validate(schema, parse(text))] for name, text in DOCUMENTS.items()}
    assert {name: errors for name, errors in invalid.items() if errors} == {}


@pytest.fixture(autouse=True)
def _no_faults_left(shop: Shop) -> Iterator[None]:
    yield
    shop.emu.faults.clear()


# ---- helpers ------------------------------------------------------------------------------------------------
async def _call(shop: Shop, name: str, variables: dict[str, Any], version: str = "2026-07") -> dict[str, Any]:
    response = await shop.post(
        {"query": DOCUMENTS[name], "variables": variables, "operationName": name}, version=version
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


@dataclass
class Seeded:
    """An order of the test shop and what a return of it needs."""

    order_id: str
    fli: dict[str, str]  # sku -> fulfillment line item
    line: dict[str, str]  # sku -> line item
    payments: list[dict[str, Any]]  # the SALE transactions, in order


async def _seed(
    shop: Shop,
    name: str,
    lines: list[OrderLineSeed],
    *,
    shipping: str = "5.00",
    presentment: str | None = None,
    rate: str = "1",
    tax_rate: str = "0.2",
    taxes_included: bool = True,
    payments: list[tuple[str, str]] | None = None,
) -> Seeded:
    order_id = shop.store.add_order(
        shop.domain,
        name=name,
        lines=lines,
        processed_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        shipping=Decimal(shipping),
        presentment_currency=presentment,
        exchange_rate=rate,
        tax_rate=tax_rate,
        taxes_included=taxes_included,
        payments=[(gw, Decimal(amount)) for gw, amount in payments or []],
    )
    order = (await _call(shop, "Order", {"id": order_id}))["order"]
    flis = [n for ff in order["fulfillments"] for n in ff["fulfillmentLineItems"]["nodes"]]
    return Seeded(
        order_id,
        {n["lineItem"]["sku"]: n["id"] for n in flis},
        {n["lineItem"]["sku"]: n["lineItem"]["id"] for n in flis},
        [t for t in order["transactions"] if t["kind"] == "SALE"],
    )


async def _create_return(
    shop: Shop, seeded: Seeded, lines: dict[str, tuple[int, float | None]], fee: tuple[str, str] | None = None
) -> dict[str, Any]:
    """returnCreate of {sku: (quantity, restocking fee percentage)}, with a return shipping fee (amount, currency)."""
    items = []
    for sku, (quantity, percentage) in lines.items():
        item: dict[str, Any] = {"fulfillmentLineItemId": seeded.fli[sku], "quantity": quantity}
        item["returnReasonDefinitionId"] = REASON
        if percentage is not None:
            item["restockingFee"] = {"percentage": percentage}
        items.append(item)
    return_input: dict[str, Any] = {"orderId": seeded.order_id, "returnLineItems": items}
    if fee is not None:
        return_input["returnShippingFee"] = {"amount": {"amount": fee[0], "currencyCode": fee[1]}}
    payload: dict[str, Any] = (await _call(shop, "ReturnCreate", {"returnInput": return_input}))["returnCreate"]
    return payload


def _rli(ret: dict[str, Any], sku: str) -> dict[str, Any]:
    node: dict[str, Any] = next(
        n for n in ret["returnLineItems"]["nodes"] if n["fulfillmentLineItem"]["lineItem"]["sku"] == sku
    )
    return node


async def _outcome(
    shop: Shop,
    return_id: str,
    lines: list[tuple[str, int]],
    *,
    refund_shipping: dict[str, Any] | None = None,
    allocation: str | None = None,
    version: str = "2026-07",
) -> dict[str, Any]:
    variables = {
        "id": return_id,
        "lines": [{"id": rl, "quantity": q} for rl, q in lines],
        "refundShipping": refund_shipping,
        "allocation": allocation,
    }
    outcome: dict[str, Any] = (await _call(shop, "ReturnFinancialOutcome", variables, version))["return"][
        "suggestedFinancialOutcome"
    ]
    return outcome


def _pm(bag: dict[str, Any]) -> tuple[str, str]:
    return bag["presentmentMoney"]["amount"], bag["presentmentMoney"]["currencyCode"]


def _sm(bag: dict[str, Any]) -> tuple[str, str]:
    return bag["shopMoney"]["amount"], bag["shopMoney"]["currencyCode"]


async def _process(shop: Shop, process_input: dict[str, Any], version: str = "2026-07") -> dict[str, Any]:
    payload: dict[str, Any] = (await _call(shop, "ReturnProcess", {"input": process_input}, version))["returnProcess"]
    return payload


def _issue(transactions: list[tuple[str, str, str]], **extra: Any) -> dict[str, Any]:
    """financialTransfer.issueRefund of (parent id, amount, currency) transactions."""
    return {
        "issueRefund": {
            "orderTransactions": [
                {"transactionAmount": {"amount": amount, "currencyCode": currency}, "parentId": parent}
                for parent, amount, currency in transactions
            ],
            **extra,
        }
    }


TEE, CAP = "RF-TEE", "RF-CAP"


async def _gbp_return(shop: Shop, name: str = "#2001") -> tuple[Seeded, dict[str, Any]]:
    """2 x RF-TEE at 24.95 and 1 x RF-CAP at 10.00 (VAT 20% included), 5.00 shipping; returned: both tees with a
    10% restocking fee, the cap without, and a 3.50 return shipping fee."""
    seeded = await _seed(shop, name, [OrderLineSeed(TEE, 2, Decimal("24.95")), OrderLineSeed(CAP, 1, Decimal("10"))])
    created = await _create_return(shop, seeded, {TEE: (2, 10.0), CAP: (1, None)}, ("3.50", "GBP"))
    assert created["userErrors"] == []
    return seeded, created["return"]


# ---- restocking fee on returnCreate -------------------------------------------------------------------------
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_restocking_fee_is_kept_on_the_return_line(shop: Shop, version: str) -> None:
    seeded = await _seed(shop, "#2001", [OrderLineSeed(TEE, 2, Decimal("24.95"))])
    return_input = {
        "orderId": seeded.order_id,
        "returnLineItems": [
            {
                "fulfillmentLineItemId": seeded.fli[TEE],
                "quantity": 2,
                "returnReasonDefinitionId": REASON,
                "restockingFee": {"percentage": 10},
            }
        ],
    }
    created = (await _call(shop, "ReturnCreate", {"returnInput": return_input}, version))["returnCreate"]
    assert created["userErrors"] == []
    fee = _rli(created["return"], TEE)["restockingFee"]
    assert fee["id"].startswith("gid://shopify/Fee/") and fee["percentage"] == 10.0
    # 10% of 24.95 x 2 = 4.99 (the price as charged; taxes included)
    assert fee["amountSet"] == {
        "shopMoney": {"amount": "4.99", "currencyCode": "GBP"},
        "presentmentMoney": {"amount": "4.99", "currencyCode": "GBP"},
    }


async def test_restocking_fee_excludes_tax_added_on_top(shop: Shop) -> None:
    """The recorded returnCalculate: 10% on a 20.00 line taxed 5% on top is 2.0 a unit."""
    seeded = await _seed(
        shop, "#2002", [OrderLineSeed(TEE, 2, Decimal("20.00"))], tax_rate="0.05", taxes_included=False
    )
    created = await _create_return(shop, seeded, {TEE: (1, 10.0)})
    assert _pm(_rli(created["return"], TEE)["restockingFee"]["amountSet"]) == ("2.0", "GBP")
    line = _rli(created["return"], TEE)
    assert line["refundableQuantity"] == 1 and line["refundedQuantity"] == 0


async def test_no_restocking_fee_reads_null(shop: Shop) -> None:
    seeded = await _seed(shop, "#2003", [OrderLineSeed(TEE, 1, Decimal("24.95"))])
    created = await _create_return(shop, seeded, {TEE: (1, None)})
    assert _rli(created["return"], TEE)["restockingFee"] is None


@pytest.mark.parametrize(
    "percentage,code,message",
    [
        (100.5, "LESS_THAN_OR_EQUAL_TO", "Restocking fee percentage must be less than or equal to 100."),
        (-1, "GREATER_THAN_OR_EQUAL_TO", "Restocking fee percentage must be greater than or equal to 0."),
    ],
)
async def test_restocking_fee_percentage_out_of_range(shop: Shop, percentage: float, code: str, message: str) -> None:
    seeded = await _seed(shop, "#2004", [OrderLineSeed(TEE, 1, Decimal("24.95"))])
    created = await _create_return(shop, seeded, {TEE: (1, percentage)})
    assert created == {
        "return": None,
        "userErrors": [
            {"field": ["returnLineItems", "0", "restockingFee", "percentage"], "message": message, "code": code}
        ],
    }
    request = {
        "orderId": seeded.order_id,
        "returnLineItems": [
            {
                "fulfillmentLineItemId": seeded.fli[TEE],
                "quantity": 1,
                "returnReason": "STYLE",
                "restockingFee": {"percentage": percentage},
            }
        ],
    }
    requested = (await _call(shop, "ReturnRequest", {"input": request}))["returnRequest"]
    assert requested["userErrors"] == [
        {"field": ["input", "returnLineItems", "0", "restockingFee", "percentage"], "message": message, "code": code}
    ]
    assert shop.store.returns(shop.domain, seeded.order_id) == []


async def test_return_shipping_fee_must_be_in_the_presentment_currency(shop: Shop) -> None:
    seeded = await _seed(shop, "#2005", [OrderLineSeed(TEE, 1, Decimal("29.00"))], presentment="EUR", rate="1.17")
    created = await _create_return(shop, seeded, {TEE: (1, None)}, ("4.00", "GBP"))
    assert created["userErrors"] == [
        {
            "field": ["returnInput", "returnShippingFee", "amount", "currencyCode"],
            "message": "Return shipping fee currency must be the presentment currency of the order.",
            "code": "INVALID",
        }
    ]


# ---- suggestedFinancialOutcome --------------------------------------------------------------------------------
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_outcome_nets_both_fees_in_gbp(shop: Shop, version: str) -> None:
    _seeded, ret = await _gbp_return(shop)
    tee, cap = _rli(ret, TEE)["id"], _rli(ret, CAP)["id"]
    outcome = await _outcome(shop, ret["id"], [(tee, 1), (cap, 1)], version=version)
    assert _pm(outcome["discountedSubtotal"]) == ("34.95", "GBP")  # 24.95 + 10.00
    assert _pm(outcome["totalTax"]) == ("5.83", "GBP")  # VAT inside: 4.16 + 1.67
    assert _pm(outcome["totalAdditionalFees"]) == ("0.0", "GBP")  # the order's additional fees: none
    assert _pm(outcome["maximumRefundable"]) == ("64.9", "GBP")
    assert _pm(outcome["shipping"]["amountSet"]) == ("0.0", "GBP")
    transfer = outcome["financialTransfer"]
    assert transfer["__typename"] == "RefundReturnOutcome"
    # 34.95 less half the tees' 4.99 fee (2.50, half to even) less the 3.50 return shipping fee
    assert _pm(transfer["amount"]) == ("28.95", "GBP") and _sm(transfer["amount"]) == ("28.95", "GBP")
    [suggested] = transfer["suggestedTransactions"]
    assert suggested["kind"] == "SUGGESTED_REFUND" and suggested["gateway"] == "shopify_payments"
    assert _pm(suggested["amountSet"]) == ("28.95", "GBP") and suggested["maximumRefundableSet"] is None
    assert suggested["parentTransaction"]["kind"] == "SALE"
    assert transfer["suggestedRefundMethods"] == []
    assert outcome["refundDuties"] == [] and outcome["totalDuties"]["presentmentMoney"]["amount"] == "0.0"


async def test_outcome_in_a_eur_presented_order(shop: Shop) -> None:
    seeded = await _seed(
        shop, "#2010", [OrderLineSeed(TEE, 2, Decimal("29.00"))], shipping="6.00", presentment="EUR", rate="1.17"
    )
    created = await _create_return(shop, seeded, {TEE: (2, 10.0)}, ("4.00", "EUR"))
    assert created["userErrors"] == []
    ret = created["return"]
    fee = _rli(ret, TEE)["restockingFee"]["amountSet"]
    assert _pm(fee) == ("5.8", "EUR") and _sm(fee) == ("4.96", "GBP")  # 5.80 / 1.17
    assert ret["returnShippingFees"][0]["amountSet"] == {
        "shopMoney": {"amount": "3.42", "currencyCode": "GBP"},
        "presentmentMoney": {"amount": "4.0", "currencyCode": "EUR"},
    }
    outcome = await _outcome(shop, ret["id"], [(_rli(ret, TEE)["id"], 2)], refund_shipping={"fullRefund": True})
    assert _pm(outcome["discountedSubtotal"]) == ("58.0", "EUR")
    assert _pm(outcome["shipping"]["amountSet"]) == ("6.0", "EUR")
    transfer = outcome["financialTransfer"]
    # 58.00 + 6.00 shipping - 5.80 restocking - 4.00 return shipping
    assert _pm(transfer["amount"]) == ("54.2", "EUR") and _sm(transfer["amount"]) == ("46.32", "GBP")
    assert [_pm(t["amountSet"]) for t in transfer["suggestedTransactions"]] == [("54.2", "EUR")]


async def test_outcome_splits_across_gift_card_and_card(shop: Shop) -> None:
    seeded = await _seed(
        shop,
        "#2020",
        [OrderLineSeed(TEE, 2, Decimal("30.00"))],
        shipping="0",
        payments=[("gift_card", "20.00"), ("shopify_payments", "40.00")],
    )
    gift, card = seeded.payments
    ret = (await _create_return(shop, seeded, {TEE: (2, None)}))["return"]
    tee = _rli(ret, TEE)["id"]
    both = (await _outcome(shop, ret["id"], [(tee, 2)]))["financialTransfer"]["suggestedTransactions"]
    assert [(t["gateway"], t["parentTransaction"]["id"], _pm(t["amountSet"])[0]) for t in both] == [
        ("gift_card", gift["id"], "20.0"),
        ("shopify_payments", card["id"], "40.0"),
    ]
    one = (await _outcome(shop, ret["id"], [(tee, 1)]))["financialTransfer"]["suggestedTransactions"]
    assert [(t["gateway"], _pm(t["amountSet"])[0]) for t in one] == [
        ("gift_card", "20.0"),
        ("shopify_payments", "10.0"),
    ]


async def test_outcome_to_store_credit(shop: Shop) -> None:
    _seeded, ret = await _gbp_return(shop)
    outcome = await _outcome(shop, ret["id"], [(_rli(ret, CAP)["id"], 1)], allocation="STORE_CREDIT")
    transfer = outcome["financialTransfer"]
    assert _pm(transfer["amount"]) == ("6.5", "GBP")  # 10.00 less the 3.50 return shipping fee
    assert transfer["suggestedTransactions"] == []
    [method] = transfer["suggestedRefundMethods"]
    assert method["__typename"] == "SuggestedStoreCreditRefund" and method["expiresAt"] is None
    assert _pm(method["amount"]) == ("6.5", "GBP") and method["maximumRefundable"]["presentmentMoney"] == {
        "amount": "64.9"
    }


async def test_outcome_is_an_invoice_when_fees_exceed_the_lines(shop: Shop) -> None:
    seeded = await _seed(shop, "#2030", [OrderLineSeed(TEE, 1, Decimal("3.00"))])
    ret = (await _create_return(shop, seeded, {TEE: (1, 50.0)}, ("4.00", "GBP")))["return"]
    transfer = (await _outcome(shop, ret["id"], [(_rli(ret, TEE)["id"], 1)]))["financialTransfer"]
    assert transfer == {
        "__typename": "InvoiceReturnOutcome",
        "amount": {
            "shopMoney": {"amount": "2.5", "currencyCode": "GBP"},  # 1.50 + 4.00 - 3.00
            "presentmentMoney": {"amount": "2.5", "currencyCode": "GBP"},
        },
    }


async def test_outcome_of_an_unknown_line_is_an_error(shop: Shop) -> None:
    _seeded, ret = await _gbp_return(shop)
    variables = {"id": ret["id"], "lines": [{"id": "gid://shopify/ReturnLineItem/1", "quantity": 1}]}
    body = (await shop.post({"query": OUTCOME, "variables": variables})).json()
    assert body["data"]["return"]["suggestedFinancialOutcome"] is None
    assert body["errors"][0]["message"] == "Return line item was not found."


# ---- returnProcess with money ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_process_issues_one_refund_linked_to_the_return(shop: Shop, version: str) -> None:
    seeded, ret = await _gbp_return(shop)
    tee, cap = _rli(ret, TEE)["id"], _rli(ret, CAP)["id"]
    lines = [{"id": tee, "quantity": 1}, {"id": cap, "quantity": 1}]
    outcome = await _outcome(shop, ret["id"], [(tee, 1), (cap, 1)], version=version)
    suggested = outcome["financialTransfer"]["suggestedTransactions"]
    transactions = [(t["parentTransaction"]["id"], *_pm(t["amountSet"])) for t in suggested]
    processed = await _process(
        shop,
        {
            "returnId": ret["id"],
            "returnLineItems": lines,
            "note": "Rebound R-9",
            "financialTransfer": _issue(transactions),
        },
        version,
    )
    assert processed["userErrors"] == []
    back = processed["return"]
    assert back["status"] == "OPEN"  # processing never closes a return (recorded)
    by_id = {n["id"]: n for n in back["returnLineItems"]["nodes"]}
    assert by_id[tee] | {"id": None} == {
        "id": None,
        "quantity": 2,
        "processedQuantity": 1,
        "processableQuantity": 1,
        "unprocessedQuantity": 1,
        "refundableQuantity": 1,
        "refundedQuantity": 1,
    }
    cap_line = by_id[cap]
    assert (cap_line["processedQuantity"], cap_line["refundedQuantity"], cap_line["refundableQuantity"]) == (1, 1, 0)
    [refund] = back["refunds"]["nodes"]
    assert refund["return"] == {"id": ret["id"]} and refund["note"] == "Rebound R-9"
    assert refund["totalRefundedSet"]["presentmentMoney"] == {"amount": "28.95", "currencyCode": "GBP"}
    [tx] = refund["transactions"]["nodes"]
    assert tx == {
        "kind": "REFUND",
        "gateway": "shopify_payments",
        "parentTransaction": {"id": seeded.payments[0]["id"]},
        "amountSet": {"presentmentMoney": {"amount": "28.95", "currencyCode": "GBP"}},
    }
    refunded = sorted(
        (n["lineItem"]["sku"], n["quantity"], n["restockType"], n["restocked"])
        for n in refund["refundLineItems"]["nodes"]
    )
    assert refunded == [(CAP, 1, "RETURN", False), (TEE, 1, "RETURN", False)]
    assert [t["kind"] for t in back["transactions"]["nodes"]] == ["REFUND"]

    order = (await _call(shop, "Order", {"id": seeded.order_id}))["order"]
    [order_refund] = order["refunds"]
    assert order_refund["id"] == refund["id"] and order_refund["return"] == {"id": ret["id"]}
    assert order_refund["staffMember"] is None  # made by an app
    assert order["netPaymentSet"]["presentmentMoney"]["amount"] == "35.95"  # 64.90 - 28.95
    [stored] = shop.store.refunds(shop.domain, seeded.order_id)
    assert stored["return_id"] == ret["id"] and stored["amount"] == Decimal("28.95")
    [summary] = shop.store.returns(shop.domain, seeded.order_id)
    assert summary["processed"] == {TEE: 1, CAP: 1} and summary["fees_charged"] == Decimal("6.00")

    # The rest of the return: the other half of the tee's fee, no second return shipping fee.
    rest = await _outcome(shop, ret["id"], [(tee, 1), (cap, 1)])
    assert _pm(rest["financialTransfer"]["amount"]) == ("22.46", "GBP")  # 24.95 - 2.49; the cap is settled
    parent = seeded.payments[0]["id"]
    done = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": tee, "quantity": 1}],
         "financialTransfer": _issue([(parent, "22.46", "GBP")])},
    )  # fmt: skip
    assert done["userErrors"] == [] and len(done["return"]["refunds"]["nodes"]) == 2
    [summary] = shop.store.returns(shop.domain, seeded.order_id)
    assert summary["fees_charged"] == Decimal("8.49")  # 4.99 + 3.50, each charged once
    read = (await _call(shop, "ReturnRead", {"id": ret["id"]}))["return"]
    assert read["processable"]["nodes"] == [] and len(read["processed"]["nodes"]) == 2
    closed = (await _call(shop, "ReturnClose", {"id": ret["id"]}))["returnClose"]
    assert closed == {"return": {"id": ret["id"], "status": "CLOSED"}, "userErrors": []}


async def test_second_processing_of_the_same_lines_is_refused(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    process = {
        "returnId": ret["id"],
        "returnLineItems": [{"id": cap, "quantity": 1}],
        "financialTransfer": _issue([(seeded.payments[0]["id"], "6.50", "GBP")]),
    }
    assert (await _process(shop, process))["userErrors"] == []
    again = await _process(shop, process)
    assert again == {
        "return": None,
        "userErrors": [
            {
                "field": ["input", "returnLineItems", "0", "quantity"],
                "message": "Return line item has an invalid quantity.",
                "code": "INVALID",
            }
        ],
    }
    assert len(shop.store.refunds(shop.domain, seeded.order_id)) == 1
    outcome = await _outcome(shop, ret["id"], [(cap, 1)])
    assert _pm(outcome["financialTransfer"]["amount"]) == ("0.0", "GBP")  # nothing left to settle


async def test_processing_without_money_makes_no_refund(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    done = await _process(shop, {"returnId": ret["id"], "returnLineItems": [{"id": cap, "quantity": 1}]})
    assert done["userErrors"] == [] and done["return"]["refunds"]["nodes"] == []
    line = next(n for n in done["return"]["returnLineItems"]["nodes"] if n["id"] == cap)
    assert (line["processedQuantity"], line["refundedQuantity"], line["refundableQuantity"]) == (1, 0, 0)
    assert shop.store.refunds(shop.domain, seeded.order_id) == []


async def test_process_to_store_credit(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    customer = shop.store.order_summary(shop.domain, seeded.order_id)["customer_id"]
    credit = {"storeCreditRefund": {"amount": {"amount": "6.50", "currencyCode": "GBP"}}}
    done = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": cap, "quantity": 1}],
         "financialTransfer": {"issueRefund": {"orderTransactions": [], "refundMethods": [credit]}}},
    )  # fmt: skip
    assert done["userErrors"] == []
    [refund] = done["return"]["refunds"]["nodes"]
    assert refund["totalRefundedSet"]["presentmentMoney"] == {"amount": "6.5", "currencyCode": "GBP"}
    assert [(t["gateway"], t["parentTransaction"]) for t in refund["transactions"]["nodes"]] == [
        ("shopify_store_credit", None)
    ]
    assert shop.store.store_credit(shop.domain, customer) == {"GBP": Decimal("6.50")}
    [stored] = shop.store.refunds(shop.domain, seeded.order_id)
    assert stored["method"] == "store_credit" and stored["return_id"] == ret["id"]


async def test_process_with_dispositions(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    tee = _rli(ret, TEE)["id"]
    [rfo_line] = [
        n for n in ret["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"]
        if n["fulfillmentLineItem"]["id"] == seeded.fli[TEE]
    ]  # fmt: skip
    before = shop.store.stock(shop.domain, TEE).get(LOC_A, {}).get("available", 0)
    dispositions = [
        {"reverseFulfillmentOrderLineItemId": rfo_line["id"], "quantity": 1, "locationId": LOC_A,
         "dispositionType": "RESTOCKED"},
        {"reverseFulfillmentOrderLineItemId": rfo_line["id"], "quantity": 1, "dispositionType": "NOT_RESTOCKED"},
    ]  # fmt: skip
    done = await _process(
        shop, {"returnId": ret["id"], "returnLineItems": [{"id": tee, "quantity": 2, "dispositions": dispositions}]}
    )
    assert done["userErrors"] == []
    [line] = [n for n in done["return"]["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"]
              if n["id"] == rfo_line["id"]]  # fmt: skip
    assert line["dispositions"] == [
        {"type": "RESTOCKED", "quantity": 1, "location": {"id": LOC_A}},
        {"type": "NOT_RESTOCKED", "quantity": 1, "location": None},
    ]
    assert shop.store.stock(shop.domain, TEE)[LOC_A]["available"] == before + 1


async def test_process_refunds_shipping(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    outcome = await _outcome(shop, ret["id"], [(cap, 1)], refund_shipping={"fullRefund": True})
    assert _pm(outcome["shipping"]["amountSet"]) == ("5.0", "GBP")
    assert _pm(outcome["financialTransfer"]["amount"]) == ("11.5", "GBP")  # 10.00 + 5.00 - 3.50
    done = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": cap, "quantity": 1}],
         "refundShipping": {"fullRefund": True},
         "financialTransfer": _issue([(seeded.payments[0]["id"], "11.50", "GBP")])},
    )  # fmt: skip
    assert done["userErrors"] == []
    order = (await _call(shop, "Order", {"id": seeded.order_id}))["order"]
    assert order["totalRefundedShippingSet"]["presentmentMoney"] == {"amount": "5.0", "currencyCode": "GBP"}
    left = await _outcome(shop, ret["id"], [], refund_shipping={"fullRefund": True})
    assert _pm(left["shipping"]["amountSet"]) == ("0.0", "GBP")


async def test_process_shipping_amount_over_what_is_left(shop: Shop) -> None:
    _seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    refused = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": cap, "quantity": 1}],
         "refundShipping": {"shippingRefundAmount": {"amount": "7.00", "currencyCode": "GBP"}}},
    )  # fmt: skip
    assert refused["userErrors"] == [
        {
            "field": ["input", "refundShipping", "shippingRefundAmount", "amount"],
            "message": "Shipping refund amount £7.00 is greater than the refundable shipping £5.00",
            "code": "LESS_THAN_OR_EQUAL_TO",
        }
    ]


# ---- refusals -------------------------------------------------------------------------------------------------
def _error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


TX = ["input", "financialTransfer", "issueRefund", "orderTransactions", "0"]


async def test_each_refusal_of_process(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    other = await _seed(shop, "#2099", [OrderLineSeed(CAP, 1, Decimal("10"))])
    tee, cap = _rli(ret, TEE)["id"], _rli(ret, CAP)["id"]
    sale = seeded.payments[0]["id"]
    rfo = ret["reverseFulfillmentOrders"]["nodes"][0]
    tee_rfo = next(n["id"] for n in rfo["lineItems"]["nodes"] if n["fulfillmentLineItem"]["id"] == seeded.fli[TEE])

    async def refused(process: dict[str, Any]) -> list[dict[str, Any]]:
        payload = await _process(shop, {"returnId": ret["id"], **process})
        assert payload["return"] is None
        errors: list[dict[str, Any]] = payload["userErrors"]
        return errors

    cap_line = [{"id": cap, "quantity": 1}]
    assert await refused({"returnLineItems": [{"id": cap, "quantity": 2}]}) == [
        _error(["input", "returnLineItems", "0", "quantity"], "Return line item has an invalid quantity.", "INVALID")
    ]
    assert await refused({"returnLineItems": cap_line, "financialTransfer": _issue([(sale, "65.00", "GBP")])}) == [
        _error([*TX, "transactionAmount", "amount"],
               f"Refund amount £65.00 is greater than the maximum refundable £64.90 of transaction {sale}",
               "LESS_THAN_OR_EQUAL_TO")
    ]  # fmt: skip
    assert await refused({"returnLineItems": cap_line, "financialTransfer": _issue([(sale, "6.50", "EUR")])}) == [
        _error([*TX, "transactionAmount", "currencyCode"], "Currency must be the presentment currency of the order.",
               "INVALID")
    ]  # fmt: skip
    foreign = other.payments[0]["id"]
    assert await refused({"returnLineItems": cap_line, "financialTransfer": _issue([(foreign, "6.50", "GBP")])}) == [
        _error([*TX, "parentId"], "Parent transaction was not found.", "NOT_FOUND")
    ]
    assert await refused({"returnLineItems": cap_line, "financialTransfer": _issue([(sale, "0", "GBP")])}) == [
        _error([*TX, "transactionAmount", "amount"], "Amount must be greater than 0.", "GREATER_THAN")
    ]
    credit = {"storeCreditRefund": {"amount": {"amount": "70.00", "currencyCode": "GBP"}}}
    too_much = {"returnLineItems": cap_line,
                "financialTransfer": {"issueRefund": {"orderTransactions": [], "refundMethods": [credit]}}}  # fmt: skip
    assert await refused(too_much) == [
        _error(["input", "financialTransfer", "issueRefund"],
               "Refund amount £70.00 is greater than net payment received £64.90", "LESS_THAN_OR_EQUAL_TO")
    ]  # fmt: skip
    restocked_nowhere = [{"reverseFulfillmentOrderLineItemId": tee_rfo, "quantity": 1, "dispositionType": "RESTOCKED"}]
    assert await refused({"returnLineItems": [{"id": tee, "quantity": 1, "dispositions": restocked_nowhere}]}) == [
        _error(["input", "returnLineItems", "0", "dispositions", "0", "locationId"], "Location not found.", "NOT_FOUND")
    ]
    too_many = [{"reverseFulfillmentOrderLineItemId": tee_rfo, "quantity": 2, "dispositionType": "NOT_RESTOCKED"}]
    assert await refused({"returnLineItems": [{"id": tee, "quantity": 1, "dispositions": too_many}]}) == [
        _error(["input", "returnLineItems", "0", "dispositions", "0", "quantity"],
               "Disposition quantity is greater than the quantity being processed.", "INVALID")
    ]  # fmt: skip
    wrong_line = [{"reverseFulfillmentOrderLineItemId": tee_rfo, "quantity": 1, "dispositionType": "NOT_RESTOCKED"}]
    assert await refused({"returnLineItems": [{"id": cap, "quantity": 1, "dispositions": wrong_line}]}) == [
        _error(["input", "returnLineItems", "0", "dispositions", "0", "reverseFulfillmentOrderLineItemId"],
               "Reverse fulfillment order line item was not found.", "NOT_FOUND")
    ]  # fmt: skip
    exchange = [{"id": "gid://shopify/ExchangeLineItem/1", "quantity": 1}]
    assert await refused({"returnLineItems": cap_line, "exchangeLineItems": exchange}) == [
        _error(["input", "exchangeLineItems", "0", "id"], "Exchange line item was not found.", "NOT_FOUND")
    ]  # fmt: skip
    # Nothing above was written.
    assert shop.store.refunds(shop.domain, seeded.order_id) == []
    assert shop.store.returns(shop.domain, seeded.order_id)[0]["processed"] == {}
    assert shop.store.returns(shop.domain, seeded.order_id)[0]["dispositions"] == []

    # A parent that is not a payment: the refund transaction of an accepted processing.
    done = await _process(shop, {"returnId": ret["id"], "returnLineItems": cap_line,
                                 "financialTransfer": _issue([(sale, "6.50", "GBP")])})  # fmt: skip
    assert done["userErrors"] == []
    [refund_tx] = done["return"]["transactions"]["nodes"]
    assert await refused({"returnLineItems": [{"id": tee, "quantity": 1}],
                          "financialTransfer": _issue([(refund_tx["id"], "1.00", "GBP")])}) == [
        _error([*TX, "parentId"], "The parent transaction must be a successful transaction of kind CAPTURE or SALE.",
               "INVALID")
    ]  # fmt: skip
    # Not OPEN any more.
    await _call(shop, "ReturnClose", {"id": ret["id"]})
    assert await refused({"returnLineItems": [{"id": tee, "quantity": 1}]}) == [
        _error(["input", "returnId"], "Return status is invalid.", "INVALID_STATE")
    ]


async def test_over_refunding_is_allowed_when_asked(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    credit = {"storeCreditRefund": {"amount": {"amount": "70.00", "currencyCode": "GBP"}}}
    done = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": cap, "quantity": 1}],
         "financialTransfer": {"issueRefund": {"orderTransactions": [], "refundMethods": [credit],
                                               "allowOverRefunding": True}}},
    )  # fmt: skip
    assert done["userErrors"] == []
    [stored] = shop.store.refunds(shop.domain, seeded.order_id)
    assert stored["amount"] == Decimal("70.00") and stored["method"] == "store_credit"


async def test_refund_create_still_refunds_return_lines_the_old_way(shop: Shop) -> None:
    """refundCreate is unchanged: not linked to the return; the return line reads what is left to refund."""
    seeded, ret = await _gbp_return(shop)
    refund_input = {
        "orderId": seeded.order_id,
        "refundLineItems": [{"lineItemId": seeded.line[CAP], "quantity": 1, "restockType": "NO_RESTOCK"}],
        "transactions": [{"orderId": seeded.order_id, "parentId": seeded.payments[0]["id"], "amount": "10.00",
                          "gateway": "shopify_payments", "kind": "REFUND"}],
    }  # fmt: skip
    payload = await shop.refund_create(refund_input, "old-way-1")
    assert payload["userErrors"] == []
    [stored] = shop.store.refunds(shop.domain, seeded.order_id)
    assert stored["return_id"] is None
    read = (await _call(shop, "ReturnRead", {"id": ret["id"]}))["return"]
    assert read["refunds"]["nodes"] == []
    # The refunded cap can't be refunded again through the return.
    refused = await _process(
        shop,
        {"returnId": ret["id"], "returnLineItems": [{"id": _rli(ret, CAP)["id"], "quantity": 1}],
         "financialTransfer": _issue([])},
    )  # fmt: skip
    assert refused["userErrors"] == [
        _error(["input", "returnLineItems", "0", "quantity"], "Quantity cannot refund more items than were purchased",
               "INVALID")
    ]  # fmt: skip


# ---- faults on ReturnProcess and ReturnFinancialOutcome ---------------------------------------------------------
def _cap_process(seeded: Seeded, ret: dict[str, Any]) -> dict[str, Any]:
    return {
        "returnId": ret["id"],
        "returnLineItems": [{"id": _rli(ret, CAP)["id"], "quantity": 1}],
        "financialTransfer": _issue([(seeded.payments[0]["id"], "6.50", "GBP")]),
    }


async def _send_process(shop: Shop, process: dict[str, Any], *, named: bool = True) -> Any:
    body: dict[str, Any] = {"query": PROCESS, "variables": {"input": process}}
    if named:
        body["operationName"] = "ReturnProcess"
    return await shop.post(body, version="2026-07")


@pytest.mark.parametrize("kind,status", [("lost_response", 502), ("read_timeout", 504), ("http_500_after_commit", 500)])
async def test_a_lost_answer_after_commit_leaves_one_refund(shop: Shop, kind: Any, status: int) -> None:
    seeded, ret = await _gbp_return(shop)
    shop.emu.faults.configure(timeout_seconds=0.05)
    shop.emu.faults.fail_next(kind, operation="ReturnProcess")
    lost = await _send_process(shop, _cap_process(seeded, ret))
    assert lost.status_code == status
    assert shop.emu.faults.injected_by_operation[("ReturnProcess", kind)] == 1
    # The write happened once: one refund, the line processed; the retry finds nothing left to process.
    [stored] = shop.store.refunds(shop.domain, seeded.order_id)
    assert stored["return_id"] == ret["id"] and stored["amount"] == Decimal("6.50")
    read = (await _call(shop, "ReturnRead", {"id": ret["id"]}))["return"]
    assert [n["id"] for n in read["processed"]["nodes"]] == [_rli(ret, CAP)["id"]]
    retry = (await _send_process(shop, _cap_process(seeded, ret))).json()["data"]["returnProcess"]
    assert retry["userErrors"][0]["code"] == "INVALID"
    assert len(shop.store.refunds(shop.domain, seeded.order_id)) == 1


@pytest.mark.parametrize("named", [True, False])
async def test_faults_before_process_execute_nothing(shop: Shop, named: bool) -> None:
    """Aimed at ReturnProcess, with or without operationName (the document's only operation names it)."""
    seeded, ret = await _gbp_return(shop)
    shop.emu.faults.fail_next("http_500", operation="ReturnProcess")
    assert (await _send_process(shop, _cap_process(seeded, ret), named=named)).status_code == 500
    shop.emu.faults.fail_next("throttled", operation="ReturnProcess")
    throttled = (await _send_process(shop, _cap_process(seeded, ret), named=named)).json()
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED" and "data" not in throttled
    assert shop.store.refunds(shop.domain, seeded.order_id) == []
    assert shop.store.returns(shop.domain, seeded.order_id)[0]["processed"] == {}
    done = (await _send_process(shop, _cap_process(seeded, ret), named=named)).json()
    assert done["data"]["returnProcess"]["userErrors"] == []


async def test_someone_processes_the_return_first(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    shop.emu.faults.fail_next("manual_refund", operation="ReturnProcess")
    ours = (await _send_process(shop, _cap_process(seeded, ret))).json()["data"]["returnProcess"]
    assert ours["userErrors"][0]["code"] == "INVALID"  # the staff member processed these units first
    read = (await _call(shop, "ReturnRead", {"id": ret["id"]}))["return"]
    [refund] = read["refunds"]["nodes"]
    assert refund["staffMember"]["id"].startswith("gid://shopify/StaffMember/")
    assert refund["totalRefundedSet"]["presentmentMoney"]["amount"] == "6.5"


async def test_faults_on_the_outcome_query(shop: Shop) -> None:
    seeded, ret = await _gbp_return(shop)
    cap = _rli(ret, CAP)["id"]
    variables = {"id": ret["id"], "lines": [{"id": cap, "quantity": 1}]}
    body = {"query": OUTCOME, "variables": variables, "operationName": "ReturnFinancialOutcome"}
    shop.emu.faults.fail_next("http_503", operation="ReturnFinancialOutcome")
    assert (await shop.post(body)).status_code == 503
    shop.emu.faults.fail_next("throttled", operation="ReturnFinancialOutcome")
    assert (await shop.post(body)).json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    shop.emu.faults.configure(slow_seconds=0.05)
    shop.emu.faults.fail_next("slow", operation="ReturnFinancialOutcome")
    assert (await shop.post(body)).status_code == 200
    assert shop.emu.faults.injected_by_operation[("ReturnFinancialOutcome", "slow")] == 1
    # A staff member refunds everything on the order just before the read: nothing is left to suggest.
    shop.emu.faults.fail_next("manual_refund", operation="ReturnFinancialOutcome")
    read = (await shop.post(body)).json()["data"]["return"]["suggestedFinancialOutcome"]
    assert read["financialTransfer"]["amount"]["presentmentMoney"]["amount"] == "0.0"
    assert read["maximumRefundable"]["presentmentMoney"]["amount"] == "0.0"
    [staff] = shop.store.refunds(shop.domain, seeded.order_id)
    assert staff["return_id"] is None and staff["amount"] == Decimal("64.90")


async def test_store_credit_of_a_eur_order_is_in_euros(shop: Shop) -> None:
    seeded = await _seed(shop, "#2040", [OrderLineSeed(TEE, 1, Decimal("29.00"))], presentment="EUR", rate="1.17")
    ret = (await _create_return(shop, seeded, {TEE: (1, None)}))["return"]
    customer = shop.store.order_summary(shop.domain, seeded.order_id)["customer_id"]

    def to_credit(amount: str, currency: str) -> dict[str, Any]:
        credit = {"storeCreditRefund": {"amount": {"amount": amount, "currencyCode": currency}}}
        return {
            "returnId": ret["id"],
            "returnLineItems": [{"id": _rli(ret, TEE)["id"], "quantity": 1}],
            "financialTransfer": {"issueRefund": {"orderTransactions": [], "refundMethods": [credit]}},
        }

    pounds = await _process(shop, to_credit("24.79", "GBP"))
    assert pounds["userErrors"] == [
        _error(
            ["input", "financialTransfer", "issueRefund", "refundMethods", "0", "storeCreditRefund", "amount",
             "currencyCode"],
            "Store credit refund currency must match the order currency.",
            "INVALID",
        )
    ]  # fmt: skip
    euros = await _process(shop, to_credit("29.00", "EUR"))
    assert euros["userErrors"] == []
    assert shop.store.store_credit(shop.domain, customer) == {"EUR": Decimal("29.00")}
    [refund] = euros["return"]["refunds"]["nodes"]
    assert refund["totalRefundedSet"]["presentmentMoney"] == {"amount": "29.0", "currencyCode": "EUR"}
