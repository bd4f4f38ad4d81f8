"""The Shopify work of each lifecycle step. Every write is idempotent, keyed by the Rebound return id:
reads what Shopify already has before writing, and carries the id on everything it writes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from engine.activities.messages import (
    BonusInput,
    BonusOutcome,
    CreateReturnInput,
    Disposal,
    DisposeInput,
    DisposeResult,
    IssueRefundInput,
    OrderLine,
    OrderSnapshot,
    OrderStatusInput,
    RefundOutcome,
    ReturnRefInput,
    ShopifyReturnRef,
    ShopRef,
    TrackingInput,
    ValidateOrderInput,
    ValidateOrderResult,
)
from engine.settings import Settings, shopify_token
from engine.shopify.client import ShopifyClient, shop_client
from engine.shopify.errors import (
    ShopifyRequestError,
    ShopifyThrottledError,
    ShopifyTransientError,
    ShopifyUserError,
)
from engine.shopify.throttle import CostBudget

METAFIELD_NAMESPACE = "rebound"


def _metafield_key(prefix: str, rebound_return_id: str) -> str:
    """Order metafield key for one Rebound return (2–64 chars of [A-Za-z0-9_-])."""
    return (prefix + re.sub(r"[^A-Za-z0-9_-]", "", rebound_return_id))[:64]


def link_key(rebound_return_id: str) -> str:
    return _metafield_key("return_", rebound_return_id)


def bonus_key(rebound_return_id: str) -> str:
    return _metafield_key("bonus_", rebound_return_id)


def refund_marker(rebound_return_id: str) -> str:
    return f"[rebound-return:{rebound_return_id}]"


def _money(node: dict[str, Any] | None) -> Decimal:
    return Decimal(str(((node or {}).get("shopMoney") or {}).get("amount") or "0"))


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ShopifyActivities:
    """Activities as bound methods so the worker can share one HTTP pool and its settings."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        token_lookup: Callable[[str], str] = shopify_token,
        budget: CostBudget | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._token_lookup = token_lookup
        self.budget = budget or CostBudget()  # one per process: every Shopify call of this process shares it

    def client(self, shop: ShopRef) -> ShopifyClient:
        return shop_client(
            shop.domain,
            shop.api_version,
            settings=self._settings,
            token_lookup=self._token_lookup,
            http=self._http,
            budget=self.budget,
            deadline=_attempt_deadline(),
        )

    # ------------------------------------------------------------------ reads

    async def _order(self, client: ShopifyClient, order_id: str, rebound_id: str, *parts: str) -> dict[str, Any]:
        """The order header plus the named parts (fulfillments, refunds, returns), each its own cheap query."""
        keys = {"metafieldKey": link_key(rebound_id), "bonusKey": bonus_key(rebound_id)}
        data = await client.execute("OrderForReturn", {"id": order_id, **keys})
        order = data.get("order")
        if order is None:
            raise ShopifyUserError("OrderForReturn", [{"field": ["id"], "message": f"order {order_id} not found"}])
        merged = dict(order)
        for part in parts:
            extra = (await client.execute(f"Order{part.capitalize()}", {"id": order_id})).get("order") or {}
            merged[part] = extra.get(part)
        return merged

    @staticmethod
    def _snapshot(order: dict[str, Any]) -> OrderSnapshot:
        fulfilled: dict[str, tuple[str, int]] = {}
        for fulfillment in order.get("fulfillments") or []:
            if fulfillment.get("status") not in (None, "SUCCESS"):
                continue
            for fli in fulfillment["fulfillmentLineItems"]["nodes"]:
                line_id = fli["lineItem"]["id"]
                prev = fulfilled.get(line_id)
                fulfilled[line_id] = (
                    prev[0] if prev else fli["id"],
                    (prev[1] if prev else 0) + fli["quantity"],
                )
        sale = next(
            (
                t
                for t in order.get("transactions") or []
                if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"
            ),
            None,
        )
        paid = sum(
            (
                _money(t["amountSet"])
                for t in order.get("transactions") or []
                if t["kind"] in ("SALE", "CAPTURE") and t["status"] == "SUCCESS"
            ),
            Decimal(0),
        )
        refunded = sum(
            (
                _money(t["amountSet"])
                for t in order.get("transactions") or []
                if t["kind"] == "REFUND" and t["status"] == "SUCCESS"
            ),
            Decimal(0),
        )
        lines = []
        for node in order["lineItems"]["nodes"]:
            fli_id, qty = fulfilled.get(node["id"], ("", 0))
            variant = node.get("variant") or {}
            lines.append(
                OrderLine(
                    line_item_id=node["id"],
                    fulfillment_line_item_id=fli_id,
                    sku=node.get("sku") or "",
                    unit_price=str(_money(node["discountedUnitPriceAfterAllDiscountsSet"])),
                    inventory_item_id=(variant.get("inventoryItem") or {}).get("id"),
                    fulfilled_quantity=qty,
                    refundable_quantity=node["refundableQuantity"],
                )
            )
        return OrderSnapshot(
            order_id=order["id"],
            name=order["name"],
            currency=order["currencyCode"],
            processed_at=order["processedAt"],
            sale_transaction_id=sale["id"] if sale else None,
            gateway=sale["gateway"] if sale else None,
            net_payment=str(paid - refunded),
            lines=lines,
            customer_id=(order.get("customer") or {}).get("id"),
        )

    # ------------------------------------------------------------------ steps

    @activity.defn(name="validate_order")
    async def validate_order(self, req: ValidateOrderInput) -> ValidateOrderResult:
        async with _classified():
            client = self.client(req.shop)
            name = req.order_name if req.order_name.startswith("#") else f"#{req.order_name}"
            found = (await client.execute("FindOrderByName", {"query": f"name:{name}"}))["orders"]["nodes"]
            exact = [o for o in found if o["name"] == name]
            if not exact:
                return ValidateOrderResult(False, [f"order {name} not found in {req.shop.domain}"])
            order = await self._order(client, exact[0]["id"], req.rebound_return_id, "fulfillments")
            snapshot = self._snapshot(order)
            problems: list[str] = []
            if order.get("cancelledAt"):
                problems.append(f"order {name} was cancelled")
            wanted: dict[str, int] = {}
            for item in req.items:
                wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
            if not wanted:
                problems.append("the return has no items")
            for sku, qty in wanted.items():
                line = snapshot.line_for_sku(sku)
                if line is None:
                    problems.append(f"SKU {sku} is not on order {name}")
                elif line.fulfilled_quantity < qty:
                    problems.append(f"SKU {sku}: {qty} returned but {line.fulfilled_quantity} fulfilled")
                elif req.check_refundable and line.refundable_quantity < qty:
                    problems.append(f"SKU {sku}: {qty} returned but only {line.refundable_quantity} still refundable")
            window_end = _parse_time(snapshot.processed_at) + timedelta(days=req.return_window_days)
            if _parse_time(req.registered_at) > window_end:
                problems.append(
                    f"registered {req.registered_at[:10]}, outside the {req.return_window_days}-day return window"
                    f" (ended {window_end.date().isoformat()})"
                )
            return ValidateOrderResult(not problems, problems, snapshot)

    @activity.defn(name="create_return")
    async def create_return(self, req: CreateReturnInput) -> ShopifyReturnRef:
        async with _classified():
            client = self.client(req.shop)
            order = await self._order(client, req.order_id, req.rebound_return_id, "returns")
            linked = _linked_return_id(order)
            if linked:
                return await self._return_ref(client, linked, adopted=True)
            # An earlier call (a retry, or a call the workflow repeated after waiting for the shop's budget)
            # may have created the return and stopped before linking it: adopt it rather than create another.
            adopted = _matching_unlinked_return(order, {ln.fulfillment_line_item_id: ln.quantity for ln in req.lines})
            if adopted:
                ref = await self._return_ref(client, adopted, adopted=True)
                await self._link(client, req.shop, req.order_id, req.rebound_return_id, {"shopify_return_id": adopted})
                return ref
            handles = sorted({ln.reason_handle for ln in req.lines} | {"other-reason"})
            defs = await client.execute("ReturnReasonDefinitions", {"handles": handles})
            by_handle = {d["handle"]: d["id"] for d in defs["returnReasonDefinitions"]["nodes"] if not d["deleted"]}
            line_inputs = []
            for line in req.lines:
                reason_id = by_handle.get(line.reason_handle) or by_handle.get("other-reason")
                if reason_id is None:
                    raise ShopifyUserError(
                        "ReturnCreate",
                        [
                            {
                                "field": ["returnReasonDefinitionId"],
                                "message": f"no reason {line.reason_handle!r}",
                            }
                        ],
                    )
                line_inputs.append(
                    {
                        "fulfillmentLineItemId": line.fulfillment_line_item_id,
                        "quantity": line.quantity,
                        "returnReasonDefinitionId": reason_id,
                        "returnReasonNote": line.note,
                    }
                )
            result = await client.mutate(
                "ReturnCreate",
                "returnCreate",
                {
                    "returnInput": {
                        "orderId": req.order_id,
                        "returnLineItems": line_inputs,
                        "requestedAt": req.requested_at,
                    }
                },
            )
            ref = _ref_from_return(result["return"], adopted=False)
            await self._link(
                client, req.shop, req.order_id, req.rebound_return_id, {"shopify_return_id": ref.return_id}
            )
            return ref

    async def _return_ref(self, client: ShopifyClient, return_id: str, *, adopted: bool) -> ShopifyReturnRef:
        data = await client.execute("ReturnForSync", {"id": return_id})
        if data.get("return") is None:
            raise ShopifyUserError("ReturnForSync", [{"field": ["id"], "message": f"return {return_id} not found"}])
        return _ref_from_return(data["return"], adopted=adopted)

    async def _link(
        self, client: ShopifyClient, shop: ShopRef, order_id: str, rebound_id: str, fields: dict[str, Any]
    ) -> None:
        value = json.dumps({"rebound_return_id": rebound_id, "brand": shop.brand, **fields}, sort_keys=True)
        await _set_metafield(client, order_id, ["rebound-return", f"rebound:{rebound_id}"], link_key(rebound_id), value)

    @activity.defn(name="attach_tracking")
    async def attach_tracking(self, req: TrackingInput) -> None:
        async with _classified():
            client = self.client(req.shop)
            data = await client.execute("ReturnForSync", {"id": req.return_id})
            for rfo in (data.get("return") or {}).get("reverseFulfillmentOrders", {}).get("nodes", []):
                for delivery in rfo["reverseDeliveries"]["nodes"]:
                    tracking = (delivery.get("deliverable") or {}).get("tracking") or {}
                    if tracking.get("number") == req.number:
                        return
            tracking_input: dict[str, Any] = {"number": req.number}
            if req.url:
                tracking_input["url"] = req.url
            await client.mutate(
                "ReverseDeliveryCreate",
                "reverseDeliveryCreateWithShipping",
                {"rfoId": req.rfo_id, "tracking": tracking_input},
            )

    @activity.defn(name="sync_order_status")
    async def sync_order_status(self, req: OrderStatusInput) -> None:
        async with _classified():
            client = self.client(req.shop)
            await self._link(
                client,
                req.shop,
                req.order_id,
                req.rebound_return_id,
                {
                    "state": req.state,
                    "shopify_return_id": req.return_id,
                    "tracking_number": req.tracking_number,
                    "refund_id": req.refund_id,
                },
            )

    @activity.defn(name="dispose_items")
    async def dispose_items(self, req: DisposeInput) -> DisposeResult:
        """Apply each disposition once: what Shopify already shows for a line is not applied again."""
        async with _classified():
            client = self.client(req.shop)
            data = await client.execute("ReturnForSync", {"id": req.return_id})
            ret = data.get("return")
            if ret is None:
                raise ShopifyUserError(
                    "ReturnForSync", [{"field": ["id"], "message": f"return {req.return_id} not found"}]
                )
            existing: dict[tuple[str, str, str | None], int] = {}
            undisposed: dict[str, int] = {}
            for rfo in ret["reverseFulfillmentOrders"]["nodes"]:
                for line in rfo["lineItems"]["nodes"]:
                    total = line["totalQuantity"]
                    for d in line["dispositions"]:
                        key = (line["id"], d["type"], (d.get("location") or {}).get("id"))
                        existing[key] = existing.get(key, 0) + d["quantity"]
                        total -= d["quantity"]
                    undisposed[line["id"]] = total
            result = DisposeResult()
            to_apply: list[Disposal] = []
            for want in req.disposals:
                key = (want.rfo_line_id, want.disposition, want.location_id)
                done = min(existing.get(key, 0), want.quantity)
                if done:
                    existing[key] -= done
                    result.already_done.append(Disposal(want.rfo_line_id, done, want.disposition, want.location_id))
                remaining = want.quantity - done
                if remaining <= 0:
                    continue
                if undisposed.get(want.rfo_line_id, 0) < remaining:
                    raise ShopifyUserError(
                        "ReverseFulfillmentOrderDispose",
                        [
                            {
                                "field": ["dispositionInputs"],
                                "message": f"{want.rfo_line_id}: only "
                                f"{undisposed.get(want.rfo_line_id, 0)} left to dispose, {remaining} asked",
                            }
                        ],
                    )
                undisposed[want.rfo_line_id] -= remaining
                to_apply.append(Disposal(want.rfo_line_id, remaining, want.disposition, want.location_id))
            if to_apply:
                inputs = []
                for d in to_apply:
                    entry: dict[str, Any] = {
                        "reverseFulfillmentOrderLineItemId": d.rfo_line_id,
                        "quantity": d.quantity,
                        "dispositionType": d.disposition,
                    }
                    if d.location_id:
                        entry["locationId"] = d.location_id
                    inputs.append(entry)
                await client.mutate(
                    "ReverseFulfillmentOrderDispose",
                    "reverseFulfillmentOrderDispose",
                    {"dispositionInputs": inputs},
                )
                result.applied = to_apply
            return result

    @activity.defn(name="issue_refund")
    async def issue_refund(self, req: IssueRefundInput) -> RefundOutcome:
        """At most one refund per Rebound return: idempotency key, plus a read of the order's refunds first
        (keys expire after 24 h and staff refund by hand)."""
        async with _classified():
            client = self.client(req.shop)
            order = await self._order(client, req.order_id, req.rebound_return_id, "refunds")
            ours = _our_refund(order, req.rebound_return_id)
            if ours is not None:
                return RefundOutcome("already_issued", ours["id"], str(_money(ours["totalRefundedSet"])))
            manual = _covering_refund(order, req)
            if manual is not None:
                return _preempted(manual)
            snapshot = self._snapshot(order)
            if snapshot.sale_transaction_id is None and req.plan.method != "store_credit":
                raise ShopifyUserError(
                    "RefundCreate",
                    [{"field": ["transactions"], "message": "order has no successful payment to refund"}],
                )
            amount = min(Decimal(req.plan.total), Decimal(snapshot.net_payment))
            refund_input: dict[str, Any] = {
                "orderId": req.order_id,
                "note": f"Rebound return {req.rebound_return_id} {refund_marker(req.rebound_return_id)}",
                "notify": False,
                "refundLineItems": [
                    {"lineItemId": line.line_item_id, "quantity": line.quantity, "restockType": "NO_RESTOCK"}
                    for line in req.plan.lines
                ],
            }
            if req.plan.method == "store_credit":
                money = {"amount": str(amount), "currencyCode": snapshot.currency}
                refund_input["refundMethods"] = [{"storeCreditRefund": {"amount": money}}]
            else:
                refund_input["transactions"] = [
                    {
                        "orderId": req.order_id,
                        "parentId": snapshot.sale_transaction_id,
                        "amount": str(amount),
                        "gateway": snapshot.gateway,
                        "kind": "REFUND",
                    }
                ]
            try:
                result = await client.mutate(
                    "RefundCreate", "refundCreate", {"input": refund_input, "idempotencyKey": req.idempotency_key}
                )
            except ShopifyUserError:
                # Refused on its merits: if someone refunded these items since our read, that is a pre-emption
                # (a finance exception), not a failure of ours.
                order = await self._order(client, req.order_id, req.rebound_return_id, "refunds")
                manual = _covering_refund(order, req)
                if manual is None:
                    raise
                return _preempted(manual)
            refund = result["refund"]
            refunded = _money(refund["totalRefundedSet"])
            if refunded != amount:
                # Never silently accept a refund of a different amount: finance must look at it.
                raise ShopifyUserError(
                    "RefundCreate",
                    [
                        {
                            "field": ["amount"],
                            "message": f"Shopify refunded {refunded} for {refund['id']}, {amount} was asked",
                        }
                    ],
                )
            return RefundOutcome("issued", refund["id"], str(refunded))

    @activity.defn(name="find_refund")
    async def find_refund(self, req: IssueRefundInput) -> RefundOutcome:
        """For brands whose refunds Rebound's app issues: is there a refund for these items?"""
        async with _classified():
            client = self.client(req.shop)
            order = await self._order(client, req.order_id, req.rebound_return_id, "refunds")
            found = _our_refund(order, req.rebound_return_id) or _covering_refund(order, req)
            if found is None:
                return RefundOutcome("not_found", None, "0", "no refund for these items yet")
            return RefundOutcome("verified", found["id"], str(_money(found["totalRefundedSet"])))

    @activity.defn(name="credit_bonus")
    async def credit_bonus(self, req: BonusInput) -> BonusOutcome:
        """Store-credit bonus, once: recorded on the order right after crediting, and looked for before."""
        async with _classified():
            client = self.client(req.shop)
            order = await self._order(client, req.order_id, req.rebound_return_id)
            record = order.get("bonusRecord")
            if record:
                return BonusOutcome("already_credited", json.loads(record["value"]).get("transaction_id"), req.amount)
            if req.customer_id is None:
                raise ShopifyUserError(
                    "StoreCreditBonus", [{"field": ["id"], "message": "the order has no customer to credit"}]
                )
            # An earlier call may have credited and stopped before recording it (a retry, or a call the
            # workflow repeated after waiting for the shop's budget): look for that credit first.
            found = await self._recent_credit(client, req, _parse_time(req.not_before))
            if found:
                await self._record_bonus(client, req, found)
                return BonusOutcome("already_credited", found, req.amount)
            result = await client.mutate(
                "StoreCreditBonus",
                "storeCreditAccountCredit",
                {
                    "id": req.customer_id,
                    "creditInput": {"creditAmount": {"amount": req.amount, "currencyCode": req.currency}},
                },
            )
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
                recent = _parse_time(tx["createdAt"]) >= since - timedelta(seconds=5)
                if tx.get("id") and same and manual and recent:
                    return str(tx["id"])
        return None

    async def _record_bonus(self, client: ShopifyClient, req: BonusInput, transaction_id: str) -> None:
        value = json.dumps(
            {"rebound_return_id": req.rebound_return_id, "transaction_id": transaction_id, "amount": req.amount}
        )
        await _set_metafield(client, req.order_id, ["rebound-return"], bonus_key(req.rebound_return_id), value)

    @activity.defn(name="close_return")
    async def close_return(self, req: ReturnRefInput) -> None:
        async with _classified():
            await self.client(req.shop).mutate("ReturnClose", "returnClose", {"id": req.return_id})

    @activity.defn(name="cancel_return")
    async def cancel_return(self, req: ReturnRefInput) -> None:
        async with _classified():
            await self.client(req.shop).mutate("ReturnCancel", "returnCancel", {"id": req.return_id})

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.validate_order,
            self.create_return,
            self.attach_tracking,
            self.sync_order_status,
            self.dispose_items,
            self.issue_refund,
            self.credit_bonus,
            self.find_refund,
            self.close_return,
            self.cancel_return,
        ]


