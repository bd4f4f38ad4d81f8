"""The start input `deliver` hands to Temporal (engine.workers.starter.start_input: the pinned flow and mapping
converted once per definition object) is the same bytes the data converter writes for the ReturnStart itself, and
the workflow reads it back as that ReturnStart."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from temporalio.converter import DataConverter

from emulators.rebound.scenarios import ScenarioBuilder
from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.events import ParcelRef, ReturnEvent
from engine.rebound.translate import translate
from engine.temporal.codec import ENCODING, CodecKeys, data_converter, new_key
from engine.workers.starter import plain, start_input, start_payload
from engine.workflow.messages import ReturnStart
from tests.paths import REPO_ROOT


def test_start_input_is_the_same_payload() -> None:
    converter = DataConverter.default.payload_converter
    flows = load_flows(REPO_ROOT / "flows")
    for mapping in load_mappings(REPO_ROOT / "mappings").values():
        flow = flows[mapping.flow]
        for options in ({}, {"activity_timeout_seconds": 5, "max_activity_attempts": 2, "search_attributes": False}):
            start = ReturnStart(mapping.brand, "(00)42", flow, mapping, **options)  # type: ignore[arg-type]
            [plain_payload] = converter.to_payloads([start])
            [fast] = converter.to_payloads([start_input(start)])
            assert fast == plain_payload
            assert converter.to_payloads([start_payload(start)]) == [plain_payload]
            [again] = converter.to_payloads([start_input(dataclasses.replace(start, rebound_return_id="(00)43"))])
            assert again != plain_payload  # the return's own fields are not cached with the definitions
            assert converter.from_payloads([fast], [ReturnStart]) == [start]


def test_events_are_the_same_payload() -> None:
    """Pushes of every kind, items, parcels (several), exchanges: `plain(event)` writes what the event writes."""
    converter = DataConverter.default.payload_converter
    mappings = load_mappings(REPO_ROOT / "mappings")
    builder = ScenarioBuilder(mappings, now=datetime.now(UTC), seed=11)
    seen = 0
    for brand in sorted(mappings):
        sc = builder.new(f"plain-{brand}", brand, lines=2)
        builder.returned(sc, 0, 1, "A")
        builder.lifecycle(sc)
        for push in sc.pushes:
            event = translate(push, mappings[brand]).event
            if event is None:
                continue
            event.parcels = [ParcelRef("ZZ1", [i.item_id for i in event.items], None), ParcelRef("ZZ2", [], "u")]
            [fast] = converter.to_payloads([plain(event)])
            assert fast == converter.to_payloads([event])[0]
            assert converter.from_payloads([fast], [ReturnEvent]) == [event]
            seen += 1
    assert seen >= len(mappings) * 3


async def test_the_start_payload_is_encrypted_like_any_other() -> None:
    """The engine's encrypting converter: the ready-made payload goes through the codec, and decodes back."""
    mapping = load_mappings(REPO_ROOT / "mappings")["castore"]
    start = ReturnStart("castore", "(00)42", load_flows(REPO_ROOT / "flows")[mapping.flow], mapping)
    converter = data_converter(CodecKeys.parse([("2026-12", new_key())], "test"))
    [sealed] = await converter.encode([start_payload(start)])
    assert sealed.metadata["encoding"] == ENCODING and b"castore" not in sealed.data
    assert await converter.decode([sealed], [ReturnStart]) == [start]


def test_the_engines_converter_takes_the_ready_made_start_payload() -> None:
    """The workers' and receivers' converter (plaintext or encrypted) writes as Temporal's default, so `deliver`
    hands over the payload made once per definition, not dicts for the converter to walk on every start."""
    from types import SimpleNamespace

    from temporalio.common import RawValue

    from engine.workers.starter import _start_arg

    flows, mappings = load_flows(REPO_ROOT / "flows"), load_mappings(REPO_ROOT / "mappings")
    start = ReturnStart("castore", "R1", flows["return"], mappings["castore"], visibility=1)
    for converter in (data_converter(None), data_converter(CodecKeys.parse([("k1", new_key())], "test"))):
        client = SimpleNamespace(data_converter=converter)
        assert isinstance(_start_arg(client, start), RawValue)  # type: ignore[arg-type]
