"""The money steps inside the workflow: the refund planned from the mapping and the return's items, issued once per
return (or per parcel round), the store-credit bonus, and a refund Rebound's app makes looked for. Shopify values
the lines and splits the refund in the activity (engine.activities.refunds)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import BonusInput, BonusOutcome, IssueRefundInput, RefundOutcome
    from engine.definitions.catalog import CATALOG
    from engine.definitions.flow import StepCall
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS, RefundRules
    from engine.money import show
    from engine.outcomes import grades_set_the_refund, item_facts, refund_for, refund_lines
    from engine.refunds import RefundPlan
    from engine.workflow.steps import StepBodies


class RefundSteps(StepBodies):
    def plan_refund(self) -> RefundPlan:
        order = self._need_order("issue_refund")
        facts = item_facts(self.items_to_refund(), order, self.overridden_skus)
        graded = self.graded and grades_set_the_refund(self.mapping)  # ungraded: an operator refunding early
        return refund_for(self.mapping, facts, currency=order.currency, graded=graded, cap=order.net_payment,
                          rules=self.refund_rules())  # fmt: skip

    def refund_rules(self) -> RefundRules:
        """The mapping's refund rules; the return-shipping fee is charged once per return, so a later parcel's
        refund has none when an earlier one charged it."""
        rules = self.mapping.refund
        if any(r.plan is not None and Decimal(r.plan.shipping_fee) > 0 for r in self.refunds):
            return dataclasses.replace(rules, return_shipping_fee="0")
        return rules

    def _refund_request(self, key: str) -> IssueRefundInput:
        """The plan, and what it is made of (the mapping's lines and rules) for Shopify to value it."""
        order = self._need_order("issue_refund")
        assert self.refund_plan is not None
        facts = item_facts(self.items_to_refund(), order, self.overridden_skus)
        graded = self.graded and grades_set_the_refund(self.mapping)
        lines = refund_lines(self.mapping, facts, graded=graded)
        return IssueRefundInput(self.shop, self.start.rebound_return_id, order.order_id, self.refund_plan, key,
                                self.registered_at or "", lines, self.refund_rules(), self.round_part(),
                                order)  # fmt: skip

    async def step_issue_refund(self, call: StepCall) -> str | None:
        """One refund per return, or per round when acting per parcel (keyed by the parcels it settles)."""
        self.refund_plan = self.plan_refund()
        currency = self.refund_plan.currency
        covered = {item.item_id for item in self.items_to_refund()}
        if not self.refund_plan.lines or Decimal(self.refund_plan.total) == 0:
            outcome = RefundOutcome(status="nothing_to_refund", amount=self.refund_plan.total)
            self.refund = self.refund or outcome
            self.refunded_items |= covered
            self._log("step", "issue_refund: nothing refundable under the mapping's rules")
            return None
        part = self.round_part()
        key = f"rebound-refund-{self.start.brand}-{self.start.rebound_return_id}" + (f"-{part}" if part else "")
        summary = f"refundCreate {show(self.refund_plan.total, currency)}" + (f" parcel(s) {part}" if part else "")
        outcome = await self._call(CATALOG["issue_refund"], self._refund_request(key), RefundOutcome, summary)
        if outcome.status == "already_issued" and outcome.plan is None:
            # An earlier attempt made it (its answer was lost): from the same plan, fee included, as asked now.
            outcome = dataclasses.replace(outcome, plan=self.refund_plan)
        self.refunds.append(outcome)
        self.refunded_items |= covered
        if self.refund is None or self.refund.status == "nothing_to_refund":
            self.refund = outcome
        if outcome.plan is not None:  # as Shopify valued it: tax, discounts, the customer's currency
            self.refund_plan = outcome.plan
            currency = outcome.plan.currency
        self._log("step", f"issue_refund: {outcome.status} {show(outcome.amount, currency)} {outcome.detail}".rstrip())
        if outcome.status == "preempted":
            self.sla_reason = f"finance: refund pre-empted by a refund already in Shopify ({outcome.detail})"
            self._upsert()
        return None

    async def step_credit_store_credit_bonus(self, call: StepCall) -> str | None:
        order = self._need_order("credit_store_credit_bonus")
        plan, refund = self.refund_plan, (self.refunds[-1] if self.refunds else self.refund)
        if plan is None or refund is None or refund.status not in ("issued", "already_issued"):
            self._log("step", "credit_store_credit_bonus: no refund of ours to add a bonus to")
            return None
        if Decimal(plan.store_credit_bonus) == 0:
            return None
        since = self.registered_at or order.processed_at
        bonus = BonusInput(self.shop, self.start.rebound_return_id, order.order_id, order.customer_id,
                           plan.store_credit_bonus, order.currency, since, self.round_part())  # fmt: skip
        credit = show(plan.store_credit_bonus, order.currency)
        self.bonus = await self._call(
            CATALOG["credit_store_credit_bonus"], bonus, BonusOutcome, f"store credit +{credit}"
        )
        self._log(
            "step", f"credit_store_credit_bonus: {self.bonus.status} {show(plan.store_credit_bonus, order.currency)}"
        )
        return None

    async def step_verify_refund(self, call: StepCall) -> str | None:
        """Rebound's app refunds on its own clock: look again with growing pauses until the brand's SLA has
        passed; only then is a missing refund a finance exception."""
        self.refund_plan = self.plan_refund()
        sla = self.mapping.sla_seconds.get("refund_after_trigger", DEFAULT_SLA_SECONDS["refund_after_trigger"])
        deadline = workflow.now() + timedelta(seconds=sla)
        pause = timedelta(seconds=30)
        while True:
            outcome: RefundOutcome = await self._call(CATALOG["verify_refund"], self._refund_request(""), RefundOutcome,
                                                      "look for Rebound's app refund")  # fmt: skip
            if outcome.status != "not_found" or workflow.now() + pause > deadline:
                break
            await workflow.sleep(pause)
            pause = min(pause * 2, timedelta(hours=1))
        self.refund = outcome
        if outcome.status == "not_found":
            self.sla_reason = "finance: refund by Rebound's app not found in Shopify within the SLA"
            self._upsert()
        self._log("step", f"verify_refund: {outcome.status} {show(outcome.amount, self.refund_plan.currency)}")
        return None