def _linked_return_id(order: dict[str, Any]) -> str | None:
    metafield = order.get("metafield")
    if not metafield:
        return None
    try:
        value = json.loads(metafield["value"])
    except (ValueError, TypeError):
        return None
    linked = value.get("shopify_return_id")
    return str(linked) if linked else None


def _linked_elsewhere(order: dict[str, Any]) -> set[str]:
    """Shopify returns already linked to some Rebound return (ours or another) by the order's metafields."""
    linked = set()
    for node in ((order.get("reboundLinks") or {}).get("nodes")) or []:
        try:
            value = json.loads(node["value"])
        except (ValueError, TypeError):
            continue
        if isinstance(value, dict) and value.get("shopify_return_id"):
            linked.add(str(value["shopify_return_id"]))
    return linked


def _matching_unlinked_return(order: dict[str, Any], wanted: dict[str, int]) -> str | None:
    taken = _linked_elsewhere(order)
    for ret in (order.get("returns") or {}).get("nodes", []):
        if ret["status"] not in ("OPEN", "REQUESTED") or ret["id"] in taken:
            continue
        lines: dict[str, int] = {}
        for node in ret["returnLineItems"]["nodes"]:
            fli = (node.get("fulfillmentLineItem") or {}).get("id")
            if fli:
                lines[fli] = lines.get(fli, 0) + node["quantity"]
        if lines == wanted:
            return str(ret["id"])
    return None


