"""How a return shows itself: search attributes for the UI and CLI, holds, and SLA timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from engine.workflow import search
    from engine.workflow.parcels import ParcelTracking


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
