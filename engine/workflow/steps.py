"""What each catalog step does inside the workflow: build the activity's input from the return's facts, call it
on the shop's queue, record what came back. The interpreter finds a step's body here by the catalog's name; the
Shopify work itself is in the activities (engine.activities)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import (
        BonusInput,
        BonusOutcome,
        CreateReturnInput,
        Disposal,
        DisposeInput,
        DisposeResult,
        IssueRefundInput,
        NotifyInput,
        OrderNoteInput,
        OrderStatusInput,
        OrderTagInput,
        RefundOutcome,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyDisposition,
        ShopifyReturnRef,
        TrackingInput,
        ValidateOrderInput,
        ValidateOrderResult,
    )
    from engine.definitions.catalog import CATALOG, StepSpec, render_template
    from engine.definitions.flow import StepCall
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS, RefundRules
    from engine.errors import StepFailed
    from engine.events import EventItem
    from engine.money import show
    from engine.outcomes import grades_set_the_refund, item_facts, item_outcome, refund_for, refund_lines
    from engine.refunds import RefundPlan
    from engine.shopify.plans import shop_task_queue
    from engine.workflow.parcels import ParcelTracking

SHOPIFY_DISPOSITION: dict[str, ShopifyDisposition] = {
    "restock": "RESTOCKED",
    "not_restocked": "NOT_RESTOCKED",
    "processing_required": "PROCESSING_REQUIRED",
    "missing": "MISSING",
}
NOT_SHOPIFY = {"notify"}  # activities that do not call Shopify run on the return's own queue
Body = Callable[[StepCall], Awaitable[str | None]]


class StepBodies(ParcelTracking):
    def step_body(self, name: str) -> Body:
        body: Body = getattr(self, f"step_{name}")
        return body

    async def _call(self, spec: StepSpec, arg: Any, result_type: type | None = None) -> Any:
        """Run the step's activity. Waiting for the shop's cost budget is not a failure: the activity gives up its
        attempt (ShopifyThrottled, with how long to wait) and the workflow sleeps on a durable timer, so a backlog
        drains at the bucket's rate instead of exhausting retries into needs_attention."""
        assert spec.activity is not None
        own_queue = workflow.info().task_queue
        queue = own_queue if spec.activity in NOT_SHOPIFY else shop_task_queue(own_queue, self.shop.domain)
        while True:
            try:
                return await workflow.execute_activity(
                    spec.activity,
                    arg,
                    result_type=result_type,
                    task_queue=queue,
                    priority=Priority(priority_key=spec.priority),
                    start_to_close_timeout=timedelta(seconds=self.start.activity_timeout_seconds),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1),
                        backoff_coefficient=2.0,
                        maximum_interval=timedelta(seconds=60),
                        maximum_attempts=self.start.max_activity_attempts,
                        non_retryable_error_types=["ShopifyUserError", "ShopifyRejected", "ShopifyThrottled"],
                    ),
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == "ShopifyThrottled":
                    self.budget_waits += 1
                    await workflow.sleep(cause.next_retry_delay or timedelta(seconds=5))
                    continue
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                raise StepFailed(f"{spec.activity} failed: {message}") from None

    def _need_order(self, step: str) -> Any:
        if self.order is None:
            raise StepFailed(f"{step}: the order is not known (validate_order has not run)")
        return self.order

    def _need_return(self, step: str) -> ShopifyReturnRef:
        if self.shopify_return is None:
            raise StepFailed(f"{step}: there is no Shopify return (create_shopify_return has not run)")
        return self.shopify_return

    # ---------------------------------------------------------------- order and return

    async def step_validate_order(self, call: StepCall) -> str | None:
        result: ValidateOrderResult = await self._call(
            CATALOG["validate_order"],
            ValidateOrderInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_name=self.order_name,
                items=[EventItem(i.item_id, i.sku, i.quantity, i.reason) for i in self.items.values()],
                return_window_days=self.mapping.return_window_days,
                registered_at=self.registered_at or workflow.now().isoformat(),
                check_refundable=self.mapping.refund.issuer == "engine",
            ),
            ValidateOrderResult,
        )
        self.order = result.order
        if not result.valid:
            self._log("step", "validate_order: invalid: " + "; ".join(result.problems))
            return "invalid"
        self._log("step", f"validate_order: {self.order_name} ok")
        return None

    async def step_create_shopify_return(self, call: StepCall) -> str | None:
        order = self._need_order("create_shopify_return")
        quantities: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for item in self.items.values():
            line = order.line_for_sku(item.sku)
            if line is None:
                raise StepFailed(f"create_shopify_return: {item.sku} is not on {order.name}")
            quantities[line.fulfillment_line_item_id] = quantities.get(line.fulfillment_line_item_id, 0) + item.quantity
            reasons.setdefault(line.fulfillment_line_item_id, item.reason)
        lines = [
            ReturnLineRequest(
                fulfillment_line_item_id=fli,
                quantity=qty,
                reason_handle=self.mapping.reason_for(reasons[fli]).shopify,
                note=f"Rebound {self.start.rebound_return_id}: {reasons[fli]}"[:255],
            )
            for fli, qty in quantities.items()
        ]
        requested_at = self.registered_at or workflow.now().isoformat()
        ref: ShopifyReturnRef = await self._call(
            CATALOG["create_shopify_return"],
            CreateReturnInput(self.shop, self.start.rebound_return_id, order.order_id, lines, requested_at),
            ShopifyReturnRef,
        )
        self.shopify_return = ref
        self._log("step", f"create_shopify_return: {'adopted existing' if ref.adopted else 'created'} {ref.name}")
        self._upsert()
        return None

    async def step_attach_tracking(self, call: StepCall) -> str | None:
        ret = self._need_return("attach_tracking")
        if self.parcels:
            await self._attach_parcels(ret)
            return None
        if not self.tracking_number:
            self._log("step", "attach_tracking: no tracking number yet")
            return None
        await self._call(
            CATALOG["attach_tracking"],
            TrackingInput(self.shop, ret.return_id, ret.rfo_id, self.tracking_number, self.tracking_url),
        )
        self._log("step", f"attach_tracking: {self.tracking_number}")
        return None

    async def _attach_parcels(self, ret: ShopifyReturnRef) -> None:
        """One reverse delivery per parcel, with the lines packed in it (all of them when Rebound did not say)."""
        order = self._need_order("attach_tracking")
        for parcel in self.parcels.values():
            if parcel.attached:
                continue
            lines: dict[str, int] = {}
            for item in self.items.values():
                line = order.line_for_sku(item.sku) if item.item_id in parcel.item_ids else None
                rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
                if rfo_line:
                    lines[rfo_line] = lines.get(rfo_line, 0) + item.quantity
            request = TrackingInput(self.shop, ret.return_id, ret.rfo_id, parcel.tracking_number, parcel.tracking_url,
                                    lines)  # fmt: skip
            await self._call(CATALOG["attach_tracking"], request)
            parcel.attached = True
            self._log("step", f"attach_tracking: parcel {parcel.tracking_number} ({sum(lines.values())} unit(s))")

    async def step_sync_order_status(self, call: StepCall) -> str | None:
        if self.order is None:
            return None  # nothing to write on before the order is known (a return cancelled at once)
        await self._call(
            CATALOG["sync_order_status"],
            OrderStatusInput(
                shop=self.shop,
                order_id=self.order.order_id,
                rebound_return_id=self.start.rebound_return_id,
                state=self.state,
                return_id=self.shopify_return.return_id if self.shopify_return else None,
                tracking_number=self.tracking_number,
                refund_id=self.refund.refund_id if self.refund else None,
            ),
        )
        return None

    async def step_close_shopify_return(self, call: StepCall) -> str | None:
        if self.shopify_return is None:
            self._log("step", "close_shopify_return: no Shopify return to close")
            return None
        if self.awaiting_parcels():
            waiting = ", ".join(p.tracking_number for p in self.outstanding_parcels())
            self._log("step", f"close_shopify_return: left open for parcel(s) {waiting}")
            return None
        ret = self.shopify_return
        await self._call(CATALOG["close_shopify_return"], ReturnRefInput(self.shop, ret.return_id))
        self._log("step", f"close_shopify_return: {ret.name} closed")
        return None

    async def step_cancel_shopify_return(self, call: StepCall) -> str | None:
        if self.shopify_return is None:
            return None
        await self._call(CATALOG["cancel_shopify_return"], ReturnRefInput(self.shop, self.shopify_return.return_id))
        self._log("step", f"cancel_shopify_return: {self.shopify_return.name} cancelled")
        return None

    # ---------------------------------------------------------------- stock

    async def step_assign_dispositions(self, call: StepCall) -> str | None:
        scale = self.mapping.grade_scale or list(self.mapping.grades)
        best = scale[0] if scale else None
        for item in self.items_in_hand():
            if item.sku in self.overridden_skus or item.item_id in self.settled_items:
                continue  # an operator decided this one, or an earlier parcel's round did
            grade = item.grade if item.grade is not None or call.params.get("ungraded") != "best_grade" else best
            outcome = item_outcome(self.mapping, grade, item.reason, graded=True)
            item.disposition = outcome.disposition
            item.location_id = outcome.location_id
            item.refund_percent = outcome.refund_percent
        summary = ", ".join(f"{i.sku}:{i.grade or '-'}->{i.disposition}" for i in self.items_in_hand())
        self._log("step", f"assign_dispositions: {summary}")
        return None

    async def step_restock_items(self, call: StepCall) -> str | None:
        order, ret = self._need_order("restock_items"), self._need_return("restock_items")
        grouped: dict[tuple[str, ShopifyDisposition, str | None], int] = {}
        for item in self.items_in_hand():  # every item in hand, each time: Shopify's dispositions make it once
            line = order.line_for_sku(item.sku)
            rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
            if rfo_line is None or item.disposition is None:
                raise StepFailed(f"restock_items: no reverse fulfillment line or disposition for {item.sku}")
            key = (rfo_line, SHOPIFY_DISPOSITION[item.disposition], item.location_id)
            grouped[key] = grouped.get(key, 0) + item.quantity
        disposals = [Disposal(rfo, qty, kind, loc) for (rfo, kind, loc), qty in grouped.items()]
        result: DisposeResult = await self._call(
            CATALOG["restock_items"], DisposeInput(self.shop, ret.return_id, disposals), DisposeResult
        )
        by_rfo_line = {
            ret.rfo_lines[line.fulfillment_line_item_id]: line.sku
            for line in order.lines
            if line.fulfillment_line_item_id in ret.rfo_lines
        }
        self.restocked = {}
        for disposal in result.applied + result.already_done:
            if disposal.disposition == "RESTOCKED":
                where = f"{by_rfo_line.get(disposal.rfo_line_id, '?')}@{disposal.location_id}"
                self.restocked[where] = self.restocked.get(where, 0) + disposal.quantity
        applied, already = len(result.applied), len(result.already_done)
        self._log("step", f"restock_items: {applied} disposition(s) applied, {already} already in Shopify")
        return None

    # ---------------------------------------------------------------- money

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
                                self.registered_at or "", lines, self.refund_rules(), self.round_part())  # fmt: skip

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
        outcome = await self._call(CATALOG["issue_refund"], self._refund_request(key), RefundOutcome)
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
        self.bonus = await self._call(CATALOG["credit_store_credit_bonus"], bonus, BonusOutcome)
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
            outcome: RefundOutcome = await self._call(CATALOG["verify_refund"], self._refund_request(""), RefundOutcome)
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

    # ---------------------------------------------------------------- tags, notes, notifications

    async def step_tag_order(self, call: StepCall) -> str | None:
        order = self._need_order("tag_order")
        await self._call(CATALOG["tag_order"], OrderTagInput(self.shop, order.order_id, str(call.params["tag"])))
        self._log("step", f"tag_order: {call.params['tag']}")
        return None

    async def step_untag_order(self, call: StepCall) -> str | None:
        order = self._need_order("untag_order")
        await self._call(CATALOG["untag_order"], OrderTagInput(self.shop, order.order_id, str(call.params["tag"])))
        self._log("step", f"untag_order: {call.params['tag']}")
        return None

    async def step_add_order_note(self, call: StepCall) -> str | None:
        order = self._need_order("add_order_note")
        text = render_template(str(call.params["text"]), self.template_facts())
        marker = f"[rebound {self.start.rebound_return_id} {self.state}]"
        await self._call(CATALOG["add_order_note"], OrderNoteInput(self.shop, order.order_id, marker, text))
        self._log("step", f"add_order_note: {text}")
        return None

    async def step_notify(self, call: StepCall) -> str | None:
        facts = self.template_facts()
        message = render_template(str(call.params["message"]), facts)
        request = NotifyInput(str(call.params["url_env"]), str(call.params.get("format", "json")), message, facts)
        await self._call(CATALOG["notify"], request)
        self._log("step", f"notify {call.params['url_env']}: {message}")
        return None
