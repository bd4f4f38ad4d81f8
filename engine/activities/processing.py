"""Settling a return through Shopify's own return (`process_return`): returnProcess confirms the lines the refund
covers, issues the refund (payments split as the mapping says, or store credit) and counts the return in the
merchant's reports, in one call. It takes no idempotency key, so "once" rests on Shopify's record of the return:
each line's processable quantity (what is left to settle) and the refunds processing made, read before any write
whose earlier outcome is unknown, plus the order's refunds (one made beside the return pre-empts ours)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, Literal

from temporalio import activity

from engine.activities.exchanges import (
    ExchangeDecision,
    exchange_difference,
    exchange_lines_by_variant,
    financial_outcome,
    only_units,
    remove_exchange_lines,
    suggested_outcome,
    variants_by_sku,
    without_units,
)
from engine.activities.messages import (
    ExchangeRequest,
    ExchangeResult,
    IssueRefundInput,
    OrderSnapshot,
    ProcessReturnInput,
    RefundOutcome,
)
from engine.activities.pricing import outcome_plan, with_total
from engine.activities.refunds import RefundActivities, covering_refund, preempted_by, split_tenders
from engine.activities.shopify import classified, may_have_written, money, refund_marker
from engine.definitions.mapping import ExchangeRules
from engine.errors import ShopifyUserError
from engine.money import show
from engine.refunds import RefundPlan
from engine.shopify.client import ShopifyClient
from engine.telemetry.instruments import refund_issued


def wanted_lines(ret: dict[str, Any], covered: dict[str, int]) -> dict[str, int]:
    """The return's lines and quantities the refund covers, by order line item (a line returned in two Shopify
    return lines is taken from the first with units left to process)."""
    left = {node["id"]: int(node["processableQuantity"]) for node in ret["returnLineItems"]["nodes"]}
    by_item: dict[str, list[str]] = {}
    for node in ret["returnLineItems"]["nodes"]:
        item = ((node.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id")
        if item:
            by_item.setdefault(item, []).append(node["id"])
    wanted: dict[str, int] = {}
    for line_item_id, quantity in covered.items():
        need = quantity
        candidates = by_item.get(line_item_id, [])
        for rl in candidates:
            take = min(need, left[rl])
            if take:
                wanted[rl] = wanted.get(rl, 0) + take
                left[rl] -= take
                need -= take
        if need and candidates:  # not enough left to process: ask for it anyway, the check below says why
            wanted[candidates[0]] = wanted.get(candidates[0], 0) + need
        if not candidates:
            problem = {"field": ["returnLineItems"], "message": f"line item {line_item_id} is not on the return"}
            raise ShopifyUserError("ReturnProcess", [problem])
    return wanted


def first_lines(req: ProcessReturnInput, snap: OrderSnapshot) -> dict[str, int] | None:
    """The return lines the refund covers, from the return the workflow opened (no read: a first call); None when
    it does not list them all (opened before it did, or more lines than returnCreate's answer holds)."""
    fli_of = {line.line_item_id: line.fulfillment_line_item_id for line in snap.lines}
    wanted: dict[str, int] = {}
    for line_item_id, quantity in req.covered().items():
        rl = req.return_lines.get(fli_of.get(line_item_id, ""))
        if rl is None:
            return None
        wanted[rl] = wanted.get(rl, 0) + quantity
    return wanted


def settled_already(ret: dict[str, Any], wanted: dict[str, int]) -> bool:
    """Shopify's record says these units were settled: fewer are left to process than the refund covers."""
    left = {node["id"]: int(node["processableQuantity"]) for node in ret["returnLineItems"]["nodes"]}
    return any(left.get(rl, 0) < qty for rl, qty in wanted.items())


def units_of_requests(requests: list[ExchangeRequest]) -> dict[str, int]:
    units: dict[str, int] = {}
    for ex in requests:
        units[ex.line_item_id] = units.get(ex.line_item_id, 0) + ex.quantity
    return units


def units_of(decisions: list[ExchangeDecision]) -> dict[str, int]:
    """The returned order line items and units these exchanges settle."""
    return units_of_requests([d.request for d in decisions])


def exchange_result(decision: ExchangeDecision) -> ExchangeResult:
    ex = decision.request
    state: Literal["released", "refunded_instead"] = "refunded_instead" if decision.refund_instead else "released"
    return ExchangeResult(ex.sku, ex.wanted_sku, ex.quantity, state, decision.refund_instead)


def settled_exchanges(ret: dict[str, Any], req: ProcessReturnInput, outcome: RefundOutcome) -> list[ExchangeResult]:
    """Settled before this call: the exchanges Shopify's record shows processed are released. Ours (an answer
    lost), the rest were refunded instead; a person's, the rest are theirs to settle (drift tells CX)."""
    processed = sum(int(node["processedQuantity"]) for node in (ret.get("exchangeLineItems") or {}).get("nodes") or [])
    out = []
    for ex in req.exchanges:
        take = min(processed, ex.quantity)
        processed -= take
        state: Literal["released", "refunded_instead"] = "released" if take == ex.quantity else "refunded_instead"
        if outcome.status == "preempted" and state != "released":
            continue
        by = " by someone in Shopify" if outcome.status == "preempted" else ""
        out.append(ExchangeResult(ex.sku, ex.wanted_sku, ex.quantity, state,
                                  by.strip() if take == ex.quantity else "not processed as an exchange"))  # fmt: skip
    return out


def waiver_note(plan: RefundPlan, refund: IssueRefundInput) -> str:
    """Why the refund is more than Shopify suggests: fees recorded on the return when it opened (a Shopify return's
    fees cannot be changed afterwards) that the refund gives back, the inspection having found the fault not the
    customer's. Empty when nothing was waived."""
    if not Decimal(plan.fees_waived):
        return ""
    found = sorted({line.sku for line in refund.lines if line.fault != line.fault_at_opening})
    return (f"; fees of {show(plan.fees_waived, plan.currency)} recorded on this return refunded: inspection found "
            f"{', '.join(found)} not the customer's fault")  # fmt: skip


class ProcessActivities(RefundActivities):
    @activity.defn(name="process_return")
    async def process_return(self, req: ProcessReturnInput) -> RefundOutcome:
        """At most one settlement per Rebound return (per parcel round): Shopify's processed quantities say
        whether it happened; a refund a person made (in the admin, beside or through the return) pre-empts it."""
        refund = req.refund
        async with classified():
            client = self.shopify.client(refund.shop)
            order, snap = await self._read(client, refund)
            ret: dict[str, Any] = {"refunds": {"nodes": []}}
            known = first_lines(req, snap)
            if may_have_written(req.repeat) or known is None or req.exchanges:
                # An earlier call may have processed (or the lines, or the exchange lines, are not known): Shopify's
                # record first.
                ret = await self._read_return(client, req.return_id)
                wanted = wanted_lines(ret, req.covered())
                if settled_already(ret, wanted):
                    outcome = self._settled_before(ret, ours_possible=may_have_written(req.repeat))
                    return dataclasses.replace(outcome, exchanges=settled_exchanges(ret, req, outcome))
            else:  # a first call: nothing of ours can be there; a person's processing makes Shopify refuse ours
                wanted = known
            manual = covering_refund(order, refund)
            if manual is not None:
                return preempted_by(manual)
            exchanges = await self._decide_exchanges(client, req, ret, snap.currency)
            released = [d for d in exchanges if not d.refund_instead]
            credit_instead = [d.request for d in exchanges if d.refund_instead and self._credit(req, d)]
            refund = without_units(refund, [d.request for d in released])
            plan = await self._refund_part(client, dataclasses.replace(req, refund=refund), ret, wanted, snap)
            credit = Decimal(0)
            if credit_instead:  # out of stock, and the brand credits store credit instead of the exchange
                credit = Decimal((await self._priced(client, only_units(refund, credit_instead), snap))[0].total)
            net = Decimal(plan.total)
            if released:  # a cheaper variant adds to the refund, a dearer one takes from it (or is owed)
                taken = {d.line_id: d.request.quantity for d in released if d.line_id}
                refund_lines = wanted_lines(ret, dataclasses.replace(req, refund=refund).covered())
                exchanged = wanted_lines(ret, units_of(released))
                net += await exchange_difference(client, req.return_id, refund_lines, exchanged, taken)
            owed, amount = max(-net, Decimal(0)), max(net, Decimal(0))
            credit = amount if plan.method == "store_credit" else min(credit, amount)
            plan = dataclasses.replace(plan, total=str(amount))
            tenders = split_tenders(dataclasses.replace(plan, total=str(amount - credit)), snap, refund)
            issue: dict[str, Any] = {"orderTransactions": [
                {"transactionAmount": {"amount": t.amount, "currencyCode": snap.currency}, "parentId": t.parent_id}
                for t in tenders
            ]}  # fmt: skip
            if credit > 0:
                money_in = {"amount": str(credit), "currencyCode": snap.currency}
                issue["refundMethods"] = [{"storeCreditRefund": {"amount": money_in}}]
            marker = refund_marker(refund.rebound_return_id, refund.part)
            process_input: dict[str, Any] = {
                "returnId": req.return_id,
                "returnLineItems": [{"id": rl, "quantity": qty} for rl, qty in wanted.items()],
                "exchangeLineItems": [
                    {"id": d.line_id, "quantity": d.request.quantity} for d in released if d.line_id
                ],  # fmt: skip
                "notifyCustomer": False,
                "note": f"Rebound return {refund.rebound_return_id} {marker}" + waiver_note(plan, refund),
            }
            if amount > 0:
                process_input["financialTransfer"] = {"issueRefund": issue}
            if req.refund_shipping:
                process_input["refundShipping"] = {"fullRefund": True}
            before = {node["id"] for node in ret["refunds"]["nodes"]}
            try:
                result = await client.mutate("ReturnProcess", "returnProcess", {"input": process_input})
            except ShopifyUserError:
                # Refused on its merits: a person who processed the return (or refunded its items) since our read
                # pre-empts us; a finance exception, not a failure of ours.
                since = await self._preempted_since(client, req, wanted)
                if since is None:
                    raise
                return since
            made = [node for node in result["return"]["refunds"]["nodes"]
                    if node["id"] not in before]  # fmt: skip
            results = [exchange_result(d) for d in exchanges]
            if amount == 0:
                detail = f"lines processed; {show(owed, snap.currency)} owed for the exchange" if owed else (
                    "lines processed; nothing refundable")  # fmt: skip
                return RefundOutcome("nothing_to_refund", None, "0", detail, currency=snap.currency, plan=plan,
                                     exchanges=results, owed=str(owed))  # fmt: skip
            if not made:
                problem = {"field": ["financialTransfer"], "message": "returnProcess made no refund"}
                raise ShopifyUserError("ReturnProcess", [problem])
            refunded = money(made[0]["totalRefundedSet"])
            if refunded != amount:  # never silently accept a refund of another amount: finance must look at it
                problem = {
                    "field": ["amount"],
                    "message": f"Shopify refunded {refunded} for {made[0]['id']}, {amount} was asked",
                }
                raise ShopifyUserError("ReturnProcess", [problem])
            refund_issued(refund.shop.brand, snap.currency, str(refunded))
            return RefundOutcome("issued", made[0]["id"], str(refunded), currency=snap.currency, tenders=tenders,
                                 plan=plan, exchanges=results)  # fmt: skip

    async def _refund_part(self, client: ShopifyClient, req: ProcessReturnInput, ret: dict[str, Any],
                           wanted: dict[str, int], snap: OrderSnapshot) -> RefundPlan:  # fmt: skip
        """The refund of the units not exchanged: the mapping's lines valued by Shopify, at Shopify's own figure
        for processing them when every unit is refunded in full and no fee is given back (one question then:
        suggestedFinancialOutcome both values the lines and settles them); suggestedRefund values them otherwise
        (a grade refunding part of a unit, fees waived, a return started before the mapping's lines were carried)."""
        if not req.refund.lines:
            return RefundPlan(currency=snap.currency, total="0.00")
        if req.exchanges:  # the units processed include exchanged ones: value the refunded ones alone
            wanted = wanted_lines(ret, req.covered())
        plan = await self._valued_by_outcome(client, req, wanted, snap)
        if plan is not None:
            return plan
        plan, _ = await self._priced(client, req.refund, snap)
        shopify_says = None if Decimal(plan.fees_waived) else await self._outcome(client, req, wanted, plan)
        if shopify_says is not None and shopify_says != Decimal(plan.total):
            plan = with_total(plan, shopify_says, req.refund.rules)
        return plan

    async def _valued_by_outcome(self, client: ShopifyClient, req: ProcessReturnInput, wanted: dict[str, int],
                                 snap: OrderSnapshot) -> RefundPlan | None:  # fmt: skip
        """Every unit refunded in full and no fee given back: Shopify's suggestedFinancialOutcome is the refund (its
        figure: the units' value with tax and discounts, less the fees on the return, capped at what the order can
        give back) and values the lines (their order prices, shared out to its worth of them); the split across
        payments is the mapping's, from the payments just read. None: not that case, or no figure (suggestedRefund
        then)."""
        rules = req.refund.rules
        if rules is None or any(Decimal(line.refund_percent) != 100 for line in req.refund.lines):
            return None
        at_order_prices = outcome_plan(req.refund.lines, rules, snap)
        if at_order_prices is None or Decimal(at_order_prices.fees_waived):
            return None
        outcome = await financial_outcome(client, req.return_id, wanted, {}, refund_shipping=req.refund_shipping,
                                          store_credit=rules.method == "store_credit")  # fmt: skip
        if outcome is None:
            return None
        plan = outcome_plan(req.refund.lines, rules, snap, outcome.valued(snap.taxes_included), outcome.maximum)
        assert plan is not None  # valued as above, the order's prices scaled to Shopify's worth of them
        return with_total(plan, outcome.amount, rules, min(Decimal(snap.net_payment), outcome.maximum))

    async def _decide_exchanges(
        self, client: ShopifyClient, req: ProcessReturnInput, ret: dict[str, Any], currency: str
    ) -> list[ExchangeDecision]:
        """Each wish released or refunded instead: no exchange line left to process on the return, the variant
        out of stock, or (the brand's rule) dearer; an exchange line refunded instead is removed from the return
        first, so Shopify never shows a unit both exchanged and refunded."""
        if not req.exchanges:
            return []
        rules = req.exchange_rules or ExchangeRules(offered=True)
        variants = await variants_by_sku(client, [ex.wanted_sku for ex in req.exchanges])
        lines = exchange_lines_by_variant(ret)
        left = {node["id"]: int(node["processableQuantity"]) for node in lines.values()}
        decisions: list[ExchangeDecision] = []
        remove: dict[str, int] = {}
        for ex in req.exchanges:
            variant = variants.get(ex.wanted_sku)
            node = lines.get(variant.id) if variant else None
            line_id = node["id"] if node else None
            if variant is None or line_id is None or left.get(line_id, 0) < ex.quantity:
                decisions.append(ExchangeDecision(ex, None, f"no exchange line for {ex.wanted_sku} left on the return"))
                continue
            reason = ""
            if variant.available < ex.quantity:
                reason = f"{ex.wanted_sku} out of stock ({variant.available} available)"
            elif rules.dearer == "refund_instead":
                others = wanted_lines(ret, dataclasses.replace(req, refund=without_units(req.refund, [ex])).covered())
                units = wanted_lines(ret, units_of_requests([ex]))
                one = await exchange_difference(client, req.return_id, others, units, {line_id: ex.quantity})
                if one < 0:
                    reason = f"{ex.wanted_sku} costs {show(-one, currency)} more; the brand refunds instead"
            if reason:
                remove[line_id] = remove.get(line_id, 0) + ex.quantity
                decisions.append(ExchangeDecision(ex, line_id, reason))
            else:
                variant.available -= ex.quantity
                decisions.append(ExchangeDecision(ex, line_id))
            left[line_id] -= ex.quantity
        await remove_exchange_lines(client, req.return_id, remove)
        return decisions

    @staticmethod
    def _credit(req: ProcessReturnInput, decision: ExchangeDecision) -> bool:
        """An exchange out of stock goes back as store credit when the brand says so."""
        rules = req.exchange_rules
        return rules is not None and rules.out_of_stock == "store_credit" and "out of stock" in decision.refund_instead

    async def _outcome(
        self, client: ShopifyClient, req: ProcessReturnInput, wanted: dict[str, int], plan: RefundPlan
    ) -> Decimal | None:
        """What Shopify says processing these lines refunds (their value with tax and discounts, less the fees on the
        return), when the mapping refunds each of them in full; a grade refunding part of a unit is the mapping's
        figure (Shopify knows nothing of grades): None then."""
        if any(Decimal(line.refund_percent) != 100 for line in req.refund.lines):
            return None
        says = await suggested_outcome(client, req.return_id, wanted, {}, refund_shipping=req.refund_shipping,
                                       store_credit=plan.method == "store_credit")  # fmt: skip
        return None if says is None else max(says, Decimal(0))  # fees beyond the lines: nothing comes back

    async def _preempted_since(
        self, client: ShopifyClient, req: ProcessReturnInput, wanted: dict[str, int]
    ) -> RefundOutcome | None:
        """After a refusal: Shopify's record now says someone settled these units (None: it does not)."""
        ret = await self._read_return(client, req.return_id)
        if settled_already(ret, wanted):
            outcome = self._settled_before(ret, ours_possible=False)
            return dataclasses.replace(outcome, exchanges=settled_exchanges(ret, req, outcome))
        order, _ = await self._read(client, req.refund)
        manual = covering_refund(order, req.refund)
        return preempted_by(manual) if manual is not None else None

    async def _read_return(self, client: ShopifyClient, return_id: str) -> dict[str, Any]:
        ret: dict[str, Any] | None = (await client.execute("ReturnForProcess", {"id": return_id})).get("return")
        if ret is None:
            raise ShopifyUserError("ReturnForProcess", [{"field": ["id"], "message": f"return {return_id} not found"}])
        return ret

    @staticmethod
    def _settled_before(ret: dict[str, Any], ours_possible: bool) -> RefundOutcome:
        """Processed already: by an earlier call of ours (its answer lost) when one may have written and no person
        made the return's refund; otherwise by a person in the admin: a finance exception, nothing more refunded."""
        refunds = ret["refunds"]["nodes"]
        latest = max(refunds, key=lambda r: r["createdAt"]) if refunds else None
        if ours_possible and (latest is None or not latest.get("staffMember")):
            if latest is None:
                return RefundOutcome("already_issued", None, "0", "lines processed earlier; no refund")
            return RefundOutcome("already_issued", latest["id"], str(money(latest["totalRefundedSet"])))
        detail = f"{ret.get('name') or ret['id']} processed by someone else"
        if latest is None:
            return RefundOutcome("preempted", None, "0", detail + " (no refund)")
        return RefundOutcome("preempted", latest["id"], str(money(latest["totalRefundedSet"])),
                             f"{detail}: {latest['id']} created {latest['createdAt']}")  # fmt: skip
