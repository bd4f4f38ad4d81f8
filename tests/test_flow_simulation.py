"""Validation that simulates, checked against the interpreter: flows generated from the step catalog (a few states
and events, steps with their parameters, `when:`, `on_reaching:` and outcomes), and every one that `flows validate`
passes is driven through the interpreter against the Shopify emulator under orders of events; none may hold a return
for a missing requirement ("the order is not known", "there is no Shopify return", an item without a disposition)
or crash a step or the interpreter.

The interpreter runs without a Temporal server: the real `ReturnWorkflow` methods (`on_event`, `_apply`, `_drive`
and through them the step table and `_call`), with the workflow clock, timers and UI calls replaced and each activity
run in-process on the real activity code (temporalio.testing.ActivityEnvironment, the emulator's app over ASGI); the
lines of `ReturnWorkflow.run` that feed it events are mirrored in `_deliver`. A return costs milliseconds, so
hypothesis can try many. A few generated flows then run end to end on Temporal with the emulator, and must end
exactly as the in-process interpreter said (same state, same steps in the same order).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import random
import re
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio import workflow
from temporalio.activity import _Definition
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment

from emulators.demo import seed_shopify
from emulators.rebound.scenarios import Scenario, ScenarioBuilder
from emulators.shopify.cost import Plan
from emulators.shopify.server import ShopifyEmulator
from engine.activities.all import ShopifyActivities
from engine.definitions.catalog import CATALOG
from engine.definitions.flow import FlowDef, StepCall, flow_from_yaml
from engine.definitions.mapping import MappingDef
from engine.definitions.yamlfile import parse_yaml
from engine.errors import DefinitionError
from engine.events import ReturnEvent
from engine.rebound.translate import translate
from engine.settings import Settings
from engine.workflow.messages import Hold, ReturnStart
from engine.workflow.return_workflow import ReturnWorkflow
from engine.workflow.state import ReturnState
from tests.conftest import Harness
from tests.paths import REPO_ROOT

T = TypeVar("T")
Pick = Callable[[Sequence[T]], T]

# ---------------------------------------------------------------- flows from the catalog

MIDDLE = ("in_transit", "received", "inspected", "restocked")  # the milestones a flow may have between its ends
WHEN = (
    "mapping.refund.issuer == 'engine'",
    "mapping.refund.issuer == 'rebound_app'",
    "mapping.refund.method == 'store_credit'",
    "mapping.refund.method == 'store_credit' && mapping.refund.issuer == 'engine'",
    "return.graded",
)
WITH: dict[str, list[dict[str, str]]] = {
    "create_shopify_return": [{}, {"fees": "on_shopify_return"}],
    "assign_dispositions": [{}, {"ungraded": "best_grade"}],
    "tag_order": [{"tag": "returning"}, {"tag": "returned"}],
    "untag_order": [{"tag": "returning"}],
    "add_order_note": [{"text": "Rebound {rebound_return_id}: {items} item(s), {state}"}],
}
STEP_NAMES = [name for name in CATALOG if name != "notify"]  # notify posts to a URL outside Shopify
USUAL = {  # what a state of that name usually lists (a generated state draws from here twice as often)
    "requested": ["tag_order", "sync_order_status", "add_order_note"],
    "in_transit": ["attach_tracking", "sync_order_status", "tag_order"],
    "received": ["assign_dispositions", "sync_order_status", "add_order_note", "issue_refund"],
    "inspected": ["assign_dispositions", "sync_order_status"],
    "restocked": ["restock_items", "untag_order"],
    "refunded": ["process_shopify_return", "issue_refund", "credit_store_credit_bonus", "verify_refund",
                 "close_shopify_return", "restock_items"],
    "cancelled": ["cancel_shopify_return", "sync_order_status"],
    "rejected": ["cancel_shopify_return", "sync_order_status", "tag_order"],
}  # fmt: skip


def flow_document(pick: Pick[Any]) -> dict[str, Any]:
    """A flow as a brand might write one: the standard milestone names, any steps of the catalog anywhere. Biased
    towards flows that validate (the order checked first, a way on from every state), free to be wrong."""
    middle = [m for m in MIDDLE if pick((True, True, False))]
    milestones = ["requested", *middle, "refunded"]
    events: dict[str, str] = {"registered": "requested"}
    for kind in ("in_transit", "received", "inspected"):
        target = pick([kind, kind, *middle, None]) if kind in middle else pick([*middle, None, None])
        if target:
            events[kind] = target
    if pick((True, False)):
        events["cancelled"] = "cancelled"

    def steps(state: str, count: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for _ in range(count):
            name = pick(pick((USUAL[state], USUAL[state], STEP_NAMES)))
            entry: dict[str, Any] = {"step": name}
            params = pick(WITH.get(name, [{}]))
            if params:
                entry["with"] = params
            if name == "validate_order":
                entry["on_invalid"] = "rejected"
            if pick((False, False, True)):
                entry["when"] = pick(WHEN)
            if state in milestones and pick((False, False, False, True)):
                entry["on_reaching"] = pick(["mapping.refund.trigger", *(f"'{m}'" for m in milestones)])
            out.append(entry)
        return out

    first: list[dict[str, Any]] = []
    if pick((True, True, True, False)):
        first.append({"step": "validate_order", "on_invalid": "rejected"})
        if pick((True, True, False)):
            first.append({"step": "create_shopify_return", "with": {"fees": "on_shopify_return"}})
            if pick((False, False, True)):
                first[-1]["when"] = pick(WHEN)
    start = {"kind": "start", "steps": first + steps("requested", pick((0, 0, 1)))}
    states: dict[str, dict[str, Any]] = {"requested": start}
    for n, name in enumerate(middle):
        state: dict[str, Any] = {"steps": steps(name, pick((0, 1, 1, 2, 3)))}
        later = milestones[n + 2 :]
        moves_on = any(target in later for target in events.values())  # an event can take it further
        if not moves_on or name not in events.values() or pick((False, False, True)):
            state["then"] = pick([later[0]] * 12 + later)
        states[name] = state
    if not middle:
        states["requested"]["then"] = "refunded"
    states["refunded"] = {"kind": "terminal", "steps": steps("refunded", pick((1, 2, 3, 4)))}
    if "cancelled" in events:
        states["cancelled"] = {"kind": "terminal", "steps": steps("cancelled", pick((0, 1, 1)))}
        allowed = [m for m in milestones[:-1] if pick((True, False))]
        if allowed and pick((True, False)):
            states["cancelled"]["allowed_from"] = allowed
    if any(s["step"] == "validate_order" for st_ in states.values() for s in st_["steps"]):
        states["rejected"] = {"kind": "terminal", "steps": steps("rejected", pick((0, 1, 1)))}
    for st_ in states.values():
        if not st_["steps"]:
            del st_["steps"]
    return {"format": 2, "name": "generated", "version": 1, "milestones": milestones, "events": events,
            "states": states}  # fmt: skip


def validated(document: dict[str, Any]) -> tuple[FlowDef | None, int]:
    """The flow once `flows validate` passes it, dropping each step it refuses (a step that could run before what it
    needs, or never) until it does, and how many were dropped; None when a refusal is not a step's."""
    document = copy.deepcopy(document)
    for dropped in itertools.count():
        try:
            return flow_from_yaml(parse_yaml(yaml.safe_dump(document, sort_keys=False), "generated.yaml")), dropped
        except DefinitionError as err:
            refused = {
                (m[1], int(m[2])) for p in err.problems if (m := re.match(r"states\.(\w+)\.steps\[(\d+)\]", p.path))
            }
            if len(refused) < len(err.problems) or dropped > 10:
                return None, dropped
            for state, index in sorted(refused, reverse=True):
                del document["states"][state]["steps"][index]
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the interpreter, in-process


