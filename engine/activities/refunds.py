"""Money: the refund issued exactly once (`issue_refund`), a refund Rebound's app made looked for (`find_refund`),
and the store-credit bonus credited once (`credit_bonus`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity

from engine.activities.messages import (
    BonusInput,
    BonusOutcome,
    IssueRefundInput,
    OrderSnapshot,
    RefundOutcome,
    RefundTender,
)
from engine.activities.orders import payments_of, snapshot
from engine.activities.pricing import priced_plan
from engine.activities.shopify import (
    PARCEL_MARKER,
    REFUND_MARKER,
    ShopifyAccess,
    bonus_key,
    classified,
    money,
    parse_time,
    refund_marker,
    set_metafield,
)
from engine.errors import ShopifyUserError
from engine.refunds import RefundPlan, Tender, split_refund
from engine.shopify.client import ShopifyClient
from engine.telemetry.instruments import refund_issued


def _our_refund(order: dict[str, Any], rebound_id: str, part: str = "") -> dict[str, Any] | None:
    """This return's refund (this round's, when it refunds per parcel)."""
    marker = refund_marker(rebound_id, part)
    for refund in order.get("refunds") or []:
        note = refund.get("note") or ""
        if marker in note and (part or PARCEL_MARKER not in note):
            return refund
    return None


def covering_refund(order: dict[str, Any], req: IssueRefundInput) -> dict[str, Any] | None:
    """A refund made since the return was registered, by someone else (a person, another app), for any of the
    same line items. Another return of the same order refunds the same line when the customer sends units of it
    back in two returns: that refund carries our marker and is not this return's business."""
    our_lines = {line.line_item_id for line in req.plan.lines}
    since = parse_time(req.registered_at) if req.registered_at else None
    for refund in order.get("refunds") or []:
        if since and parse_time(refund["createdAt"]) < since:
            continue
        if REFUND_MARKER in (refund.get("note") or ""):
            continue  # ours: another return of the same order, or an earlier parcel's round
        if refund.get("return"):
            continue  # processing a return made it: judged by that return's processed quantities (processing.py)
        lines = {n["lineItem"]["id"] for n in refund["refundLineItems"]["nodes"]}
        if lines & our_lines:
            return refund
    return None


def preempted_by(manual: dict[str, Any]) -> RefundOutcome:
    """Someone refunded these items outside the engine: a finance exception, not a failure."""
    amount = str(money(manual["totalRefundedSet"]))
    return RefundOutcome(
        "preempted", manual["id"], amount, f"{manual['id']} created {manual['createdAt']} covers these items"
    )


def split_tenders(plan: RefundPlan, snap: OrderSnapshot, req: IssueRefundInput) -> list[RefundTender]:
    """The refund across the order's payments, gift cards first or last as the mapping says, each within what it
    can still give back (none for store credit or nothing to refund)."""
    tenders = [Tender(p.transaction_id, p.gateway, p.refundable) for p in snap.payments]
    if plan.method == "store_credit" or Decimal(plan.total) == 0:
        return []
    if not tenders:
        problem = {"field": ["transactions"], "message": "order has no successful payment to refund"}
        raise ShopifyUserError("RefundCreate", [problem])
    gift_cards = req.rules.gift_cards if req.rules is not None else "first"
    try:
        split = split_refund(plan.total, tenders, gift_cards=gift_cards)
    except ValueError as exc:
        raise ShopifyUserError("RefundCreate", [{"field": ["transactions"], "message": str(exc)}]) from None
    return [RefundTender(t.gateway, amount, t.parent_id) for t, amount in split]


