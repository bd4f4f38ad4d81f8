"""How a return shows itself: search attributes for the UI and CLI, holds, and SLA timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from engine.workflow import search
    from engine.workflow.facts import NOT_STARTED
    from engine.workflow.parcels import ParcelTracking
    from engine.workflow.summaries import current_details


class Visibility(ParcelTracking):
    def _enter_hold(self, reason: str) -> None:
        self.hold_reason = reason
        self._log("hold", f"needs_attention in {self.state}: {reason}")
        self._upsert()

    def _sla_timeout(self) -> timedelta | None:
        """Until the state's SLA or a late parcel's, whichever is first (None: no timer)."""
        timers = []
        deadline = self.parcel_deadline()
        if deadline is not None:
            timers.append(max((deadline - workflow.now()).total_seconds(), 0.001))
        state = self.flow.states.get(self.state)
        if not (state is None or state.sla is None or self.sla_breached_state == self.state or self.hold_reason):
            elapsed = (workflow.now() - self.state_entered_at).total_seconds()
            timers.append(max(state.sla.within_seconds - elapsed, 0.001))
        return timedelta(seconds=min(timers)) if timers else None

    def _sla_breach(self) -> None:
        if self.parcel_sla_due():
            self._flag_lost_parcel()
            return
        state = self.flow.states[self.state]
        if state.sla is None:
            return
        self.sla_breached_state = self.state
        self.sla_reason = f"SLA: {state.sla.reason}"
        self._log("sla", f"{self.state}: {state.sla.reason}")
        self._upsert()

    def _show(self) -> None:
        """The UI's Current Details (Markdown), kept with every audit entry: not a command, replay-safe."""
        workflow.set_current_details(current_details(self.current_status(), self.mapping, awaiting=self.awaiting()))

    def awaiting(self) -> str | None:
        """What the return waits for next and until when its state's SLA runs, in words."""
        outstanding = self.outstanding_parcels()
        if self.flow.is_terminal(self.state):
            return f"parcel(s) {', '.join(p.tracking_number for p in outstanding)}" if outstanding else None
        if self.hold_reason:
            return "a person: resume, retry_step or another override"
        if self.state == NOT_STARTED:
            return "the first event from Rebound"
        upcoming = "the next milestone"
        if self.state in self.flow.milestones and self.flow.rank(self.state) + 1 < len(self.flow.milestones):
            upcoming = self.flow.milestones[self.flow.rank(self.state) + 1]
        if outstanding:
            upcoming += f" (parcel(s) {', '.join(p.tracking_number for p in outstanding)} still to come)"
        state = self.flow.states.get(self.state)
        if state is not None and state.sla is not None:
            due = self.state_entered_at + timedelta(seconds=state.sla.within_seconds)
            upcoming += f"; SLA {due.strftime('%Y-%m-%d %H:%M')} UTC ({state.sla.reason})"
        return upcoming

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
