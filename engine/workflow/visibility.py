"""How a return shows itself, derived from its record: search attributes for the UI and CLI, what it awaits, and
when its SLA timers fire. Pure functions; the workflow issues the upserts and timers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from engine.workflow import parcels, search
    from engine.workflow.state import NOT_STARTED, ReturnState, Visible


def attributes(brand: str, rebound_return_id: str, state: str | None, needs_attention: bool, mapping_version: str,
               order_name: str | None) -> dict[SearchAttributeKey[Any], Any]:  # fmt: skip
    """The return's search attributes, by key (None: not shown): one list for the start, each rest and the older
    returns' upserts."""
    return {
        search.BRAND: brand,
        search.REBOUND_RETURN_ID: rebound_return_id,
        search.RETURN_STATE: state or None,
        search.NEEDS_ATTENTION: needs_attention,
        search.MAPPING_VERSION: mapping_version,
        search.SHOPIFY_ORDER: order_name or None,
    }


def search_updates(r: ReturnState, seen: Visible) -> list[SearchAttributeUpdate[Any]]:
    """Visibility 0: every attribute shown, set (none unset), for one state the return passed through."""
    values = attributes(r.start.brand, r.start.rebound_return_id, seen.state, seen.needs_attention, r.mapping.version,
                        seen.order_name)  # fmt: skip
    return [key.value_set(value) for key, value in values.items() if value is not None]


def sla_by_sweep(r: ReturnState) -> bool:
    """SLAs kept by the sweep (SlaDueAt, engine.workers.sla_sweep) rather than a durable timer per wait: returns
    started with visibility 1 where search attributes exist (the time-skipping test server has none)."""
    return r.start.visibility >= 1 and r.start.search_attributes


def shown(r: ReturnState) -> dict[SearchAttributeKey[Any], Any]:
    """What the search attributes should show now (None: unset)."""
    values = attributes(r.start.brand, r.start.rebound_return_id, r.state, r.needs_attention, r.mapping.version,
                        r.order_name)  # fmt: skip
    if sla_by_sweep(r):
        values[search.SLA_DUE_AT] = sla_deadline(r)
    return values


def changed(r: ReturnState, current: TypedSearchAttributes) -> list[SearchAttributeUpdate[Any]]:
    """The updates that make the attributes show `shown(r)`: only what differs from what they hold (given at start or
    upserted since), so a rest where nothing visible changed costs no upsert."""
    updates: list[SearchAttributeUpdate[Any]] = []
    for key, value in shown(r).items():
        if current.get(key) == value:
            continue
        updates.append(key.value_unset() if value is None else key.value_set(value))
    return updates


def at_start(brand: str, rebound_return_id: str, state: str | None, mapping_version: str,
             order_name: str | None) -> TypedSearchAttributes:  # fmt: skip
    """The attributes a return is started with (free: no upsert): what its first event will show."""
    values = attributes(brand, rebound_return_id, state, False, mapping_version, order_name)
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in values.items() if v is not None])


def sla_deadline(r: ReturnState) -> datetime | None:
    """When the state's SLA or a late parcel's falls due, whichever is first (None: neither runs)."""
    deadlines = []
    parcel = parcels.parcel_deadline(r)
    if parcel is not None:
        deadlines.append(parcel)
    state = r.flow.states.get(r.state)
    if not (state is None or state.sla is None or r.sla_breached_state == r.state or r.hold):
        assert r.state_entered_at is not None
        deadlines.append(r.state_entered_at + timedelta(seconds=state.sla.within_seconds))
    return min(deadlines) if deadlines else None


def sla_timeout(r: ReturnState, now: datetime) -> timedelta | None:
    """Until the state's SLA or a late parcel's, whichever is first (None: no timer)."""
    deadline = sla_deadline(r)
    return None if deadline is None else timedelta(seconds=max((deadline - now).total_seconds(), 0.001))


def sla_breach(r: ReturnState, now: datetime) -> None:
    """A timer fired: a late parcel, or the state's SLA missed (flagged, the return goes on)."""
    if parcels.parcel_sla_due(r, now):
        parcels.flag_lost_parcel(r)
        return
    state = r.flow.states[r.state]
    if state.sla is None:
        return
    r.sla_breached_state = r.state
    r.log("sla", f"{r.state}: {state.sla.reason}")
    r.flag_for("sla", f"SLA: {state.sla.reason}")


def awaiting(r: ReturnState) -> str | None:
    """What the return waits for next and until when its state's SLA runs, in words."""
    outstanding = parcels.outstanding(r)
    if r.flow.is_terminal(r.state):
        return f"parcel(s) {', '.join(p.tracking_number for p in outstanding)}" if outstanding else None
    if r.hold:
        return "a person: resume, retry_step or another override"
    if r.state == NOT_STARTED:
        return "the first event from Rebound"
    upcoming = "the next milestone"
    if r.state in r.flow.milestones and r.flow.rank(r.state) + 1 < len(r.flow.milestones):
        upcoming = r.flow.milestones[r.flow.rank(r.state) + 1]
    if outstanding:
        upcoming += f" (parcel(s) {', '.join(p.tracking_number for p in outstanding)} still to come)"
    state = r.flow.states.get(r.state)
    if state is not None and state.sla is not None and r.state_entered_at is not None:
        due = r.state_entered_at + timedelta(seconds=state.sla.within_seconds)
        upcoming += f"; SLA {due.strftime('%Y-%m-%d %H:%M')} UTC ({state.sla.reason})"
    return upcoming
