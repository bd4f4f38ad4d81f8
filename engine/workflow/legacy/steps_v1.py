"""The first workflow's step bodies, hold, SLA and visibility (frozen; see the package docstring)."""

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import jmespath

    from engine.workflow.legacy import search_v1 as search
    from engine.workflow.legacy.definitions_v1 import DEFAULT_SLA_SECONDS, StepDef
    from engine.workflow.legacy.facts_v1 import LegacyFacts
    from engine.workflow.legacy.rules_v1 import (
        grades_set_the_refund,
        item_facts,
        item_outcome,
        refund_for,
        shop_task_queue,
    )
    from engine.workflow.legacy.types_v1 import (
        AuditEntry,
        AuditKind,
        BonusInput,
        BonusOutcome,
        CreateReturnInput,
        Disposal,
        DisposeInput,
        DisposeResult,
        EventItem,
        IssueRefundInput,
        OrderStatusInput,
        RefundOutcome,
        RefundPlan,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyDisposition,
        ShopifyReturnRef,
        StepFailed,
        TrackingInput,
        ValidateOrderInput,
        ValidateOrderResult,
    )

SHOPIFY_DISPOSITION: dict[str, ShopifyDisposition] = {
    "restock": "RESTOCKED",
    "not_restocked": "NOT_RESTOCKED",
    "processing_required": "PROCESSING_REQUIRED",
    "missing": "MISSING",
}

STEP_PRIORITY: dict[str, int] = {
    "issue_refund": 1,
    "find_refund": 1,
    "credit_bonus": 1,
    "dispose_items": 2,
    "close_return": 2,
    "cancel_return": 2,
    "sync_order_status": 3,
    "attach_tracking": 3,
    "create_return": 4,
    "validate_order": 4,
}
DEFAULT_PRIORITY = 3

RESULT_TYPES: dict[str, Any] = {
    "validate_order": ValidateOrderResult,
    "create_return": ShopifyReturnRef,
    "dispose_items": DisposeResult,
    "issue_refund": RefundOutcome,
    "find_refund": RefundOutcome,
    "credit_bonus": BonusOutcome,
}


