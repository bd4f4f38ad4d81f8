"""The first return workflow, `ReturnWorkflow` (frozen; see the package docstring)."""

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.workflow.legacy.definitions_v1 import ReturnStart, StateDef
    from engine.workflow.legacy.overrides_v1 import LegacyOverrides
    from engine.workflow.legacy.steps_v1 import LegacySteps
    from engine.workflow.legacy.types_v1 import (
        AuditEntry,
        BonusOutcome,
        EventItem,
        ItemStatus,
        OperatorAction,
        OrderSnapshot,
        RefundOutcome,
        RefundPlan,
        ReturnEvent,
        ReturnStatus,
        ShopifyReturnRef,
        ShopRef,
        StepFailed,
    )

# Steps that run once in each state listing them; every other step runs once per return.
PER_STATE_STEPS = {"sync_order_status", "attach_tracking"}


@workflow.defn(name="ReturnWorkflow")
class LegacyReturnWorkflow(LegacyOverrides, LegacySteps):
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