def _ref_from_return(ret: dict[str, Any], *, adopted: bool) -> ShopifyReturnRef:
    rfos = ret["reverseFulfillmentOrders"]["nodes"]
    if not rfos:
        raise ShopifyUserError(
            "ReturnCreate", [{"field": ["return"], "message": "return has no reverse fulfillment order"}]
        )
    rfo = rfos[0]
    lines = {node["fulfillmentLineItem"]["id"]: node["id"] for node in rfo["lineItems"]["nodes"]}
    return ShopifyReturnRef(ret["id"], ret.get("name") or ret["id"], rfo["id"], lines, adopted)


def _our_refund(order: dict[str, Any], rebound_id: str) -> dict[str, Any] | None:
    marker = refund_marker(rebound_id)
    return next((r for r in order.get("refunds") or [] if marker in (r.get("note") or "")), None)


def _covering_refund(order: dict[str, Any], req: IssueRefundInput) -> dict[str, Any] | None:
    """A refund made since the return was registered, by someone else, for any of the same line items."""
    our_lines = {line.line_item_id for line in req.plan.lines}
    since = _parse_time(req.registered_at) if req.registered_at else None
    for refund in order.get("refunds") or []:
        if since and _parse_time(refund["createdAt"]) < since:
            continue
        lines = {n["lineItem"]["id"] for n in refund["refundLineItems"]["nodes"]}
        if lines & our_lines:
            return refund
    return None


