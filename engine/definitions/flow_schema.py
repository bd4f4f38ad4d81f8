"""Generate `schemas/flow.schema.json` from the step catalog, so an editor completes step names and their `with:`
keys from the same source the engine runs (a test fails when the checked-in schema is stale).

    python -m engine.definitions.flow_schema            # print it
    python -m engine.definitions.flow_schema --write    # write schemas/flow.schema.json (from a checkout)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.definitions.catalog import STEPS, StepSpec
from engine.definitions.flow import EVENT_KINDS, FORMAT

EXPRESSION = {"type": "string", "minLength": 1}


def _step_rule(spec: StepSpec) -> dict[str, Any]:
    with_schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": spec.params}
    if spec.required_params:
        with_schema["required"] = list(spec.required_params)
    then: dict[str, Any] = {"properties": {"with": with_schema}}
    if spec.required_params:
        then["required"] = ["with"]
    return {"if": {"properties": {"step": {"const": spec.name}}, "required": ["step"]}, "then": then}


def flow_schema() -> dict[str, Any]:
    outcomes = sorted({f"on_{o}" for spec in STEPS for o in spec.outcomes})
    step_properties: dict[str, Any] = {
        "step": {"enum": [spec.name for spec in STEPS], "description": "A step from the catalog (docs/flows.md)."},
        "with": {"type": "object", "description": "The step's parameters (the catalog says which)."},
        "when": {**EXPRESSION, "description": "JMESPath over {mapping, return}: the step runs only when truthy.",
                 "examples": ["mapping.refund.issuer == 'engine'"]},
        "on_reaching": {**EXPRESSION, "description": "JMESPath naming a milestone: the step runs when the return "
                        "reaches it (after that state's own steps), and here at the latest; once per return.",
                        "examples": ["mapping.refund.trigger"]},
    }  # fmt: skip
    for key in outcomes:
        step_properties[key] = {"$ref": "#/definitions/stateName", "description": "Where the outcome leads."}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://rebound-returns-engine.local/schemas/flow.schema.json",
        "title": "Return lifecycle flow (format 2)",
        "description": "A return's lifecycle, generated from the engine's step catalog: states of a kind (start, "
        "milestone, terminal), ordered milestones, which canonical event moves a return to which state, and the "
        "steps each state runs with their parameters. A running return keeps the exact flow it started with.",
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "name", "version", "milestones", "events", "states"],
        "properties": {
            "format": {"const": FORMAT, "description": "Flow format; 2 names each step as {step, with, when}."},
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$", "description": "Flow name (a mapping "
                     "names its flow by it).", "examples": ["return"]},
            "version": {"type": "integer", "minimum": 1, "description": "Human version number; the content "
                        "hash is what pins a running return.", "examples": [2]},
            "description": {"type": "string"},
            "milestones": {
                "description": "Ordered states a return moves through; the first is the start state. A later "
                "milestone implies the earlier ones: their steps run in order.",
                "type": "array", "minItems": 2, "items": {"$ref": "#/definitions/stateName"},
                "examples": [["requested", "in_transit", "received", "inspected", "restocked", "refunded"]],
            },
            "linger": {"$ref": "#/definitions/duration", "description": "How long a finished return keeps "
                       "listening, so late events are recorded instead of starting a ghost return."},
            "events": {
                "description": "Canonical event -> the state it moves a return to.",
                "type": "object",
                "propertyNames": {"enum": list(EVENT_KINDS)},
                "additionalProperties": {"$ref": "#/definitions/stateName"},
                "examples": [{"registered": "requested", "received": "received"}],
            },
            "states": {
                "type": "object",
                "description": "Every state, by name.",
                "propertyNames": {"$ref": "#/definitions/stateName"},
                "additionalProperties": {"$ref": "#/definitions/state"},
            },
        },
        "definitions": {
            "stateName": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "duration": {"type": "string", "pattern": "^[0-9]+(s|m|h|d|w)$",
                         "description": "A duration: 90s, 15m, 12h, 30d, 2w.", "examples": ["14d"]},
            "state": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["start", "milestone", "terminal"], "default": "milestone",
                             "description": "start: where a return begins (the first milestone); milestone: a "
                             "step forward; terminal: where it ends."},
                    "description": {"type": "string"},
                    "steps": {"type": "array", "items": {"$ref": "#/definitions/step"},
                              "description": "Run in order on entering the state."},
                    "then": {"$ref": "#/definitions/stateName", "description": "Go on to this state as soon as "
                             "the steps are done."},
                    "allowed_from": {"type": "array", "items": {"$ref": "#/definitions/stateName"},
                                     "description": "Terminal states: the states an event may end a return from."},
                    "sla": {
                        "type": "object", "additionalProperties": False, "required": ["within", "reason"],
                        "properties": {"within": {"$ref": "#/definitions/duration"}, "reason": {"type": "string"}},
                        "description": "Hold the return in needs-attention if it stays here longer.",
                    },
                },
            },
            "step": {
                "type": "object",
                "required": ["step"],
                "additionalProperties": False,
                "properties": step_properties,
                "allOf": [_step_rule(spec) for spec in STEPS],  # a step without parameters takes no `with:` keys
            },
        },
    }  # fmt: skip


def main(argv: list[str]) -> int:
    text = json.dumps(flow_schema(), indent=2) + "\n"
    if "--write" in argv:
        target = Path(__file__).resolve().parents[2] / "schemas" / "flow.schema.json"
        target.write_text(text)
        print(f"wrote {target}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
