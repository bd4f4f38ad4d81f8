"""The start input `deliver` hands to Temporal (engine.workers.starter.start_input: the pinned flow and mapping
converted once per definition object) is the same bytes the data converter writes for the ReturnStart itself, and
the workflow reads it back as that ReturnStart."""

from __future__ import annotations

import dataclasses

from temporalio.converter import DataConverter

from engine.definitions.flow import load_flows
from engine.definitions.mapping import load_mappings
from engine.workers.starter import start_input
from engine.workflow.messages import ReturnStart
from tests.paths import REPO_ROOT


def test_start_input_is_the_same_payload() -> None:
    converter = DataConverter.default.payload_converter
    flows = load_flows(REPO_ROOT / "flows")
    for mapping in load_mappings(REPO_ROOT / "mappings").values():
        flow = flows[mapping.flow]
        for options in ({}, {"activity_timeout_seconds": 5, "max_activity_attempts": 2, "search_attributes": False}):
            start = ReturnStart(mapping.brand, "(00)42", flow, mapping, **options)  # type: ignore[arg-type]
            [plain] = converter.to_payloads([start])
            [fast] = converter.to_payloads([start_input(start)])
            assert fast == plain
            [again] = converter.to_payloads([start_input(dataclasses.replace(start, rebound_return_id="(00)43"))])
            assert again != plain  # the return's own fields are not cached with the definitions
            assert converter.from_payloads([fast], [ReturnStart]) == [start]