async def _set_metafield(client: ShopifyClient, order_id: str, tags: list[str], key: str, value: str) -> None:
    """Tag the order and write one JSON metafield in one call (metafieldsSet upserts by key: idempotent)."""
    await client.mutate(
        "OrderLinkSet",
        "metafieldsSet",
        {
            "orderId": order_id,
            "tags": tags,
            "metafields": [
                {"ownerId": order_id, "namespace": METAFIELD_NAMESPACE, "key": key, "type": "json", "value": value}
            ],
        },
    )


def _preempted(manual: dict[str, Any]) -> RefundOutcome:
    """Someone refunded these items outside the engine: a finance exception, not a failure."""
    return RefundOutcome(
        "preempted",
        manual["id"],
        str(_money(manual["totalRefundedSet"])),
        f"{manual['id']} created {manual['createdAt']} covers these items",
    )


def _attempt_deadline() -> float | None:
    """The ``time.monotonic()`` instant by which this activity attempt must stop waiting for the shop's cost
    budget: its start-to-close timeout, less a quarter (at least 1 s) for the calls themselves."""
    try:
        info = activity.info()
    except RuntimeError:  # not in an activity
        return None
    if info.start_to_close_timeout is None:
        return None
    total = info.start_to_close_timeout.total_seconds()
    elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
    return time.monotonic() + max(total - elapsed - max(1.0, total / 4), 0.0)


@asynccontextmanager
async def _classified() -> AsyncIterator[None]:
    """Turn Shopify failures into Temporal's vocabulary: permanent ones are non-retryable."""
    try:
        yield
    except ShopifyUserError as exc:
        raise ApplicationError(str(exc), exc.user_errors, type="ShopifyUserError", non_retryable=True) from None
    except ShopifyRequestError as exc:
        raise ApplicationError(str(exc), type="ShopifyRejected", non_retryable=True) from None
    except ShopifyThrottledError as exc:  # waiting for the shop's cost budget; nothing was sent
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), type="ShopifyThrottled", next_retry_delay=delay) from None
    except ShopifyTransientError as exc:
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        raise ApplicationError(str(exc), type="ShopifyTransient", next_retry_delay=delay) from None
    except LookupError as exc:
        raise ApplicationError(str(exc), type="ShopifyRejected", non_retryable=True) from None