class LegacySteps(LegacyFacts):
    def _when(self, step: StepDef) -> bool:
        if not step.when:
            return True
        context = {
            "mapping": dataclasses.asdict(self.mapping),
            "return": {"state": self.state, "graded": self.graded, "refunded": self.refund is not None},
        }
        return bool(jmespath.search(step.when, context))

    # ---------------------------------------------------------------- steps

    async def _run_step(self, name: str) -> None:
        handler = getattr(self, f"_step_{name}")
        await handler()

    async def _call(self, method: str, arg: Any) -> Any:
        """Run a Shopify activity. Waiting for the shop's cost budget is not a failure: the activity gives up
        its attempt (ShopifyThrottled, with how long to wait) and the workflow sleeps on a durable timer, so
        a backlog drains at the bucket's rate instead of exhausting retries into needs_attention.

        Calls go to the shop's own activity queue, which the server dispatches at the shop's rate for every worker
        (``engine.shopify.plans``); under a backlog, money and stock steps go first (``STEP_PRIORITY``)."""
        routing: dict[str, Any] = {}
        if workflow.patched("shop-queue"):
            name = method
            routing = {
                "task_queue": shop_task_queue(workflow.info().task_queue, self.shop.domain),
                "priority": Priority(priority_key=STEP_PRIORITY.get(name, DEFAULT_PRIORITY)),
            }
        while True:
            try:
                return await workflow.execute_activity(
                    method,
                    arg,
                    result_type=RESULT_TYPES.get(method),
                    **routing,
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
                    if workflow.patched("throttle-wait"):
                        self.budget_waits += 1
                        await workflow.sleep(cause.next_retry_delay or timedelta(seconds=5))
                        continue
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                raise StepFailed(f"{method} failed: {message}") from None

    async def _step_validate_order(self) -> None:
        result = await self._call(
            "validate_order",
            ValidateOrderInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_name=self.order_name,
                items=[EventItem(i.item_id, i.sku, i.quantity, i.reason) for i in self.items.values()],
                return_window_days=self.mapping.return_window_days,
                registered_at=self.registered_at or workflow.now().isoformat(),
                check_refundable=self.mapping.refund.issuer == "engine",
            ),
        )
        self.order = result.order
        if not result.valid:
            self._log("step", "validate_order: rejected: " + "; ".join(result.problems))
            self.pending_terminal = None
            self._transition("rejected")
            return
        self._log("step", f"validate_order: {self.order_name} ok")

    async def _step_create_shopify_return(self) -> None:
        assert self.order is not None
        quantities: dict[str, int] = {}
        reasons: dict[str, str] = {}
        for item in self.items.values():
            line = self.order.line_for_sku(item.sku)
            assert line is not None  # validate_order guarantees it
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
        self.shopify_return = await self._call(
            "create_return",
            CreateReturnInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_id=self.order.order_id,
                lines=lines,
                requested_at=self.registered_at or workflow.now().isoformat(),
            ),
        )
        how = "adopted existing" if self.shopify_return.adopted else "created"
        self._log("step", f"create_shopify_return: {how} {self.shopify_return.name}")
        self._upsert()

    async def _step_attach_tracking(self) -> None:
        if not self.tracking_number or self.shopify_return is None:
            self._log("step", "attach_tracking: no tracking number yet")
            return
        await self._call(
            "attach_tracking",
            TrackingInput(
                self.shop,
                self.shopify_return.return_id,
                self.shopify_return.rfo_id,
                self.tracking_number,
                self.tracking_url,
            ),
        )
        self._log("step", f"attach_tracking: {self.tracking_number}")

    async def _step_sync_order_status(self) -> None:
        if self.order is None:
            return
        await self._call(
            "sync_order_status",
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

    async def _step_assign_dispositions(self) -> None:
        for item in self.items.values():
            if item.sku in self.overridden_skus:
                continue  # an operator decided this one
            outcome = item_outcome(self.mapping, item.grade, item.reason, graded=True)
            item.disposition = outcome.disposition
            item.location_id = outcome.location_id
            item.refund_percent = outcome.refund_percent
        summary = ", ".join(f"{i.sku}:{i.grade or 'missing'}->{i.disposition}" for i in self.items.values())
        self._log("step", f"assign_dispositions: {summary}")

    async def _step_restock_items(self) -> None:
        if self.shopify_return is None or self.order is None:
            raise StepFailed("restock_items: no Shopify return to dispose")
        grouped: dict[tuple[str, ShopifyDisposition, str | None], int] = {}
        for item in self.items.values():
            line = self.order.line_for_sku(item.sku)
            rfo_line = self.shopify_return.rfo_lines.get(line.fulfillment_line_item_id) if line else None
            if rfo_line is None or item.disposition is None:
                raise StepFailed(f"restock_items: no reverse fulfillment line for {item.sku}")
            key = (rfo_line, SHOPIFY_DISPOSITION[item.disposition], item.location_id)
            grouped[key] = grouped.get(key, 0) + item.quantity
        disposals = [Disposal(rfo, qty, kind, loc) for (rfo, kind, loc), qty in grouped.items()]
        result = await self._call("dispose_items", DisposeInput(self.shop, self.shopify_return.return_id, disposals))
        by_rfo_line = {
            self.shopify_return.rfo_lines[line.fulfillment_line_item_id]: line.sku
            for line in self.order.lines
            if line.fulfillment_line_item_id in self.shopify_return.rfo_lines
        }
        for disposal in result.applied + result.already_done:
            if disposal.disposition == "RESTOCKED":
                where = f"{by_rfo_line.get(disposal.rfo_line_id, '?')}@{disposal.location_id}"
                self.restocked[where] = self.restocked.get(where, 0) + disposal.quantity
        applied, already = len(result.applied), len(result.already_done)
        self._log("step", f"restock_items: {applied} disposition(s) applied, {already} already in Shopify")

    def _plan_refund(self) -> RefundPlan:
        assert self.order is not None
        facts = item_facts(self.items.values(), self.order, self.overridden_skus)
        graded = self.graded and grades_set_the_refund(self.mapping)  # ungraded: an operator refunding early
        return refund_for(self.mapping, facts, currency=self.order.currency, graded=graded, cap=self.order.net_payment)

    async def _operator_refund(self) -> None:
        try:
            await self._step_issue_refund()
        except StepFailed as failure:
            self._enter_hold(str(failure))
            return
        self.steps_done.append("issue_refund")

    async def _step_issue_refund(self) -> None:
        assert self.order is not None
        self.refund_plan = self._plan_refund()
        if not self.refund_plan.lines or Decimal(self.refund_plan.total) == 0:
            self.refund = RefundOutcome(status="nothing_to_refund", amount=self.refund_plan.total)
            self._log("step", "issue_refund: nothing refundable under the mapping's rules")
            return
        self.refund = await self._call(
            "issue_refund",
            IssueRefundInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_id=self.order.order_id,
                plan=self.refund_plan,
                idempotency_key=f"rebound-refund-{self.start.brand}-{self.start.rebound_return_id}",
                registered_at=self.registered_at or "",
            ),
        )
        outcome = self.refund
        money = f"{outcome.amount} {self.order.currency}"
        self._log("step", f"issue_refund: {outcome.status} {money} {outcome.detail}".rstrip())
        if self.refund.status == "preempted":
            self.sla_reason = f"finance: refund pre-empted by a refund already in Shopify ({self.refund.detail})"
            self._upsert()

    async def _step_credit_store_credit_bonus(self) -> None:
        assert self.order is not None
        plan, refund = self.refund_plan, self.refund
        if plan is None or refund is None or refund.status not in ("issued", "already_issued"):
            self._log("step", "credit_store_credit_bonus: no refund of ours to add a bonus to")
            return
        if Decimal(plan.store_credit_bonus) == 0:
            return
        self.bonus = await self._call(
            "credit_bonus",
            BonusInput(
                shop=self.shop,
                rebound_return_id=self.start.rebound_return_id,
                order_id=self.order.order_id,
                customer_id=self.order.customer_id,
                amount=plan.store_credit_bonus,
                currency=self.order.currency,
                not_before=self.registered_at or self.order.processed_at,
            ),
        )
        self._log(
            "step", f"credit_store_credit_bonus: {self.bonus.status} {plan.store_credit_bonus} {self.order.currency}"
        )

    async def _step_verify_refund(self) -> None:
        """Rebound's app refunds on its own clock: look again with growing pauses until the brand's SLA has
        passed; only then is a missing refund a finance exception."""
        assert self.order is not None
        self.refund_plan = self._plan_refund()
        request = IssueRefundInput(
            shop=self.shop,
            rebound_return_id=self.start.rebound_return_id,
            order_id=self.order.order_id,
            plan=self.refund_plan,
            idempotency_key="",
            registered_at=self.registered_at or "",
        )
        sla = self.mapping.sla_seconds.get("refund_after_trigger", DEFAULT_SLA_SECONDS["refund_after_trigger"])
        deadline = workflow.now() + timedelta(seconds=sla)
        pause = timedelta(seconds=30)
        while True:
            outcome = await self._call("find_refund", request)
            if outcome.status != "not_found" or workflow.now() + pause > deadline:
                break
            await workflow.sleep(pause)
            pause = min(pause * 2, timedelta(hours=1))
        self.refund = outcome
        if outcome.status == "not_found":
            self.sla_reason = "finance: refund by Rebound's app not found in Shopify within the SLA"
            self._upsert()
        self._log("step", f"verify_refund: {outcome.status} {outcome.amount}")

    async def _step_close_shopify_return(self) -> None:
        if self.shopify_return is None:
            return
        await self._call("close_return", ReturnRefInput(self.shop, self.shopify_return.return_id))
        self._log("step", f"close_shopify_return: {self.shopify_return.name} closed")

    async def _step_cancel_shopify_return(self) -> None:
        if self.shopify_return is None:
            return
        await self._call("cancel_return", ReturnRefInput(self.shop, self.shopify_return.return_id))
        self._log("step", f"cancel_shopify_return: {self.shopify_return.name} cancelled")

    # ---------------------------------------------------------------- attention, SLAs, visibility

    def _enter_hold(self, reason: str) -> None:
        self.hold_reason = reason
        self._log("hold", f"needs_attention in {self.state}: {reason}")
        self._upsert()

    def _sla_timeout(self) -> timedelta | None:
        state = self.flow.states.get(self.state)
        if state is None or state.sla is None or self.sla_breached_state == self.state or self.hold_reason:
            return None
        elapsed = (workflow.now() - self.state_entered_at).total_seconds()
        return timedelta(seconds=max(state.sla.within_seconds - elapsed, 0.001))

    def _sla_breach(self) -> None:
        state = self.flow.states[self.state]
        assert state.sla is not None
        self.sla_breached_state = self.state
        self.sla_reason = f"SLA: {state.sla.reason}"
        self._log("sla", f"{self.state}: {state.sla.reason}")
        self._upsert()

    def _log(self, kind: AuditKind, detail: str, actor: str = "engine") -> None:
        self.audit.append(AuditEntry(workflow.now().isoformat(), kind, detail, actor))

    def _upsert(self) -> None:
        if not self.start.search_attributes:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            search.BRAND.value_set(self.start.brand),
            search.REBOUND_RETURN_ID.value_set(self.start.rebound_return_id),
            search.RETURN_STATE.value_set(self.state),
            search.NEEDS_ATTENTION.value_set(self.needs_attention),
            search.MAPPING_VERSION.value_set(self.mapping.version),
        ]
        if self.order_name:
            updates.append(search.SHOPIFY_ORDER.value_set(self.order_name))
        workflow.upsert_search_attributes(updates)
