"""Settling a return through Shopify's own return (`process_return`): returnProcess confirms the lines the refund
covers, issues the refund (payments split as the mapping says, or store credit) and counts the return in the
merchant's reports, in one call. It takes no idempotency key, so "once" rests on Shopify's record of the return:
each line's processable quantity (what is left to settle) and the refunds processing made, read before any write
whose earlier outcome is unknown, plus the order's refunds (one made beside the return pre-empts ours)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from temporalio import activity

from engine.activities.messages import IssueRefundInput, OrderSnapshot, ProcessReturnInput, RefundOutcome
from engine.activities.refunds import RefundActivities, covering_refund, preempted_by, split_tenders
from engine.activities.shopify import classified, may_have_written, money, refund_marker
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
            if may_have_written(req.repeat) or known is None:
                # An earlier call may have processed (or the lines are not known): Shopify's record first.
                ret = await self._read_return(client, req.return_id)
                wanted = wanted_lines(ret, req.covered())
                if settled_already(ret, wanted):
                    return self._settled_before(ret, ours_possible=may_have_written(req.repeat))
            else:  # a first call: nothing of ours can be there; a person's processing makes Shopify refuse ours
                wanted = known
            plan, tenders = await self._priced(client, refund, snap)
            manual = covering_refund(order, refund)
            if manual is not None:
                return preempted_by(manual)
            waived = Decimal(plan.fees_waived)
            shopify_says = None if waived else await self._outcome(client, req, wanted, plan)
            if shopify_says is not None and shopify_says != Decimal(plan.total):
                plan = dataclasses.replace(plan, total=str(shopify_says))
                tenders = split_tenders(plan, snap, refund)
            amount = Decimal(plan.total)
            issue: dict[str, Any] = {"orderTransactions": [
                {"transactionAmount": {"amount": t.amount, "currencyCode": snap.currency}, "parentId": t.parent_id}
                for t in tenders
            ]}  # fmt: skip
            if plan.method == "store_credit" and amount > 0:
                credit = {"amount": str(amount), "currencyCode": snap.currency}
                issue["refundMethods"] = [{"storeCreditRefund": {"amount": credit}}]
            marker = refund_marker(refund.rebound_return_id, refund.part)
            process_input: dict[str, Any] = {
                "returnId": req.return_id,
                "returnLineItems": [{"id": rl, "quantity": qty} for rl, qty in wanted.items()],
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
                outcome = await self._preempted_since(client, req, wanted)
                if outcome is None:
                    raise
                return outcome
            made = [node for node in result["return"]["refunds"]["nodes"]
                    if node["id"] not in before]  # fmt: skip
            if amount == 0:
                return RefundOutcome("nothing_to_refund", None, "0", "lines processed; nothing refundable",
                                     currency=snap.currency, plan=plan)  # fmt: skip
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
            return RefundOutcome(
                "issued", made[0]["id"], str(refunded), currency=snap.currency, tenders=tenders, plan=plan
            )

    async def _outcome(
        self, client: ShopifyClient, req: ProcessReturnInput, wanted: dict[str, int], plan: RefundPlan
    ) -> Decimal | None:
        """What Shopify says processing these lines refunds (their value with tax and discounts, less the fees on the
        return), when the mapping refunds each of them in full; a grade refunding part of a unit is the mapping's
        figure (Shopify knows nothing of grades): None then."""
        if any(Decimal(line.refund_percent) != 100 for line in req.refund.lines):
            return None
        variables = {
            "id": req.return_id,
            "lines": [{"id": rl, "quantity": qty} for rl, qty in wanted.items()],
            "exchangeLines": [],
            "refundShipping": {"fullRefund": True} if req.refund_shipping else None,
            "allocation": "STORE_CREDIT" if plan.method == "store_credit" else "ORIGINAL_PAYMENT_METHODS",
        }
        data = (await client.execute("ReturnFinancialOutcome", variables)).get("return") or {}
        transfer = (data.get("suggestedFinancialOutcome") or {}).get("financialTransfer")
        if not transfer:
            return None
        if transfer.get("__typename") == "InvoiceReturnOutcome":  # the fees exceed the lines: nothing comes back
            return Decimal(0)
        return money(transfer["amount"])

    async def _preempted_since(
        self, client: ShopifyClient, req: ProcessReturnInput, wanted: dict[str, int]
    ) -> RefundOutcome | None:
        """After a refusal: Shopify's record now says someone settled these units (None: it does not)."""
        ret = await self._read_return(client, req.return_id)
        if settled_already(ret, wanted):
            return self._settled_before(ret, ours_possible=False)
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
