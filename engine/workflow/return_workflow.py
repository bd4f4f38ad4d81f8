"""One workflow per Rebound return order, interpreting the flow it was started with (format 2).

The interpreter knows state kinds (start, milestone, terminal) and the transitions a flow declares (events,
`then:`, step outcomes); it asks the catalog about steps and runs them by name; it knows no state or step by
name, and nothing about Shopify. Deterministic: no I/O, no clocks but workflow.now(), no file reads: the flow and
mapping are pinned in the start input. Events arrive as signals, are deduplicated by event id and applied
monotonically (a later milestone implies the earlier ones: the skipped states' steps run in order). Anything that
goes wrong, expected (a failed step) or not (a bug), holds the return in needs-attention with the reason; it never
fails the workflow task into a retry loop.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.definitions.catalog import CATALOG
    from engine.definitions.expressions import evaluate
    from engine.definitions.flow import StateDef, StepCall
    from engine.errors import StepFailed
    from engine.events import EventItem, ReturnEvent
    from engine.telemetry.tracing import follow_event
    from engine.workflow.facts import NOT_STARTED
    from engine.workflow.messages import ItemStatus, ReturnStart, ReturnStatus
    from engine.workflow.operator import OperatorOverrides
    from engine.workflow.refund_steps import RefundSteps
    from engine.workflow.visibility import Visibility


@workflow.defn(name="Return")
class ReturnWorkflow(OperatorOverrides, RefundSteps, Visibility):
    @workflow.init
    def __init__(self, start: ReturnStart) -> None:
        self.init_facts(start)

    @workflow.signal(name="event")
    def on_event(self, event: ReturnEvent) -> None:
        if event.event_id in self.seen_events:
            self._log("duplicate", f"{event.kind} {event.event_id} ignored (already applied)")
            return
        self.seen_events.add(event.event_id)
        if self.flow.is_terminal(self.state) and not self.awaiting_parcels():
            self._log("ignored", f"{event.kind} from {event.source} recorded; return already {self.state}")
            return
        self._log(
            "event", f"{event.kind} ({event.raw_status or event.kind}) from {event.source} at {event.occurred_at}"
        )
        self.inbox.append(event)

    @workflow.query(name="status")
    def status(self) -> ReturnStatus:
        return self.current_status()

    # ---------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, start: ReturnStart) -> ReturnStatus:
        self._log("transition", f"started on flow {self.flow.ref}, mapping {self.mapping.brand}@{self.mapping.version}")
        self._upsert()
        while True:
            # Events are applied one at a time, in arrival order, each followed by the work it implies, so a
            # step sees exactly the facts that had arrived before it.
            try:
                if self.forced_refund is not None and self.refund is None:
                    self.forced_refund = None
                    await self._run_one(CATALOG["issue_refund"].name, StepCall("issue_refund"))
                if self.hold_reason is None:
                    await self._drive()
                while self.inbox and self.hold_reason is None:
                    event = self.inbox.pop(0)
                    follow_event(event.event_id, rebound__return_id=self.start.rebound_return_id,
                                 rebound__brand=self.start.brand, shopify__order=event.order_name)  # fmt: skip
                    self._apply(event)
                    await self._drive()
                    follow_event(None)
            except Exception as exc:  # a bug or a flow the checks missed: hold, never a workflow-task retry loop
                self._enter_hold(f"interpreter error in {self.state}: {type(exc).__name__}: {exc}")
            if self._finished():
                if self.finished_at is None:
                    self.finished_at = workflow.now()
                    self.details_stale = True
                self._flush_details()
                remaining = self.flow.linger_seconds - (workflow.now() - self.finished_at).total_seconds()
                if remaining <= 0:
                    break
                try:
                    await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=remaining))
                except TimeoutError:
                    break
                continue
            self.wake = False
            if self.parcel_sla_due():  # already late (a backdated arrival): no timer for it
                self._flag_lost_parcel()
            timeout = self._sla_timeout()
            self._flush_details()
            try:
                await workflow.wait_condition(
                    lambda: self.wake or (bool(self.inbox) and self.hold_reason is None), timeout=timeout
                )
            except TimeoutError:
                self._sla_breach()
        self._flush_details()
        return self.current_status()

    def _finished(self) -> bool:
        return (
            self.flow.is_terminal(self.state)
            and self.state_complete
            and self.hold_reason is None
            and not self.awaiting_parcels()
        )

    def _apply(self, event: ReturnEvent) -> None:
        self._apply_event(event)
        if self.parcels:
            self._parcels_changed()

    def _apply_event(self, event: ReturnEvent) -> None:
        """Merge what the event tells us, then move the target forward (never backward)."""
        self.order_name = self.order_name or event.order_name
        if event.kind == "registered" and self.registered_at is None:
            self.registered_at = event.occurred_at
        self._merge_items(event.items, graded=event.kind == "inspected")
        if event.tracking_number:
            self.tracking_number = event.tracking_number
            self.tracking_url = event.tracking_url or self.tracking_url
        self._merge_parcels(event)
        target = self.flow.events.get(event.kind)
        if target is None:
            self._log("ignored", f"no transition for {event.kind} in flow {self.flow.name}")
            return
        if self.flow.is_terminal(target):
            allowed = self.flow.states[target].allowed_from
            if allowed is not None and self.state not in allowed and self.state != NOT_STARTED:
                self._log("ignored", f"{event.kind} refused: return is already {self.state}")
                self.sla_reason = f"{event.kind} received while {self.state}: check with Rebound"
                self._upsert()
                return
            self.pending_terminal = target
            return
        rank = self.flow.rank(target)
        gated = self.gate_for_parcels(rank)
        if gated < rank:
            self._log_held(rank, gated)
            self.target_rank = max(self.target_rank, gated)
            return
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
        """Run the current state's steps, then follow `then`, a pending terminal, or the next milestone."""
        while self.hold_reason is None:
            if not self.state_complete:
                try:
                    await self._run_steps(self.flow.states[self.state])
                except StepFailed as failure:
                    self._enter_hold(str(failure))
                    return
                if not self.state_complete:  # a step's outcome moved the return
                    continue
            if self.flow.is_terminal(self.state):
                if self._start_round_if_due():
                    continue
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

    def _calls(self, state: StateDef) -> list[StepCall]:
        """The state's own steps, then the steps a mapping brings forward to it (`on_reaching`)."""
        early = [call for _, call in self.flow.later_steps() if call.on_reaching and self._reaches(call, state)]
        return [*state.steps, *early]

    def _reaches(self, call: StepCall, state: StateDef) -> bool:
        assert call.on_reaching is not None
        try:
            named = evaluate(call.on_reaching, self.expression_context())
        except Exception as exc:
            raise StepFailed(f"{call.step}: on_reaching {call.on_reaching!r} failed: {exc}") from None
        return isinstance(named, str) and named == state.name and named in self.flow.milestones

    async def _run_steps(self, state: StateDef) -> None:
        for call in self._calls(state):
            spec = CATALOG[call.step]
            key = self.round_key(call.key if spec.scope == "return" else f"{state.name}:{call.key}")
            if key in self.steps_done or not self._when(call):
                continue
            outcome = await self._run_one(key, call)
            if outcome is not None:
                target = call.outcomes[outcome]
                self.pending_terminal = None
                self._transition(target)
                return
        self.state_complete = True
        if self.flow.is_terminal(state.name):
            self._settle_round()

    async def _run_one(self, key: str, call: StepCall) -> str | None:
        try:
            outcome = await self.step_body(call.step)(call)
        except StepFailed:
            raise
        except Exception as exc:  # an unexpected answer or a bug: the reason goes to a person
            raise StepFailed(f"{call.step} crashed: {type(exc).__name__}: {exc}") from None
        self.steps_done.append(key)
        return outcome

    def _when(self, call: StepCall) -> bool:
        if not call.when:
            return True
        try:
            return bool(evaluate(call.when, self.expression_context()))
        except Exception as exc:
            raise StepFailed(f"{call.step}: when {call.when!r} failed: {exc}") from None