class _Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    async def sleep(self, duration: float | timedelta) -> None:
        self.at += duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        await asyncio.sleep(0)


@contextmanager
def in_process() -> Iterator[_Clock]:
    """What a workflow asks of Temporal, answered here: the clock and timers, the UI's details and search attributes,
    and activities (each run once on its real code, failures wrapped as Temporal wraps them). Only while no real
    workflow runs in this process: the engine's workflow modules are shared with the sandbox."""
    clock = _Clock()
    saved = {name: getattr(workflow, name) for name in ("now", "sleep", "info", "set_current_details",
                                                        "upsert_search_attributes", "execute_activity")}  # fmt: skip
    workflow.now = clock.now  # type: ignore[assignment]
    workflow.sleep = clock.sleep  # type: ignore[assignment]
    workflow.info = lambda: types.SimpleNamespace(task_queue="in-process")  # type: ignore[assignment]
    workflow.set_current_details = lambda details: None  # type: ignore[assignment]
    workflow.upsert_search_attributes = lambda updates: None  # type: ignore[assignment]
    try:
        yield clock
    finally:
        for name, value in saved.items():
            setattr(workflow, name, value)


class World:
    """The emulated shops (over ASGI, no socket), the real activities, a scenario builder."""

    def __init__(self, mappings: dict[str, MappingDef]) -> None:
        self.mappings = mappings
        self.emulator = ShopifyEmulator(preload_schemas=False)
        self.tokens: dict[str, str] = {}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.emulator.app), timeout=30)
        settings_ = Settings(shopify_endpoint="http://shopify.test/shops/{shop}")
        activities = ShopifyActivities(settings_, self.http, self.tokens.__getitem__)
        for mapping in mappings.values():
            activities.budget.declare_rate(mapping.shop_domain, 100_000)
        self.activities = {_Definition.must_from_callable(fn).name: fn for fn in activities.all()}
        self.env = ActivityEnvironment()
        self.builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=20_230)
        self.counter = itertools.count()

    async def execute_activity(self, name: str, arg: Any, **options: Any) -> Any:
        self.env.info = dataclasses.replace(self.env.info, activity_type=name, started_time=datetime.now(UTC),
                                            start_to_close_timeout=timedelta(seconds=30))  # fmt: skip
        try:
            return await self.env.run(self.activities[name], arg)
        except ApplicationError as exc:
            cause = exc
        except Exception as exc:  # as Temporal reports an exception that is not an ApplicationError
            cause = ApplicationError(str(exc), type=type(exc).__name__)
        raise ActivityError(f"{name} failed", scheduled_event_id=0, started_event_id=0, identity="in-process",
                            activity_type=name, activity_id="1", retry_state=None) from cause  # fmt: skip

    def scenario(self, brand: str, *, known: bool = True) -> Scenario:
        """A return of two units (the best grade, and one missing at inspection), of an order Shopify has (known)
        or not: then validate_order finds it invalid and no order is known."""
        sc = self.builder.new(f"generated {next(self.counter)}", brand, lines=2)
        self.builder.returned(sc, 0, 1, self.mappings[brand].grade_scale[0])  # restocked
        self.builder.returned(sc, 1, 1, None)
        seed_shopify(self.emulator.store, self.mappings, [sc] if known else [], self.tokens)
        for mapping in self.mappings.values():
            self.emulator.set_plan(mapping.shop_domain, Plan.custom(100_000, 10_000_000))
        return sc

    def events(self, sc: Scenario, kinds: Sequence[str]) -> list[ReturnEvent]:
        mapping = self.mappings[sc.brand]
        status = {kind: raw for raw, kind in reversed(mapping.statuses.items())}
        at = sc.order_processed_at + timedelta(days=2)
        out = []
        for kind in kinds:
            at += timedelta(hours=7)
            payload = self.builder.push(sc, status[kind], at, graded=kind == "inspected")
            translated = translate(payload, mapping).event
            assert translated is not None
            out.append(translated)
        return out

    async def run(self, flow: FlowDef, mapping: MappingDef, sc: Scenario, kinds: Sequence[str]) -> ReturnWorkflow:
        workflow.execute_activity = self.execute_activity  # type: ignore[assignment]
        wf = ReturnWorkflow(ReturnStart(sc.brand, sc.rebound_return_id, flow, mapping, search_attributes=False))
        await wf._drive()
        for each in self.events(sc, kinds):
            await _deliver(wf, each)
        return wf


