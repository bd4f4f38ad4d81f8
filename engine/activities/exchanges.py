"""Exchanges in Shopify's own model: the variants a customer wants are exchange lines on the Shopify return (opened
with it), released by the same `returnProcess` that settles the refund. At the trigger each wish is either
released (the variant has stock, the return carries its line, and the price rule allows it) or refunded instead,
its exchange line removed from the return first so Shopify's record never shows both. Whether a released exchange
waits for the customer's payment is Shopify's record too: its fulfillment order held AWAITING_PAYMENT."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from temporalio import activity

from engine.activities.messages import (
    ExchangePaymentInput,
    ExchangePaymentStatus,
    ExchangeRequest,
    IssueRefundInput,
)
from engine.activities.shopify import ShopifyAccess, classified, money
from engine.errors import ShopifyUserError
from engine.shopify.client import ShopifyClient

AWAITING_PAYMENT = "AWAITING_PAYMENT"


@dataclass
class Variant:
    id: str
    sku: str
    available: int  # over every location


@dataclass
class ExchangeDecision:
    request: ExchangeRequest
    line_id: str | None  # the exchange line on the Shopify return (None: there is none to release)
    refund_instead: str = ""  # why it is refunded instead ('': released)


async def variants_by_sku(client: ShopifyClient, skus: list[str]) -> dict[str, Variant]:
    """The shop's variants for these SKUs, with the stock available to sell (one read for all of them)."""
    if not skus:
        return {}
    query = " OR ".join("sku:'{}'".format(sku.replace("\\", "\\\\").replace("'", "\\'")) for sku in sorted(set(skus)))
    data = await client.execute("VariantsBySku", {"query": query})
    out: dict[str, Variant] = {}
    for node in data["productVariants"]["nodes"]:
        available = 0
        for level in ((node.get("inventoryItem") or {}).get("inventoryLevels") or {}).get("nodes") or []:
            available += sum(int(q["quantity"]) for q in level["quantities"] if q["name"] == "available")
        if node.get("sku") in skus and node["sku"] not in out:
            out[node["sku"]] = Variant(node["id"], node["sku"], available)
    return out


def exchange_lines_by_variant(ret: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["variantId"]: node for node in (ret.get("exchangeLineItems") or {}).get("nodes") or []}


def without_units(refund: IssueRefundInput, units: list[ExchangeRequest]) -> IssueRefundInput:
    """The refund less the units exchanged: taken from the lines of their order line, an exchange's own lines
    (fault "exchange": fees waived) first."""
    lines = [dataclasses.replace(line) for line in refund.lines]
    for unit in units:
        need = unit.quantity
        for line in sorted(lines, key=lambda line: line.fault != "exchange"):
            if line.line_item_id == unit.line_item_id and need:
                take = min(need, line.quantity)
                line.quantity -= take
                need -= take
    return dataclasses.replace(refund, lines=[line for line in lines if line.quantity > 0])


def only_units(refund: IssueRefundInput, units: list[ExchangeRequest]) -> IssueRefundInput:
    """The refund of just these units (an exchange settled as a refund instead, credited apart)."""
    taken = without_units(refund, units)
    left = {line.line_item_id: line.quantity for line in taken.lines}
    kept = []
    for line in refund.lines:
        gone = min(line.quantity, sum(u.quantity for u in units if u.line_item_id == line.line_item_id))
        if gone and left.get(line.line_item_id, 0) < line.quantity:
            kept.append(dataclasses.replace(line, quantity=gone))
    return dataclasses.replace(refund, lines=kept)


@dataclass
class FinancialOutcome:
    """Shopify's `suggestedFinancialOutcome` for some units of a return, in the customer's presentment money."""

    amount: Decimal  # what settling them comes to, less the return's fees: positive refunded, negative owed
    subtotal: Decimal  # the units' price after discounts (`discountedSubtotal`)
    tax: Decimal  # their tax (`totalTax`)
    maximum: Decimal  # what the order can still give back (`maximumRefundable`)

    def valued(self, taxes_included: bool) -> Decimal:
        """The units' worth to the customer: their price, with their tax when the order added it on top."""
        return self.subtotal if taxes_included else self.subtotal + self.tax


