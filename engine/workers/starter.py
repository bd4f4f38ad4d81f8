"""Deliver a canonical event to its return's workflow: signal-with-start, one workflow per Rebound return."""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import AdvancedJSONEncoder
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from engine.definitions.flow import FlowDef
from engine.definitions.mapping import MappingDef
from engine.events import ReturnEvent
from engine.temporal.converter import WRITES_AS_DEFAULT
from engine.workflow import visibility
from engine.workflow.messages import ReturnStart, ReturnStatus, workflow_id
from engine.workflow.return_workflow import ReturnWorkflow
from engine.workflow.summaries import start_details, start_summary


@dataclass
class Delivery:
    workflow_id: str
    accepted: bool  # False: the return's workflow has finished; the event is recorded by the caller
    detail: str = ""


JSON_PLAIN = b"json/plain"  # the default JSON payload converter's encoding
_PINNED: OrderedDict[int, tuple[object, dict[str, Any], str]] = OrderedDict()  # id -> (definition, asdict, JSON)
PINNED_KEPT = 32  # definitions remembered: a brand's flow and mapping, each version for a while


def _pinned(definition: FlowDef | MappingDef) -> tuple[dict[str, Any], str]:
    """`dataclasses.asdict` of a definition and its JSON as the data converter writes it, once per definition
    object: the registry caches hand out the same object for seconds, and the start input of every new return
    carries both (kilobytes: 0.3 ms of asdict and 0.1 ms of JSON each time). Definitions are values, never changed
    once loaded."""
    key = id(definition)
    hit = _PINNED.get(key)
    if hit is not None and hit[0] is definition:
        return hit[1], hit[2]
    converted = dataclasses.asdict(definition)
    _PINNED[key] = (definition, converted, _json(converted))
    while len(_PINNED) > PINNED_KEPT:
        _PINNED.popitem(last=False)
    return converted, _PINNED[key][2]


def _json(value: Any) -> str:
    """JSON as the default payload converter writes it (JSONPlainPayloadConverter.to_payload)."""
    return json.dumps(value, cls=AdvancedJSONEncoder, separators=(",", ":"), sort_keys=True)


_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as the data converter writes it: JSON of `dataclasses.asdict` for a dataclass, with sorted keys.
    Dataclasses become dicts and lists are walked; everything else is left as it is for the converter's JSON
    encoder, which writes it as it would have written asdict's deep copy of it (a dataclass it meets as a
    dataclass: asdict). The same bytes, without asdict's deep copies and field look-ups on every push."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is list:
        return [plain(item) for item in value]
    names = _FIELDS.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        names = _FIELDS[kind] = tuple(field.name for field in dataclasses.fields(value))
    return {name: plain(getattr(value, name)) for name in names}


def start_input(start: ReturnStart) -> dict[str, Any]:
    """The start input as the data converter would write it (`plain`: the same bytes, so the workflow reads a
    ReturnStart as before), with the pinned flow and mapping converted once per definition."""
    pinned = {"flow": _pinned(start.flow)[0], "mapping": _pinned(start.mapping)[0]}
    names = (field.name for field in dataclasses.fields(start))
    return {name: pinned[name] if name in pinned else plain(getattr(start, name)) for name in names}


def start_payload(start: ReturnStart) -> RawValue:
    """The start input's payload, written as the default payload converter writes a ReturnStart (JSON of asdict,
    keys sorted, no spaces: an object is `{` + its sorted `"key":value` pairs joined by `,` + `}`), with the pinned
    flow and mapping's JSON made once per definition. The codec (encryption) still applies: it runs after the
    payload converter, which passes a RawValue through."""
    pinned = {"flow": _pinned(start.flow)[1], "mapping": _pinned(start.mapping)[1]}
    pairs = []
    for name in sorted(field.name for field in dataclasses.fields(start)):
        value = pinned[name] if name in pinned else _json(plain(getattr(start, name)))
        pairs.append(f"{_json(name)}:{value}")
    return RawValue(Payload(metadata={"encoding": JSON_PLAIN}, data=("{" + ",".join(pairs) + "}").encode()))


def _start_arg(client: Client, start: ReturnStart) -> ReturnStart:
    """What start_workflow is given for the ReturnStart: its payload made here when the client's converter writes as
    Temporal's default does (the engine's, encrypted or not), else the plain dicts for whatever converter it has."""
    if client.data_converter.payload_converter_class in WRITES_AS_DEFAULT:
        return cast(ReturnStart, start_payload(start))
    return cast(ReturnStart, start_input(start))


async def deliver(
    client: Client,
    event: ReturnEvent,
    *,
    flow: FlowDef,
    mapping: MappingDef,
    task_queue: str,
    start_options: dict[str, object] | None = None,
    running: bool = False,
) -> Delivery:
    """Signal the return's workflow, starting it (pinned to this flow and mapping) if it does not exist.
    `running`: the caller saw this workflow running; a plain signal then carries the event alone, not the start
    input (the pinned flow and mapping, kilobytes) again. Not found (finished since, or never here): as usual."""
    wf_id = workflow_id(event.brand, event.rebound_return_id)
    if running:
        try:
            await client.get_workflow_handle(wf_id).signal("event", plain(event))
            return Delivery(wf_id, True)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
    options: dict[str, object] = {"visibility": 1, **(start_options or {})}
    start = ReturnStart(event.brand, event.rebound_return_id, flow, mapping, **options)  # type: ignore[arg-type]
    # Given at start they cost nothing; the workflow upserts only what differs once it comes to rest.
    attributes = None
    if start.search_attributes:
        attributes = visibility.at_start(event.brand, event.rebound_return_id, flow.events.get(event.kind),
                                         mapping.version, event.order_name)  # fmt: skip
    try:
        await client.start_workflow(
            ReturnWorkflow.run,
            _start_arg(client, start),
            id=wf_id,
            task_queue=task_queue,
            start_signal="event",
            start_signal_args=[plain(event)],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=start_summary(event),
            static_details=start_details(event, flow, mapping),
            search_attributes=attributes,
        )
    except WorkflowAlreadyStartedError:
        # Only a closed workflow conflicts (a running one is signalled): the return has finished and lingered
        # out, or an operator terminated it. The caller keeps the event; a new run would act on it twice.
        return Delivery(wf_id, False, "return already finished; event not applied")
    return Delivery(wf_id, True)


def handle_for(client: Client, brand: str, rebound_return_id: str) -> WorkflowHandle[ReturnWorkflow, ReturnStatus]:
    return client.get_workflow_handle_for(ReturnWorkflow.run, workflow_id(brand, rebound_return_id))