async def _deliver(wf: ReturnWorkflow, event: ReturnEvent) -> None:
    """The signal, then what `ReturnWorkflow.run` does with it: applied, then the work it implies, unless held."""
    wf.on_event(event)
    try:
        while wf.r.inbox and wf.r.hold is None:
            wf._apply(wf.r.inbox.pop(0))
            await wf._drive()
    except Exception as exc:  # as `run` does: a bug, or a flow the checks missed
        wf.r.hold_for("interpreter", f"interpreter error in {wf.r.state}: {type(exc).__name__}: {exc}")


LIFECYCLE = ("registered", "in_transit", "received", "inspected")
MISSING = ("has not run", "no reverse fulfillment line or disposition")  # engine.workflow.steps: a requirement


def broken(r: ReturnState) -> Hold | None:
    """A hold the validator should have prevented: a missing requirement, a step or the interpreter crashing."""
    hold = r.hold
    if hold is None or hold.kind not in ("step_failed", "interpreter"):
        return None
    if hold.kind == "interpreter" or "crashed:" in hold.detail or any(m in hold.detail for m in MISSING):
        return hold
    return None


def brand_mapping(mappings: dict[str, MappingDef], brand: str, trigger: str) -> MappingDef:
    """A brand's mapping with the refund due at `trigger`, and Rebound's app refund looked for one minute only."""
    mapping = mappings[brand]
    refund = dataclasses.replace(mapping.refund, trigger=trigger)
    return dataclasses.replace(mapping, refund=refund,
                               sla_seconds={**mapping.sla_seconds, "refund_after_trigger": 60})  # fmt: skip