class RefundActivities:
    def __init__(self, shopify: ShopifyAccess) -> None:
        self.shopify = shopify

    @activity.defn(name="issue_refund")
    async def issue_refund(self, req: IssueRefundInput) -> RefundOutcome:
        """At most one refund per Rebound return: idempotency key, plus a read of the order's refunds first
        (keys expire after 24 h and staff refund by hand)."""
        async with classified():
            client = self.shopify.client(req.shop)
            order, snap = await self._read(client, req)
            ours = _our_refund(order, req.rebound_return_id, req.part)
            if ours is not None:
                return RefundOutcome("already_issued", ours["id"], str(money(ours["totalRefundedSet"])))
            manual = covering_refund(order, req)
            if manual is not None:
                return preempted_by(manual)
            plan, tenders = await self._priced(client, req, snap)
            amount = Decimal(plan.total)
            refund_input: dict[str, Any] = {
                "orderId": req.order_id,
                "note": f"Rebound return {req.rebound_return_id} {refund_marker(req.rebound_return_id, req.part)}",
                "notify": False,
                "currency": snap.currency,
                "refundLineItems": [
                    {"lineItemId": line.line_item_id, "quantity": line.quantity, "restockType": "NO_RESTOCK"}
                    for line in plan.lines
                ],
            }
            if plan.method == "store_credit":
                credit = {"amount": str(amount), "currencyCode": snap.currency}
                refund_input["refundMethods"] = [{"storeCreditRefund": {"amount": credit}}]
            else:
                refund_input["transactions"] = [
                    {"orderId": req.order_id, "parentId": t.parent_id, "amount": t.amount, "gateway": t.gateway,
                     "kind": "REFUND"}
                    for t in tenders
                ]  # fmt: skip
            try:
                variables = {"input": refund_input, "idempotencyKey": req.idempotency_key}
                result = await client.mutate("RefundCreate", "refundCreate", variables)
            except ShopifyUserError:
                # Refused on its merits: if someone refunded these items since our read, that is a pre-emption
                # (a finance exception), not a failure of ours.
                order, _ = await self._read(client, req)
                manual = covering_refund(order, req)
                if manual is None:
                    raise
                return preempted_by(manual)
            refund = result["refund"]
            refunded = money(refund["totalRefundedSet"])
            if refunded != amount:  # never silently accept a refund of another amount: finance must look at it
                problem = {
                    "field": ["amount"],
                    "message": f"Shopify refunded {refunded} for {refund['id']}, {amount} was asked",
                }
                raise ShopifyUserError("RefundCreate", [problem])
            refund_issued(req.shop.brand, snap.currency, str(refunded))
            return RefundOutcome("issued", refund["id"], str(refunded), currency=snap.currency, tenders=tenders,
                                 plan=plan)  # fmt: skip

    async def _read(self, client: ShopifyClient, req: IssueRefundInput) -> tuple[dict[str, Any], OrderSnapshot]:
        """The order's refunds and payments as they are now. The workflow carries the rest of the order since
        validate_order (a return started before it did not: the whole order is read)."""
        if req.order is None:
            whole = await self.shopify.order(client, req.order_id, req.rebound_return_id, "refunds")
            return whole, snapshot(whole)
        order: dict[str, Any] | None = (await client.execute("OrderPayments", {"id": req.order_id})).get("order")
        if order is None:
            raise ShopifyUserError("OrderPayments", [{"field": ["id"], "message": f"order {req.order_id} not found"}])
        return order, dataclasses.replace(req.order, payments=payments_of(order.get("transactions") or []))

    async def _priced(
        self, client: ShopifyClient, req: IssueRefundInput, snap: OrderSnapshot
    ) -> tuple[RefundPlan, list[RefundTender]]:
        """The refund in the customer's currency: the mapping's lines and percentages, valued by Shopify's
        suggestedRefund (price with tax and discounts), the mapping's fees at the order's rate; then split across
        the payments (gift cards first or last). A return started before this had only a plan: it keeps it."""
        plan = req.plan
        if req.lines and req.rules is not None:
            lines = [{"lineItemId": line.line_item_id, "quantity": line.quantity} for line in req.lines]
            suggested = (await client.execute("SuggestedRefund", {"id": req.order_id, "lines": lines}))["order"]
            plan = priced_plan(req.lines, req.rules, suggested["suggestedRefund"], snap)
        return plan, split_tenders(plan, snap, req)

    @activity.defn(name="find_refund")
    async def find_refund(self, req: IssueRefundInput) -> RefundOutcome:
        """For brands whose refunds Rebound's app issues: is there a refund for these items?"""
        async with classified():
            client = self.shopify.client(req.shop)
            order, _ = await self._read(client, req)
            found = _our_refund(order, req.rebound_return_id) or covering_refund(order, req)
            if found is None:
                return RefundOutcome("not_found", None, "0", "no refund for these items yet")
            return RefundOutcome("verified", found["id"], str(money(found["totalRefundedSet"])))

    @activity.defn(name="credit_bonus")
    async def credit_bonus(self, req: BonusInput) -> BonusOutcome:
        """Store-credit bonus, once: recorded on the order right after crediting, and looked for before."""
        async with classified():
            client = self.shopify.client(req.shop)
            # The bonus record's key carries a later parcel round's part (the link key is not read here).
            order = await self.shopify.order(client, req.order_id, req.rebound_return_id + req.part)
            record = order.get("bonusRecord")
            if record:
                return BonusOutcome("already_credited", json.loads(record["value"]).get("transaction_id"), req.amount)
            customer_id = req.customer_id or (order.get("customer") or {}).get("id")  # read here, not carried
            if customer_id is None:
                problem = {"field": ["id"], "message": "the order has no customer to credit"}
                raise ShopifyUserError("StoreCreditBonus", [problem])
            req = dataclasses.replace(req, customer_id=customer_id)
            # An earlier call may have credited and stopped before recording it (a retry, or a call the
            # workflow repeated after waiting for the shop's budget): look for that credit first.
            found = await self._recent_credit(client, req, parse_time(req.not_before))
            if found:
                await self._record_bonus(client, req, found)
                return BonusOutcome("already_credited", found, req.amount)
            credit = {"creditAmount": {"amount": req.amount, "currencyCode": req.currency}}
            result = await client.mutate("StoreCreditBonus", "storeCreditAccountCredit",
                                         {"id": req.customer_id, "creditInput": credit})  # fmt: skip
            transaction_id = result["storeCreditAccountTransaction"]["id"]
            await self._record_bonus(client, req, transaction_id)
            return BonusOutcome("credited", transaction_id, req.amount)

    async def _recent_credit(self, client: ShopifyClient, req: BonusInput, since: datetime) -> str | None:
        data = await client.execute("CustomerStoreCredit", {"id": req.customer_id})
        for account in ((data.get("customer") or {}).get("storeCreditAccounts") or {}).get("nodes", []):
            for tx in account["transactions"]["nodes"]:  # newest first
                same = Decimal(str(tx["amount"]["amount"])) == Decimal(req.amount)
                manual = tx.get("event") in (None, "ADJUSTMENT")  # not a refund's own credit
                # Shopify's createdAt has whole seconds; allow for that and a little clock skew.
                recent = parse_time(tx["createdAt"]) >= since - timedelta(seconds=5)
                if tx.get("id") and same and manual and recent:
                    return str(tx["id"])
        return None

    async def _record_bonus(self, client: ShopifyClient, req: BonusInput, transaction_id: str) -> None:
        value = json.dumps(
            {"rebound_return_id": req.rebound_return_id, "transaction_id": transaction_id, "amount": req.amount}
        )
        key = bonus_key(req.rebound_return_id + req.part)
        await set_metafield(client, req.order_id, ["rebound-return"], key, value)
