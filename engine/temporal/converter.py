"""The payload converter: Temporal's default, with dataclasses decoded from a cached reading of their fields.

Temporal's JSON converter rebuilds a dataclass by asking `typing.get_type_hints` for its fields on every value, and
with postponed annotations (`from __future__ import annotations`, every module here) that compiles each field's
annotation anew: decoding one return's start input (its pinned flow and mapping, a few hundred nested fields) took
about 15 ms of a worker's CPU, more than the rest of its workflow code. The fields of a class never change, so they
are read once per class; the values are built exactly as Temporal's `value_to_type` builds them (unknown keys
ignored, missing required fields fail at construction, `init=False` fields set afterwards)."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)


@cache
def dataclass_fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type, init) of each field, read once per class."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name], f.init) for f in dataclasses.fields(cls))


class CachedDataclasses(JSONTypeConverter):
    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict)):
            return JSONTypeConverter.Unhandled
        init: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, field_hint, in_init in dataclass_fields(hint):
            if name not in value:
                continue
            try:
                converted = value_to_type(field_hint, value[name], CONVERTERS)
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (init if in_init else later)[name] = converted
        obj = hint(**init)
        for name, converted in later.items():
            object.__setattr__(obj, name, converted)
        return obj


CONVERTERS: list[JSONTypeConverter] = [CachedDataclasses()]


class ReturnsPayloadConverter(CompositePayloadConverter):
    """Temporal's default converters, the JSON one with the cached dataclasses."""

    def __init__(self) -> None:
        super().__init__(*[
            JSONPlainPayloadConverter(custom_type_converters=CONVERTERS)
            if isinstance(c, JSONPlainPayloadConverter) else c
            for c in DefaultPayloadConverter.default_encoding_payload_converters
        ])  # fmt: skip


# Payload converters that write a value as Temporal's default writes it (ours differs only in reading): a payload made
# by hand in that format (engine.workers.starter.start_payload) is what they would have made.
WRITES_AS_DEFAULT = (DefaultPayloadConverter, ReturnsPayloadConverter)

DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_converter_class=ReturnsPayloadConverter)
