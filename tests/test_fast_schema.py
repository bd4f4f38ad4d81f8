"""The compiled push schema (engine.definitions.fast_schema, by fastjsonschema) never says valid where jsonschema's
draft 7 validator says invalid: on the push schema, for valid pushes and for pushes with keys removed or replaced by
any JSON value and by near misses of the schema's limits (lengths, patterns, integers as floats, booleans for
numbers). Where it says invalid the receiver asks jsonschema, whose verdict stands: it may be stricter (a pattern's
`$` before a final newline, which ECMA 262 does not match and Python's `re` does), never more lenient."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from engine.definitions.fast_schema import compile_schema
from engine.definitions.schema_check import load_schema

SCHEMA = load_schema("rebound-push.schema.json")
VALIDATOR = Draft7Validator(SCHEMA)
VALID_PUSH = compile_schema(SCHEMA)

PROPERTIES = {
    "order": SCHEMA["properties"]["order"]["properties"],
    "item": SCHEMA["properties"]["items"]["items"]["properties"],
    "top": SCHEMA["properties"],
}
VALID = {
    "order": {"clientOrderId": "#CA1001", "reboundOrderId": "(00)1", "statusDescription": "returnOrderCreated",
              "timestamp": "2026-11-20T10:00:00.123Z", "trackingNumber": "ZZ1GB", "location": None},
    "items": [{"reboundItemId": "(00)9", "sku": "CAS-TEE-BLK-M", "reasonCode": "Too large", "quantity": "1",
               "commercialValue": "45.00", "commercialValueCurrency": "GBP", "grade": "A", "wish": None}],
}  # fmt: skip

NEAR_MISSES = [
    "", "x", "x" * 16, "x" * 17, "x" * 64, "x" * 65, "x" * 255, "x" * 256, "1", "0", "9999", "10000", "01", "1.5",
    "GBP", "gbp", "GBPX", "45", "45.", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00+01:00", "2026-11-20 10:00:00Z",
    "2026-11-20T10:00:00Z\n", 0, 1, 9999, 10000, -1, 1.0, 1.5, 9999.0, 0.0, True, False, None, [], {}, [{}],
]  # fmt: skip
near_misses = st.sampled_from(NEAR_MISSES)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@st.composite
def pushes(draw: st.DrawFn) -> Any:
    payload: Any = copy.deepcopy(VALID)
    if draw(st.booleans()):
        payload["items"] = payload["items"] * draw(st.integers(0, 3))
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from(["order", "item", "top"]))
        target: Any = payload
        if section == "order" and isinstance(payload.get("order"), dict):
            target = payload["order"]
        elif section == "item" and isinstance(payload.get("items"), list) and payload["items"]:
            target = payload["items"][draw(st.integers(0, len(payload["items"]) - 1))]
        if not isinstance(target, dict):
            continue
        props = PROPERTIES[section]
        key = draw(st.sampled_from(sorted(set(target) | set(props) | {"extra"})))
        action = draw(st.sampled_from(["drop", "near", "any"]))
        if action == "drop":
            target.pop(key, None)
        else:
            target[key] = draw(near_misses if action == "near" else json_values)
    if draw(st.integers(0, 20)) == 0:
        payload = draw(json_values)
    return payload


def verdict(payload: Any) -> bool:
    """The receiver's: the compiled check's yes, else jsonschema's (engine.ingest.receiver)."""
    assert VALID_PUSH is not None
    return VALID_PUSH(payload) or VALIDATOR.is_valid(payload)


def test_the_push_schema_compiles() -> None:
    assert VALID_PUSH is not None
    assert VALID_PUSH(VALID) and VALIDATOR.is_valid(VALID)


def test_every_near_miss_in_every_place() -> None:
    """Each property of the order, of an item and of the push, set to each near miss (and removed)."""
    assert VALID_PUSH is not None
    for section, props in PROPERTIES.items():
        for key in [*props, "extra"]:
            for value in [*NEAR_MISSES, "<drop>"]:
                payload: Any = copy.deepcopy(VALID)
                target = {"order": payload["order"], "item": payload["items"][0], "top": payload}[section]
                if value == "<drop>":
                    target.pop(key, None)
                else:
                    target[key] = value
                assert verdict(payload) == VALIDATOR.is_valid(payload), (section, key, value)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pushes())
def test_compiled_agrees_with_jsonschema(payload: Any) -> None:
    assert VALID_PUSH is not None
    assert verdict(payload) == VALIDATOR.is_valid(payload), VALIDATOR.is_valid(payload)


@pytest.mark.parametrize("schema", [{"$ref": "#/definitions/x"}, {"type": "decimal"}, True])
def test_a_schema_it_cannot_compile_is_left_to_jsonschema(schema: Any) -> None:
    assert compile_schema(schema) is None
