"""The payload converter decodes what Temporal's default decodes, the same values, from a cached reading of each
dataclass's fields (engine.temporal.converter)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from temporalio.converter import DataConverter

from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.temporal.converter import DATA_CONVERTER
from engine.workflow.messages import ReturnStart

ROOT = Path(__file__).parent.parent


@dataclasses.dataclass
class Later:
    a: int
    b: list[int] = dataclasses.field(default_factory=list)
    c: int = dataclasses.field(default=0, init=False)


def decode_both(value: object, hint: type) -> tuple[object, object]:
    ours, default = DATA_CONVERTER.payload_converter, DataConverter.default.payload_converter
    payloads = default.to_payloads([value])
    return ours.from_payloads(payloads, [hint])[0], default.from_payloads(payloads, [hint])[0]


def test_a_start_input_decodes_as_temporal_decodes_it() -> None:
    flows, mappings = load_flows(ROOT / "flows"), load_mappings(ROOT / "mappings")
    for brand, mapping in mappings.items():
        start = ReturnStart(brand, "R1", flows[mapping.flow], mapping, visibility=1)
        ours, default = decode_both(start, ReturnStart)
        assert ours == default == start


def test_unknown_keys_are_ignored_missing_ones_fail_and_non_init_fields_are_kept() -> None:
    value = Later(1, [2])
    value.c = 5
    ours, default = decode_both(value, Later)
    assert ours == default and isinstance(ours, Later) and ours.c == 5
    converter = DATA_CONVERTER.payload_converter
    extra = DataConverter.default.payload_converter.to_payloads([{"a": 1, "zzz": 2}])
    assert converter.from_payloads(extra, [Later])[0] == Later(1)
    missing = DataConverter.default.payload_converter.to_payloads([{"b": [1]}])
    with pytest.raises(TypeError):
        converter.from_payloads(missing, [Later])
    wrong = DataConverter.default.payload_converter.to_payloads([{"a": "x", "b": "not a list"}])
    with pytest.raises(TypeError):
        converter.from_payloads(wrong, [Later])
