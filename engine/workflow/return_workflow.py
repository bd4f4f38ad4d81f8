"""One workflow per Rebound return order, interpreting the flow it was started with (format 2).

The interpreter knows state kinds (start, milestone, terminal) and the transitions a flow declares (events,
`then:`, step outcomes); it runs a step through the step table (engine.workflow.steps: prepare the activity calls,
run them on the catalog's activity, record each result) and knows no state, step or event by name, nor anything
about Shopify. Everything the return knows is one record (engine.workflow.state). Deterministic: no I/O, no clocks
but workflow.now(), no file reads: the flow and mapping are pinned in the start input. Events arrive as signals, are
deduplicated by event id and applied monotonically (a later milestone implies the earlier ones: the skipped states'
steps run in order). Anything that goes wrong, expected (a failed step) or not (a bug), holds the return with a
typed hold; it never fails the workflow task into a retry loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from engine.definitions.catalog import CATALOG, StepSpec
    from engine.definitions.expressions import evaluate
    from engine.definitions.flow import StateDef, StepCall
    from engine.errors import StepFailed
    from engine.events import EventItem, ReturnEvent
    from engine.shopify.plans import shop_task_queue
    from engine.telemetry.tracing import follow_event
    from engine.workflow import parcels, visibility
    from engine.workflow.messages import ItemStatus, OverrideResult, ReturnStart, ReturnStatus
    from engine.workflow.overrides import KNOWN_SIGNALS, Override, check, parse, with_overrides
    from engine.workflow.state import NOT_STARTED, ReturnState
    from engine.workflow.steps import STEPS, Again, Outcome, Request
    from engine.workflow.summaries import current_details

NOT_RETRYABLE = ["ShopifyUserError", "ShopifyRejected", "ShopifyThrottled"]


@workflow.defn(name="Return")
@with_overrides
class ReturnWorkflow:
    @workflow.init
    def __init__(self, start: ReturnStart) -> None:
        self.r = ReturnState.begin(start)

    @workflow.signal(name="event")
    def on_event(self, event: ReturnEvent) -> None:
        r = self.r
        if event.event_id in r.seen_events:
            r.log("duplicate", f"{event.kind} {event.event_id} ignored (already applied)")
            return
        r.seen_events.add(event.event_id)
        if r.flow.is_terminal(r.state) and not parcels.awaiting_parcels(r):
            r.log("ignored", f"{event.kind} from {event.source} recorded; return already {r.state}")
            return
        r.log("event", f"{event.kind} ({event.raw_status or event.kind}) from {event.source} at {event.occurred_at}")
        r.inbox.append(event)

    @workflow.signal(name="sla_due")
    def on_sla_due(self) -> None:
        """The SLA sweep found this return's SlaDueAt passed: look at the deadlines now (a stale find changes
        nothing)."""
        self.r.wake = True

    @workflow.query(name="status")
    def status(self) -> ReturnStatus:
        return self.r.status()

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self.r.log("refused", f"unknown signal {name!r} ignored (overrides: {KNOWN_SIGNALS})")

    # ---------------------------------------------------------------- overrides (engine.workflow.overrides)

    def check_override(self, o: Override[Any], arg: Any) -> None:
        check(o, self.r, arg)

    def run_override(self, o: Override[Any], arg: Any) -> OverrideResult:
        message = o.apply(self.r, arg)
        self._publish()
        self._flush_details()  # an override shows at once, even while the return waits
        return OverrideResult(message, self.r.state, self.r.needs_attention)

    def signal_override(self, o: Override[Any], name: str, payload: Any) -> None:
        try:
            arg = parse(o, payload)
            check(o, self.r, arg)
        except ValueError as err:
            actor = str(payload.get("operator") or "unknown") if isinstance(payload, dict) else "unknown"
            self.r.log("refused", f"signal {name} refused: {err}", actor=actor)
            return
        self.run_override(o, arg)

    # ---------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, start: ReturnStart) -> ReturnStatus:
        r = self.r
        r.log("transition", f"started on flow {r.flow.ref}, mapping {r.mapping.brand}@{r.mapping.version}")
        r.publish()
        while True:
            # Events are applied one at a time, in arrival order, each followed by the work it implies, so a
            # step sees exactly the facts that had arrived before it.
            try:
                if r.forced_step is not None:
                    forced, r.forced_step = r.forced_step, None
                    if forced not in r.steps_done:
                        await self._run_one(forced, StepCall(forced))
                if r.hold is None:
                    await self._drive()
                while r.inbox and r.hold is None:
                    event = r.inbox.pop(0)
                    follow_event(event.event_id, rebound__return_id=r.start.rebound_return_id,
                                 rebound__brand=r.start.brand, shopify__order=event.order_name)  # fmt: skip
                    self._apply(event)
                    await self._drive()
                    follow_event(None)
            except StepFailed as failure:  # a forced step
                r.hold_for("step_failed", failure.detail, failure.step)
            except Exception as exc:  # a bug or a flow the checks missed: hold, never a workflow-task retry loop
                r.hold_for("interpreter", f"interpreter error in {r.state}: {type(exc).__name__}: {exc}")
            if self._finished():
                if r.finished_at is None:
                    r.finished_at = workflow.now()
                    r.details_stale = True
                self._flush_details()
                self._publish()
                remaining = r.flow.linger_seconds - (workflow.now() - r.finished_at).total_seconds()
                if remaining <= 0:
                    break
                try:
                    await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=remaining))
                except TimeoutError:
                    break
                continue
            r.wake = False
            if parcels.parcel_sla_due(r, workflow.now()):  # already late (a backdated arrival): no timer for it
                parcels.flag_lost_parcel(r)
            swept = visibility.sla_by_sweep(r)  # the sweep wakes the return when SlaDueAt passes: no timer
            timeout = None if swept else visibility.sla_timeout(r, workflow.now())
            self._flush_details()
            self._publish()
            try:
                await workflow.wait_condition(lambda: r.wake or (bool(r.inbox) and r.hold is None), timeout=timeout)
            except TimeoutError:
                visibility.sla_breach(r, workflow.now())
            else:
                due = visibility.sla_deadline(r) if swept else None
                if due is not None and workflow.now() >= due:
                    visibility.sla_breach(r, workflow.now())
        self._flush_details()
        self._publish()
        return r.status()

    def _finished(self) -> bool:
        r = self.r
        return r.flow.is_terminal(r.state) and r.state_complete and r.hold is None and not parcels.awaiting_parcels(r)

    def _apply(self, event: ReturnEvent) -> None:
        self._apply_event(event)
        if self.r.parcels:
            parcels.parcels_changed(self.r)

    def _apply_event(self, event: ReturnEvent) -> None:
        """Merge what the event tells us, then move the target forward (never backward)."""
        r = self.r
        r.order_name = r.order_name or event.order_name
        if event.kind == "registered" and r.registered_at is None:
            r.registered_at = event.occurred_at
        self._merge_items(event.items, graded=event.kind == "inspected")
        if event.tracking_number:
            r.tracking_number = event.tracking_number
            r.tracking_url = event.tracking_url or r.tracking_url
        parcels.merge_parcels(r, event)
        target = r.flow.events.get(event.kind)
        if target is None:
            r.log("ignored", f"no transition for {event.kind} in flow {r.flow.name}")
            return
        if r.flow.is_terminal(target):
            allowed = r.flow.states[target].allowed_from
            if allowed is not None and r.state not in allowed and r.state != NOT_STARTED:
                r.log("ignored", f"{event.kind} refused: return is already {r.state}")
                r.flag_for("rebound", f"{event.kind} received while {r.state}: check with Rebound")
                return
            r.pending_terminal = target
            return
        rank = r.flow.rank(target)
        gated = parcels.gate_for_parcels(r, rank)
        if gated < rank:
            parcels.log_held(r, rank, gated)
            r.target_rank = max(r.target_rank, gated)
            return
        if rank <= r.target_rank:
            r.log("ignored", f"{event.kind} implies {target}, already reached or requested")
            return
        r.target_rank = rank

    def _merge_items(self, items: list[EventItem], *, graded: bool) -> None:
        for item in items:
            known = self.r.items.get(item.item_id)
            refused = self.r.mapping.final_sale(item.sku) if known is None else None
            if refused is not None:  # a final-sale product: refused, the rest of the return proceeds
                if item.item_id not in self.r.refused:
                    self.r.refused[item.item_id] = f"{item.sku}: {refused}"
                    self.r.log("event", f"{item.sku} refused, final sale: {refused}")
                continue
            if known is None:
                self.r.items[item.item_id] = ItemStatus(item.item_id, item.sku, item.quantity, item.reason, item.grade,
                                                        exchange_sku=item.exchange_sku)  # fmt: skip
            elif item.grade is not None:
                known.grade = item.grade
        if graded:
            self.r.graded = True

    async def _drive(self) -> None:
        """Run the current state's steps, then follow `then`, a pending terminal, or the next milestone."""
        r = self.r
        while r.hold is None:
            if not r.state_complete:
                try:
                    await self._run_steps(r.flow.states[r.state])
                except StepFailed as failure:
                    r.hold_for("step_failed", failure.detail, failure.step)
                    return
                if not r.state_complete:  # a step's outcome moved the return
                    continue
            if r.flow.is_terminal(r.state):
                walk_from = parcels.next_round(r)
                if walk_from is None:
                    return
                self._transition(walk_from)
                r.state_complete = True  # the milestone before arrival was done in the first round
                continue
            current = r.flow.states.get(r.state)
            if current is not None and current.then:
                self._transition(current.then)
            elif r.pending_terminal:
                target, r.pending_terminal = r.pending_terminal, None
                self._transition(target)
            elif r.flow.rank(r.state) < r.target_rank:
                self._transition(r.flow.milestones[r.flow.rank(r.state) + 1])
            else:
                return

    def _transition(self, state: str) -> None:
        r = self.r
        previous = r.state
        r.state = state
        r.state_complete = False
        r.state_entered_at = workflow.now()
        if r.sla_breached_state is not None:
            if r.flag is not None and r.flag.kind == "sla":
                r.flag = None  # the awaited milestone arrived
            r.sla_breached_state = None
        r.log("transition", f"{previous} -> {state}")
        r.publish()

    def _calls(self, state: StateDef) -> list[StepCall]:
        """The state's own steps, then the steps a mapping brings forward to it (`on_reaching`)."""
        early = [call for _, call in self.r.flow.later_steps() if call.on_reaching and self._reaches(call, state)]
        return [*state.steps, *early]

    def _reaches(self, call: StepCall, state: StateDef) -> bool:
        assert call.on_reaching is not None
        try:
            named = evaluate(call.on_reaching, self.r.expression_context())
        except Exception as exc:
            raise StepFailed(call.step, f"{call.step}: on_reaching {call.on_reaching!r} failed: {exc}") from None
        return isinstance(named, str) and named == state.name and named in self.r.flow.milestones

    async def _run_steps(self, state: StateDef) -> None:
        r = self.r
        for call in self._calls(state):
            spec = CATALOG[call.step]
            key = parcels.round_key(r, call.key if spec.scope == "return" else f"{state.name}:{call.key}")
            if key in r.steps_done or not self._when(call):
                continue
            outcome = await self._run_one(key, call)
            if outcome is not None:
                r.pending_terminal = None
                self._transition(call.outcomes[outcome])
                return
        r.state_complete = True
        if r.flow.is_terminal(state.name):
            parcels.settle_round(r)

    async def _run_one(self, key: str, call: StepCall) -> str | None:
        """One step through the table: its calls, each result recorded; `Again` waits and prepares anew."""
        step, spec = STEPS[call.step], CATALOG[call.step]
        try:
            while True:
                outcome: Outcome = None
                for request in step.prepare(self.r, call):
                    result = await self._call(spec, request)
                    outcome = step.record(self.r, call, request, result)
                if not isinstance(outcome, Again):
                    break
                self._publish()
                await workflow.sleep(timedelta(seconds=outcome.seconds))
        except StepFailed:
            raise
        except Exception as exc:  # an unexpected answer or a bug: the reason goes to a person
            raise StepFailed(call.step, f"{call.step} crashed: {type(exc).__name__}: {exc}") from None
        self.r.steps_done.append(key)
        return outcome

    def _when(self, call: StepCall) -> bool:
        if not call.when:
            return True
        try:
            return bool(evaluate(call.when, self.r.expression_context()))
        except Exception as exc:
            raise StepFailed(call.step, f"{call.step}: when {call.when!r} failed: {exc}") from None

    # ---------------------------------------------------------------- effects: activities, upserts, details

    async def _call(self, spec: StepSpec, request: Request) -> Any:
        """Run the step's activity. Waiting for the shop's cost budget is not a failure: the activity gives up its
        attempt (ShopifyThrottled, with how long to wait) and the workflow sleeps on a durable timer, so a backlog
        drains at the bucket's rate instead of exhausting retries into needs_attention."""
        assert spec.activity is not None
        r = self.r
        own_queue = workflow.info().task_queue
        queue = shop_task_queue(own_queue, r.shop.domain) if spec.calls_shopify else own_queue
        # Called before (a retry of the step, another parcel, another round): it may have written already, so the
        # activity looks in Shopify first. A first call writes without looking (a server retry looks again too).
        repeat = spec.activity in r.called_activities
        r.called_activities.add(spec.activity)
        self._flush_details()
        arg = request.arg
        while True:
            if repeat and hasattr(arg, "repeat"):
                arg = dataclasses.replace(arg, repeat=True)
            self._publish(at_rest=False)
            try:
                return await workflow.execute_activity(
                    spec.activity,
                    arg,
                    result_type=request.result_type,
                    task_queue=queue,
                    summary=request.summary or spec.activity,  # the UI's line for this call (no customer data)
                    priority=Priority(priority_key=spec.priority),
                    start_to_close_timeout=timedelta(seconds=r.start.activity_timeout_seconds),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1),
                        backoff_coefficient=2.0,
                        maximum_interval=timedelta(seconds=60),
                        maximum_attempts=r.start.max_activity_attempts,
                        non_retryable_error_types=NOT_RETRYABLE,
                    ),
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == "ShopifyThrottled":
                    r.budget_waits += 1
                    repeat = True  # the attempt may have written before it gave up waiting for the budget
                    await workflow.sleep(cause.next_retry_delay or timedelta(seconds=5))
                    continue
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                raise StepFailed(spec.name, f"{spec.activity} failed: {message}") from None

    def _publish(self, *, at_rest: bool = True) -> None:
        """Show the return in its search attributes. Visibility 1: once the return comes to rest (waiting for an
        event, a timer or a person), one upsert of what changed, if anything did: each upsert is a billed action and
        a search sees only where returns rest. Visibility 0 (returns started before): every state it passed
        through, one upsert each, in order, before the workflow's next command."""
        r = self.r
        pending, r.to_publish = r.to_publish, []
        if not r.start.search_attributes:
            return
        if r.start.visibility >= 1:
            updates = visibility.changed(r, workflow.info().typed_search_attributes) if at_rest else []
            if updates:
                workflow.upsert_search_attributes(updates)
            return
        for seen in pending:
            workflow.upsert_search_attributes(visibility.search_updates(r, seen))

    def _flush_details(self) -> None:
        """Rebuild the UI's Current Details if anything was logged since: once per wait, not once per log line (the
        Markdown is built from the whole status). Not a command: replay-safe."""
        r = self.r
        if r.details_stale:
            r.details_stale = False
            workflow.set_current_details(current_details(r.status(), r.mapping, awaiting=visibility.awaiting(r)))