async def financial_outcome(client: ShopifyClient, return_id: str, return_lines: dict[str, int],
                            exchange_lines: dict[str, int], *, refund_shipping: bool = False,
                            store_credit: bool = False) -> FinancialOutcome | None:  # fmt: skip
    """What Shopify says settling these returned units (against these exchange lines) comes to, and what they are
    worth; None: no figure. The one reading of `suggestedFinancialOutcome`, for the refund's figure and value and an
    exchange's difference alike."""
    variables = {
        "id": return_id,
        "lines": [{"id": rl, "quantity": qty} for rl, qty in return_lines.items()],
        "exchangeLines": [{"id": el, "quantity": qty} for el, qty in exchange_lines.items()],
        "refundShipping": {"fullRefund": True} if refund_shipping else None,
        "allocation": "STORE_CREDIT" if store_credit else "ORIGINAL_PAYMENT_METHODS",
    }
    data = (await client.execute("ReturnFinancialOutcome", variables)).get("return") or {}
    outcome = data.get("suggestedFinancialOutcome") or {}
    transfer = outcome.get("financialTransfer")
    if not transfer:
        return None
    amount = money(transfer["amount"])
    return FinancialOutcome(
        amount=-amount if transfer.get("__typename") == "InvoiceReturnOutcome" else amount,
        subtotal=money(outcome.get("discountedSubtotal")),
        tax=money(outcome.get("totalTax")),
        maximum=money(outcome.get("maximumRefundable")),
    )


async def suggested_outcome(client: ShopifyClient, return_id: str, return_lines: dict[str, int],
                            exchange_lines: dict[str, int], *, refund_shipping: bool = False,
                            store_credit: bool = False) -> Decimal | None:  # fmt: skip
    """What Shopify says settling these returned units (against these exchange lines) comes to, less the return's
    fees: positive, refunded to the customer; negative, owed by the customer (an invoice); None: no figure."""
    outcome = await financial_outcome(client, return_id, return_lines, exchange_lines,
                                      refund_shipping=refund_shipping, store_credit=store_credit)  # fmt: skip
    return None if outcome is None else outcome.amount


async def exchange_difference(client: ShopifyClient, return_id: str, refunded: dict[str, int],
                              exchanged: dict[str, int], exchange_lines: dict[str, int]) -> Decimal:  # fmt: skip
    """What exchanging adds to the refund of the other units: the exchanged units' value less the variants taken for
    them, as Shopify settles them together (its outcome for every line, exchanges included, less its outcome for the
    refunded lines alone: the return's fees are in both, so never taken twice)."""
    every = {rl: refunded.get(rl, 0) + exchanged.get(rl, 0) for rl in {*refunded, *exchanged}}
    together = await suggested_outcome(client, return_id, every, exchange_lines) or Decimal(0)
    alone = (await suggested_outcome(client, return_id, refunded, {}) or Decimal(0)) if refunded else Decimal(0)
    return together - alone


async def remove_exchange_lines(client: ShopifyClient, return_id: str, lines: dict[str, int]) -> None:
    """Exchange lines taken off the return before their units are refunded instead (only unprocessed units)."""
    if not lines:
        return
    variables = {"returnId": return_id,
                 "lines": [{"exchangeLineItemId": el, "quantity": qty} for el, qty in lines.items()]}  # fmt: skip
    await client.mutate("ExchangeLinesRemove", "removeFromReturn", variables)


class ExchangeActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    @activity.defn(name="exchange_payment")
    async def exchange_payment(self, req: ExchangePaymentInput) -> ExchangePaymentStatus:
        """Shopify's record of the exchange's fulfillment order: held awaiting the customer's payment, or free to
        ship (the payment came, or nothing was owed)."""
        async with classified():
            client = self.shopify.client(req.shop)
            data = await client.execute("OrderExchangeFulfillment", {"id": req.order_id})
            order = data.get("order")
            if order is None:
                problem = {"field": ["id"], "message": f"order {req.order_id} not found"}
                raise ShopifyUserError("OrderExchangeFulfillment", [problem])
            held, found = [], []
            for fo in order["fulfillmentOrders"]["nodes"]:
                skus = {((n.get("lineItem") or {}).get("sku")) for n in fo["lineItems"]["nodes"]}
                if not skus & set(req.wanted_skus):
                    continue
                found.append(fo["id"])
                if any(h["reason"] == AWAITING_PAYMENT for h in fo.get("fulfillmentHolds") or []):
                    held.append(fo["id"])
            return ExchangePaymentStatus(awaiting=held, fulfillment_orders=found)
