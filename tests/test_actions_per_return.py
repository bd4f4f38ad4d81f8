"""What a return costs in Temporal actions (what Temporal Cloud bills), read from its real history: search attributes
given at start, one upsert per rest of what changed, SLAs kept by the sweep instead of a timer per state."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emulators.bench.actions import actions
from engine.workers.sla_sweep import sweep
from engine.workers.starter import handle_for
from engine.workflow import search
from tests.conftest import Harness


async def rest(harness: Harness, sc, state: str, steps: int) -> None:  # type: ignore[no-untyped-def]
    """Until the return has reached `state` with `steps` steps done and waits there: no activity pending, its search
    attributes show it."""
    handle = handle_for(harness.client, sc.brand, sc.rebound_return_id)
    for _ in range(400):
        status = await harness.status(sc)
        description = await handle.describe()
        shown = description.typed_search_attributes.get(search.RETURN_STATE)
        resting = len(status.steps_done) >= steps and not description.raw_description.pending_activities
        if status.state == state and shown == state and resting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sc.rebound_return_id} never rested in {state}")


async def test_a_paced_standard_return_costs_at_most_16_actions(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("paced", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    harness.seed(sc)
    registered, in_transit, received, inspected = sc.pushes
    for payload, state, steps in ((registered, "requested", 2), (in_transit, "in_transit", 3),
                                  (received, "received", 4), (inspected, "refunded", 7)):  # fmt: skip
        await harness.push(sc, payload)
        await rest(harness, sc, state, steps)
    history = await handle_for(harness.client, sc.brand, sc.rebound_return_id).fetch_history()
    counted = +actions(history.events)  # the bench's formula (emulators.bench.actions), kinds with a count
    # 7 activities, the start and 3 signals; an upsert at each rest where something changed (SlaDueAt at requested,
    # in transit, received, refunded); one timer: the 30 days a finished return lingers for late events.
    assert counted == Counter({"workflow started": 1, "signals received": 3, "activities": 7,
                               "search attribute upserts": 4, "timers": 1}), counted  # fmt: skip
    assert sum(counted.values()) <= 16


async def test_the_search_attributes_show_the_return_from_its_start(harness: Harness) -> None:
    b = harness.builder
    sc = b.new("at start", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    harness.seed(sc)
    await harness.push(sc, sc.pushes[0])
    description = await handle_for(harness.client, sc.brand, sc.rebound_return_id).describe()
    attributes = description.typed_search_attributes
    assert attributes.get(search.BRAND) == "castore"
    assert attributes.get(search.REBOUND_RETURN_ID) == sc.rebound_return_id
    assert attributes.get(search.SHOPIFY_ORDER) == sc.order_name
    assert attributes.get(search.RETURN_STATE) == "requested"
    assert attributes.get(search.NEEDS_ATTENTION) is False
    await rest(harness, sc, "requested", 2)
    description = await handle_for(harness.client, sc.brand, sc.rebound_return_id).describe()
    due = description.typed_search_attributes.get(search.SLA_DUE_AT)
    assert due is not None and timedelta(days=20) < due - datetime.now(UTC) <= timedelta(days=21), due


async def test_the_sweep_flags_a_return_whose_sla_fell_due_and_the_next_milestone_clears_it(
    harness: Harness,
) -> None:
    """No timer: SlaDueAt shows when `requested`'s SLA (2 s here) falls due; the sweep wakes the return, which flags
    it as a timer would have; the parcel's scan clears the flag and the next state's SLA takes its place."""
    standard = harness.flows["return"]
    requested = standard.states["requested"]
    assert requested.sla is not None
    quick = dataclasses.replace(requested, sla=dataclasses.replace(requested.sla, within_seconds=2))
    harness.flows = {**harness.flows, "return": dataclasses.replace(standard, states={**standard.states,
                                                                                     "requested": quick})}  # fmt: skip
    b = harness.builder
    sc = b.new("swept", "castore", lines=1)
    b.returned(sc, 0, 1, "A")
    b.lifecycle(sc)
    harness.seed(sc)
    registered, in_transit = sc.pushes[:2]
    handle = handle_for(harness.client, sc.brand, sc.rebound_return_id)
    await harness.push(sc, registered)
    await rest(harness, sc, "requested", 2)
    due = (await handle.describe()).typed_search_attributes.get(search.SLA_DUE_AT)
    assert due is not None
    early = await sweep(harness.client, due - timedelta(seconds=1))
    assert sc.rebound_return_id not in str(early) and early.woken == 0  # not due yet: nothing woken
    await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0) + 0.5)
    assert (await harness.status(sc)).needs_attention is False  # no timer of its own: it waits for the sweep
    late = await sweep(harness.client)
    assert late.woken == 1
    for _ in range(100):
        status = await harness.status(sc)
        if status.needs_attention:
            break
        await asyncio.sleep(0.05)
    assert status.hold is not None and status.hold.kind == "sla", status.hold
    assert requested.sla.reason in status.hold.detail
    for _ in range(100):  # shown for searches too, and no longer due: the next sweep wakes nothing
        attributes = (await handle.describe()).typed_search_attributes
        if attributes.get(search.NEEDS_ATTENTION):
            break
        await asyncio.sleep(0.05)
    assert attributes.get(search.NEEDS_ATTENTION) is True and attributes.get(search.SLA_DUE_AT) is None
    assert (await sweep(harness.client)).woken == 0
    await harness.push(sc, in_transit)
    await rest(harness, sc, "in_transit", 3)
    status = await harness.status(sc)
    assert status.needs_attention is False
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(search.NEEDS_ATTENTION) is False
    assert attributes.get(search.SLA_DUE_AT) is not None  # in transit within 14 days
    if name := os.environ.get("RECORD_HISTORIES"):  # a replay fixture (tests/test_replay.py) after a change
        history = await handle.fetch_history()
        (Path(__file__).parent / "fixtures" / "histories" / f"{name}.json").write_text(history.to_json())