# ---------------------------------------------------------------- the property


@given(data=st.data())
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
def test_every_flow_that_validates_runs_without_holding_for_a_missing_requirement(
    data: st.DataObject, mappings: dict[str, MappingDef], world_loop: tuple[World, asyncio.AbstractEventLoop]
) -> None:
    world, loop = world_loop
    document = flow_document(lambda options: data.draw(st.sampled_from(list(options))))
    flow, dropped = validated(document)
    event("refused by flows validate" if flow is None else f"validates after dropping {min(dropped, 2)}+ step(s)")
    if flow is None:
        return
    brand = data.draw(st.sampled_from(["castore", "cult", "lounge"]))
    mapping = brand_mapping(mappings, brand, data.draw(st.sampled_from([*flow.milestones, "never"])))
    kinds = [kind for kind in LIFECYCLE if data.draw(st.booleans())] or ["registered"]
    if data.draw(st.booleans()):
        kinds = data.draw(st.permutations(kinds))  # Rebound's pushes out of order (or some lost)
    if data.draw(st.integers(0, 3)) == 0:
        kinds.insert(data.draw(st.integers(0, len(kinds))), "cancelled")
    sc = world.scenario(brand, known=data.draw(st.integers(0, 2)) > 0)
    with in_process():
        wf = loop.run_until_complete(world.run(flow, mapping, sc, kinds))
    r = wf.r
    event(f"ended {'held: ' + r.hold.kind if r.hold else 'finished' if wf._finished() else 'at rest'}")
    assert broken(r) is None, (yaml.safe_dump(document, sort_keys=False), kinds, brand, r.hold, r.steps_done)


