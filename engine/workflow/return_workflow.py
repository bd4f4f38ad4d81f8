"""One workflow per Rebound return order, interpreting the flow it was started with.

Deterministic: no I/O, no clocks but workflow.now(), no reading of flow or mapping files. Events arrive
as signals (signal-with-start), are deduplicated by event id and applied monotonically: a later milestone
implies the earlier ones, so the skipped states' steps run in order. Each step runs at most once per
return (per state for status syncs); a failed step holds the return in needs_attention.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import jmespath

    from engine.activities.messages import (
        BonusInput,
        BonusOutcome,
        CreateReturnInput,
        Disposal,
        DisposeInput,
        IssueRefundInput,
        OrderSnapshot,
        OrderStatusInput,
        RefundOutcome,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyReturnRef,
        ShopRef,
        TrackingInput,
        ValidateOrderInput,
    )
    from engine.activities.shopify_steps import ShopifyActivities
    from engine.definitions.flow import StateDef, StepDef
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS
    from engine.events import EventItem, ReturnEvent
    from engine.outcomes import grades_set_the_refund, item_facts, item_outcome, refund_for
    from engine.refunds import RefundPlan
    from engine.shopify.plans import shop_task_queue
    from engine.workflow import search
    from engine.workflow.messages import (
        AuditEntry,
        DispositionOverride,
        ItemStatus,
        OperatorAction,
        OverrideResult,
        ReturnStart,
        ReturnStatus,
    )

# Steps that may run in several states but must happen once per return (money, stock, Shopify objects).
PER_STATE_STEPS = {"sync_order_status", "attach_tracking"}

SHOPIFY_DISPOSITION = {
    "restock": "RESTOCKED",
    "not_restocked": "NOT_RESTOCKED",
    "processing_required": "PROCESSING_REQUIRED",
    "missing": "MISSING",
}


class StepFailed(Exception):
    """A step could not complete; the return is held for a person."""


# Under a backlog the shop's queue hands out what finishes returns first: a refund owed to a customer and stock
# waiting to be sold go before opening returns that were registered later (Temporal priority: 1 runs first).
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


@workflow.defn(name="ReturnWorkflow")
class ReturnWorkflow:
    @workflow.init
    def __init__(self, start: ReturnStart) -> None:
        self.start = start
        self.flow = start.flow
        self.mapping = start.mapping
        self.shop = ShopRef(start.brand, self.mapping.shop_domain, self.mapping.api_version)
        self.state = "new"
        self.state_complete = True
        self.state_entered_at = workflow.now()
        self.target_rank = -1
        self.pending_terminal: str | None = None
        self.inbox: list[ReturnEvent] = []
        self.seen_events: set[str] = set()
        self.audit: list[AuditEntry] = []
        self.steps_done: list[str] = []
        self.hold_reason: str | None = None
        self.sla_reason: str | None = None
        self.sla_breached_state: str | None = None
        self.wake = False
        self.order_name = ""
        self.registered_at: str | None = None
        self.items: dict[str, ItemStatus] = {}
        self.graded = False
        self.order: OrderSnapshot | None = None
        self.shopify_return: ShopifyReturnRef | None = None
        self.tracking_number: str | None = None
        self.tracking_url: str | None = None
        self.refund_plan: RefundPlan | None = None
        self.refund: RefundOutcome | None = None
        self.bonus: BonusOutcome | None = None
        self.restocked: dict[str, int] = {}
        self.finished_at: Any = None
        self.forced_refund: OperatorAction | None = None
        self.overridden_skus: set[str] = set()
        self.operator_events = 0
        self.budget_waits = 0

    # ---------------------------------------------------------------- messages

    @workflow.signal(name="event")
    def on_event(self, event: ReturnEvent) -> None:
        if event.event_id in self.seen_events:
            self._log("duplicate", f"{event.kind} {event.event_id} ignored (already applied)")
            return
        self.seen_events.add(event.event_id)
        if self.state in self.flow.states and self.flow.is_terminal(self.state):
            self._log("ignored", f"{event.kind} from {event.source} recorded; return already {self.state}")
            return
        self._log(
            "event",
            f"{event.kind} ({event.raw_status or event.kind}) from {event.source} at {event.occurred_at}",
        )
        self.inbox.append(event)

    @workflow.signal(name="retry")
    def on_retry(self, action: OperatorAction) -> None:
        """Fire-and-forget form of the `retry_step` update (an invalid one is recorded and ignored)."""
        if self.hold_reason is None:
            self._log("operator", f"retry ignored: not held ({action.reason})", actor=action.operator)
            return
        self._release(action, "retry")

    # -- operator overrides: updates whose validators reject what the return's state does not allow -------

    def _require(self, action: OperatorAction) -> None:
        if not action.operator.strip() or not action.reason.strip():
            raise ValueError("operator and reason are required")
        if self.finished_at is not None:
            raise ValueError(f"the return is finished ({self.state}); nothing can be overridden")

    def _require_no_refund(self) -> None:
        """Refund overrides make sense only before a refund outcome exists (validators: not in history)."""
        if self.refund is not None:
            raise ValueError(f"refund already {self.refund.status} ({self.refund.refund_id or self.refund.detail})")

    def _release(self, action: OperatorAction, verb: str) -> OverrideResult:
        was = self.hold_reason or self.sla_reason
        self._log("operator", f"{verb}: {action.reason} (was: {was})", actor=action.operator)
        self.hold_reason = None
        self.sla_reason = None
        self.wake = True
        self._upsert()
        return self._result(f"{verb}: steps of {self.state} continue")

    def _result(self, message: str) -> OverrideResult:
        return OverrideResult(message, self.state, self.needs_attention)

    @workflow.update(name="hold")
    def hold(self, action: OperatorAction) -> OverrideResult:
        self._log("operator", f"hold: {action.reason}", actor=action.operator)
        self._enter_hold(f"held by {action.operator}: {action.reason}")
        return self._result("held in needs_attention; resume to continue")

    @hold.validator
    def _check_hold(self, action: OperatorAction) -> None:
        self._require(action)
        if self.hold_reason is not None:
            raise ValueError(f"already held: {self.hold_reason}")

    @workflow.update(name="resume")
    def resume(self, action: OperatorAction) -> OverrideResult:
        return self._release(action, "resume")

    @resume.validator
    def _check_resume(self, action: OperatorAction) -> None:
        self._require(action)
        if not self.needs_attention:
            raise ValueError("the return is not in needs_attention")

    @workflow.update(name="retry_step")
    def retry_step(self, action: OperatorAction) -> OverrideResult:
        return self._release(action, "retry")

    @retry_step.validator
    def _check_retry(self, action: OperatorAction) -> None:
        self._require(action)
        if self.hold_reason is None or self.hold_reason.startswith("held by "):
            raise ValueError("no failed step to retry (use resume for an operator hold)")

    @workflow.update(name="override_disposition")
    def override_disposition(self, change: DispositionOverride) -> OverrideResult:
        location_id = self.mapping.location_id(change.location)
        for item in self.items.values():
            if item.sku == change.sku:
                item.disposition = change.disposition
                item.location_id = location_id if change.disposition == "restock" else None
                if change.refund_percent is not None:
                    item.refund_percent = change.refund_percent
        self.overridden_skus.add(change.sku)
        where = f" at {change.location}" if change.disposition == "restock" else ""
        self._log("operator", f"disposition of {change.sku} -> {change.disposition}{where}: {change.reason}",
                  actor=change.operator)  # fmt: skip
        self.wake = True
        return self._result(f"{change.sku} will be {change.disposition}{where}")

    @override_disposition.validator
    def _check_disposition(self, change: DispositionOverride) -> None:
        self._require(OperatorAction(change.operator, change.reason))
        if "restock_items" in self.steps_done:
            raise ValueError("dispositions are already applied in Shopify; they cannot change")
        if not any(item.sku == change.sku for item in self.items.values()):
            raise ValueError(
                f"no item {change.sku!r} in this return (items: {sorted({i.sku for i in self.items.values()})})"
            )
        if change.disposition not in SHOPIFY_DISPOSITION:
            raise ValueError(f"unknown disposition {change.disposition!r} (use {', '.join(SHOPIFY_DISPOSITION)})")
        if change.disposition == "restock" and change.location not in self.mapping.locations:
            raise ValueError(f"restock needs a location: one of {', '.join(self.mapping.locations)}")
        if change.refund_percent is not None and not 0 <= Decimal(change.refund_percent) <= 100:
            raise ValueError("refund_percent must be between 0 and 100")

    @workflow.update(name="force_refund")
    def force_refund(self, action: OperatorAction) -> OverrideResult:
        self.forced_refund = action
        self._log("operator", f"force refund: {action.reason}", actor=action.operator)
        self.wake = True
        return self._result("the refund is issued now, by the mapping's rules")

    @force_refund.validator
    def _check_force_refund(self, action: OperatorAction) -> None:
        self._require(action)
        self._require_no_refund()
        if self.order is None:
            raise ValueError("the order has not been validated yet")
        if self.mapping.refund.issuer != "engine":
            raise ValueError("this brand's refunds are issued by Rebound's app")

    @workflow.update(name="skip_refund")
    def skip_refund(self, action: OperatorAction) -> OverrideResult:
        self.refund = RefundOutcome(status="skipped", detail=f"by {action.operator}: {action.reason}")
        self.steps_done.extend(["issue_refund", "credit_store_credit_bonus", "verify_refund"])
        self._log("operator", f"skip refund: {action.reason}", actor=action.operator)
        self.wake = True
        return self._result("no refund will be issued for this return")

    @skip_refund.validator
    def _check_skip_refund(self, action: OperatorAction) -> None:
        self._require(action)
        self._require_no_refund()

    @workflow.update(name="mark_received")
    def mark_received(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("received", action)
        return self._result("marked received; the return moves on")

    @mark_received.validator
    def _check_mark_received(self, action: OperatorAction) -> None:
        self._require(action)
        if self.flow.rank(self.state) >= self.flow.rank("received") or self.target_rank >= self.flow.rank("received"):
            raise ValueError(f"already {self.state}: receipt is known")
        if self.state in self.flow.states and self.flow.is_terminal(self.state):
            raise ValueError(f"the return is {self.state}")

    @workflow.update(name="cancel")
    def cancel(self, action: OperatorAction) -> OverrideResult:
        self._operator_event("cancelled", action)
        return self._result("cancelling: the Shopify return is cancelled")

    @cancel.validator
    def _check_cancel(self, action: OperatorAction) -> None:
        self._require(action)
        allowed = self.flow.states["cancelled"].allowed_from or []
        if self.state not in allowed and self.state != "new":
            raise ValueError(f"cannot cancel a return that is {self.state} (only from {', '.join(allowed)})")

    def _operator_event(self, kind: str, action: OperatorAction) -> None:
        self._log("operator", f"{kind}: {action.reason}", actor=action.operator)
        self.operator_events += 1
        self.inbox.append(
            ReturnEvent(
                event_id=f"operator-{kind}-{self.operator_events}",
                kind=kind,
                brand=self.start.brand,
                rebound_return_id=self.start.rebound_return_id,
                order_name=self.order_name,
                occurred_at=workflow.now().isoformat(),
                source=f"operator:{action.operator}",
            )
        )
        self.hold_reason = None if self.hold_reason and self.hold_reason.startswith("held by ") else self.hold_reason

    @workflow.query(name="status")
    def status(self) -> ReturnStatus:
        return ReturnStatus(
            brand=self.start.brand,
            rebound_return_id=self.start.rebound_return_id,
            order_name=self.order_name,
            state=self.state,
            needs_attention=self.needs_attention,
            attention_reason=self.hold_reason or self.sla_reason,
            flow=self.flow.ref,
            mapping_version=self.mapping.version,
            items=list(self.items.values()),
            order=self.order,
            shopify_return=self.shopify_return,
            tracking_number=self.tracking_number,
            refund_plan=self.refund_plan,
            refund=self.refund,
            bonus=self.bonus,
            restocked=dict(self.restocked),
            steps_done=list(self.steps_done),
            audit=list(self.audit),
            finished=self.finished_at is not None,
            budget_waits=self.budget_waits,
        )

    @property
    def needs_attention(self) -> bool:
        return self.hold_reason is not None or self.sla_reason is not None

    # ---------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, start: ReturnStart) -> ReturnStatus:
        self._log(
            "transition",
            f"started on flow {self.flow.ref}, mapping {self.mapping.brand}@{self.mapping.version}",
        )
        self._upsert()
        while True:
            # Events are applied one at a time, in arrival order, each followed by the work it implies, so a
            # step sees exactly the facts that had arrived before it (not whatever a busy batch delivered).
            if self.forced_refund is not None and self.refund is None:
                self.forced_refund = None
                await self._operator_refund()
            if self.hold_reason is None:
                await self._drive()
            while self.inbox and self.hold_reason is None:
                self._apply(self.inbox.pop(0))
                await self._drive()
            if self._finished():
                if self.finished_at is None:
                    self.finished_at = workflow.now()
                remaining = self.flow.linger_seconds - (workflow.now() - self.finished_at).total_seconds()
                if remaining <= 0:
                    break
                try:
                    await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=remaining))
                except TimeoutError:
                    break
                continue
            self.wake = False
            timeout = self._sla_timeout()
            try:
                await workflow.wait_condition(
                    lambda: self.wake or (bool(self.inbox) and self.hold_reason is None), timeout=timeout
                )
            except TimeoutError:
                self._sla_breach()
        return self.status()

    def _finished(self) -> bool:
        return (
            self.state in self.flow.states
            and self.flow.is_terminal(self.state)
            and self.state_complete
            and self.hold_reason is None
        )

    def _apply(self, event: ReturnEvent) -> None:
        """Merge what the event tells us, then move the target forward (never backward)."""
        self.order_name = self.order_name or event.order_name
        if event.kind == "registered" and self.registered_at is None:
            self.registered_at = event.occurred_at
        self._merge_items(event.items, graded=event.kind == "inspected")
        if event.tracking_number:
            self.tracking_number = event.tracking_number
            self.tracking_url = event.tracking_url or self.tracking_url
        target = self.flow.events.get(event.kind)
        if target is None:
            self._log("ignored", f"no transition for {event.kind}")
            return
        target_state = self.flow.states[target]
        if target_state.kind == "terminal":
            allowed = target_state.allowed_from
            if allowed is not None and self.state not in allowed and self.state != "new":
                self._log("ignored", f"{event.kind} refused: return is already {self.state}")
                self.sla_reason = f"{event.kind} received while {self.state}: check with Rebound"
                self._upsert()
                return
            self.pending_terminal = target
            return
        rank = self.flow.rank(target)
        if rank <= self.target_rank:
            self._log("ignored", f"{event.kind} implies {target}, already reached or requested")
            return
        self.target_rank = rank

    def _merge_items(self, items: list[EventItem], *, graded: bool) -> None:
        for item in items:
            known = self.items.get(item.item_id)
            if known is None:
                self.items[item.item_id] = ItemStatus(item.item_id, item.sku, item.quantity, item.reason, item.grade)
            elif item.grade is not None:
                known.grade = item.grade
        if graded:
            self.graded = True

    async def _drive(self) -> None:
        """Run the current state's steps, then follow `then`, a pending cancel, or the next milestone."""
        while self.hold_reason is None:
            if not self.state_complete:
                try:
                    await self._run_steps(self.flow.states[self.state])
                except StepFailed as failure:
                    self._enter_hold(str(failure))
                    return
                if not self.state_complete:  # a step moved us (e.g. validation rejected the return)
                    continue
            if self.state in self.flow.states and self.flow.is_terminal(self.state):
                return
            current = self.flow.states.get(self.state)
            if current is not None and current.then:
                self._transition(current.then)
            elif self.pending_terminal:
                target, self.pending_terminal = self.pending_terminal, None
                self._transition(target)
            elif self.flow.rank(self.state) < self.target_rank:
                self._transition(self.flow.milestones[self.flow.rank(self.state) + 1])
            else:
                return

    def _transition(self, state: str) -> None:
        previous = self.state
        self.state = state
        self.state_complete = False
        self.state_entered_at = workflow.now()
        if self.sla_breached_state is not None:
            self.sla_reason = None  # the awaited milestone arrived
            self.sla_breached_state = None
        self._log("transition", f"{previous} -> {state}")
        self._upsert()

    async def _run_steps(self, state: StateDef) -> None:
        entered = self.state
        for step in state.steps:
            key = step.name if step.name not in PER_STATE_STEPS else f"{state.name}:{step.name}"
            if key in self.steps_done or not self._when(step):
                continue
            await self._run_step(step.name)
            if self.state != entered:
                return
            self.steps_done.append(key)
        self.state_complete = True

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

    async def _call(self, method: Any, arg: Any) -> Any:
        """Run a Shopify activity. Waiting for the shop's cost budget is not a failure: the activity gives up
        its attempt (ShopifyThrottled, with how long to wait) and the workflow sleeps on a durable timer, so
        a backlog drains at the bucket's rate instead of exhausting retries into needs_attention.

        Calls go to the shop's own activity queue, which the server dispatches at the shop's rate for every worker
        (``engine.shopify.plans``); under a backlog, money and stock steps go first (``STEP_PRIORITY``)."""
        routing: dict[str, Any] = {}
        if workflow.patched("shop-queue"):
            name = getattr(method, "__name__", "")
            routing = {
                "task_queue": shop_task_queue(workflow.info().task_queue, self.shop.domain),
                "priority": Priority(priority_key=STEP_PRIORITY.get(name, DEFAULT_PRIORITY)),
            }
        while True:
            try:
                return await workflow.execute_activity_method(
                    method,
                    arg,
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
                raise StepFailed(f"{getattr(method, '__name__', method)} failed: {message}") from None

    async def _step_validate_order(self) -> None:
        result = await self._call(
            ShopifyActivities.validate_order,
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
            ShopifyActivities.create_return,
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
            ShopifyActivities.attach_tracking,
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
            ShopifyActivities.sync_order_status,
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
        grouped: dict[tuple[str, str, str | None], int] = {}
        for item in self.items.values():
            line = self.order.line_for_sku(item.sku)
            rfo_line = self.shopify_return.rfo_lines.get(line.fulfillment_line_item_id) if line else None
            if rfo_line is None or item.disposition is None:
                raise StepFailed(f"restock_items: no reverse fulfillment line for {item.sku}")
            key = (rfo_line, SHOPIFY_DISPOSITION[item.disposition], item.location_id)
            grouped[key] = grouped.get(key, 0) + item.quantity
        disposals = [Disposal(rfo, qty, kind, loc) for (rfo, kind, loc), qty in grouped.items()]
        result = await self._call(
            ShopifyActivities.dispose_items, DisposeInput(self.shop, self.shopify_return.return_id, disposals)
        )
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
            ShopifyActivities.issue_refund,
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
            ShopifyActivities.credit_bonus,
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
            outcome = await self._call(ShopifyActivities.find_refund, request)
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
        await self._call(ShopifyActivities.close_return, ReturnRefInput(self.shop, self.shopify_return.return_id))
        self._log("step", f"close_shopify_return: {self.shopify_return.name} closed")

    async def _step_cancel_shopify_return(self) -> None:
        if self.shopify_return is None:
            return
        await self._call(ShopifyActivities.cancel_return, ReturnRefInput(self.shop, self.shopify_return.return_id))
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

    def _log(self, kind: str, detail: str, actor: str = "engine") -> None:
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