@pytest.fixture(scope="module")
def world_loop(mappings: dict[str, MappingDef]) -> Iterator[tuple[World, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    world = World(mappings)
    try:
        yield world, loop
    finally:
        loop.run_until_complete(world.http.aclose())
        loop.close()


# ---------------------------------------------------------------- end to end, a few


def chosen_flows(mappings: dict[str, MappingDef], count: int = 3) -> list[tuple[FlowDef, ReturnState]]:
    """The first generated flows (seeded) that validate and that a return runs through to its end in-process with the
    standard lifecycle, each with that in-process return. In a thread of its own: no workflow runs meanwhile."""
    found: list[tuple[FlowDef, ReturnState]] = []

    def choose() -> None:
        world = World(mappings)
        mapping = brand_mapping(mappings, "castore", "received")

        async def search() -> None:
            with in_process() as clock:
                for seed in range(500):
                    flow, _ = validated(flow_document(random.Random(seed).choice))
                    if flow is None or sum(len(s.steps) for s in flow.states.values()) < 6:
                        continue
                    began = clock.now()
                    wf = await world.run(flow, mapping, world.scenario("castore"), LIFECYCLE)
                    waited = clock.now() != began  # a timer (verify_refund looking again): minutes on Temporal
                    if wf._finished() and wf.r.state == "refunded" and len(wf.r.steps_done) >= 5 and not waited:
                        found.append((flow, wf.r))
                        if len(found) == count:
                            break
            await world.http.aclose()

        asyncio.run(search())

    thread = threading.Thread(target=choose)
    thread.start()
    thread.join()
    assert len(found) == count
    return found


@pytest.fixture(scope="module")
def end_to_end_flows(mappings: dict[str, MappingDef]) -> list[tuple[FlowDef, ReturnState]]:
    return chosen_flows(mappings)


async def test_generated_flows_end_on_temporal_as_the_in_process_interpreter_said(
    end_to_end_flows: list[tuple[FlowDef, ReturnState]], harness: Harness
) -> None:
    mapping = brand_mapping(harness.mappings, "castore", "received")
    harness.mappings = {**harness.mappings, "castore": mapping}
    for n, (flow, expected) in enumerate(end_to_end_flows):
        harness.flows = {**harness.flows, "return": dataclasses.replace(flow, content_hash=f"generated-{n}")}
        sc = harness.new_return(f"generated flow {n}", "castore", ("A", None))
        await harness.push_all(sc)
        status = await harness.wait_for(sc, lambda s: s.finished or s.needs_attention, timeout=30)
        attention = expected.hold or expected.flag  # a flag (finance: a refund pre-empted) is the same on both
        assert status.finished and status.state == expected.state == "refunded", status.attention_reason
        seen = (status.hold.kind, status.hold.blocking) if status.hold else None
        assert seen == ((attention.kind, attention.blocking) if attention else None)
        assert status.steps_done == expected.steps_done, (flow.states, status.steps_done)


# ---------------------------------------------------------------- what validation refuses does hold


def refund_first(flow: FlowDef) -> FlowDef:
    """The issue's flow: the refund, brought forward by `on_reaching`, listed first in the start state."""
    refund = StepCall("issue_refund", on_reaching="mapping.refund.trigger")
    start = flow.states["requested"]
    states = {**flow.states, "requested": dataclasses.replace(start, steps=[refund, *start.steps])}
    return dataclasses.replace(flow, states=states, content_hash="refund-first")


def test_the_flow_the_issue_names_is_refused_and_would_hold_every_return_at_registration(
    mappings: dict[str, MappingDef], flows: dict[str, FlowDef]
) -> None:
    broken_flow = refund_first(flows["return"])
    text = (REPO_ROOT / "flows" / "return.yaml").read_text()
    refused = text.replace("      - step: validate_order\n",
                           "      - step: issue_refund\n        on_reaching: mapping.refund.trigger\n"
                           "      - step: validate_order\n")  # fmt: skip
    with pytest.raises(DefinitionError, match="issue_refund needs validate_order earlier"):
        flow_from_yaml(parse_yaml(refused, "refund-first.yaml"))

    async def run() -> ReturnState:
        world = World(mappings)
        with in_process():
            sc = world.scenario("castore")
            wf = await world.run(broken_flow, brand_mapping(mappings, "castore", "inspected"), sc, ["registered"])
        await world.http.aclose()
        return wf.r

    r = asyncio.run(run())
    assert r.state == "requested" and r.hold is not None
    assert r.hold.detail == "issue_refund: the order is not known (validate_order has not run)" and broken(r)
