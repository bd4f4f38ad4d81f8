"""A JSON Schema (draft 7) compiled into plain Python checks, for the receiver's hot path: the push schema is
checked once per push, and `jsonschema`'s validator spends most of the receiver's time there (a dozen generic
calls per value). Only a yes or no: when the answer is no, the caller asks `jsonschema` for the error and its
message, so refusals read exactly as before.

Only the keywords a schema like `rebound-push.schema.json` uses are compiled, each with draft 7's meaning (checked
against `jsonschema` in tests/test_fast_schema.py): `type`, `required`, `properties`, `items` (one schema for
every item), `maxItems`, `minLength`, `maxLength`, `pattern` (`re.search`), `minimum`, `maximum`, `oneOf`, and
the annotations (`title`, `description`, `examples`, `$schema`, `$id`, `$comment`, `default`). A schema using any
other keyword (or `true`/`false` as a schema) is not compiled: `compile_schema` says None and the caller keeps
`jsonschema` alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

ANNOTATIONS = frozenset({"title", "description", "examples", "$schema", "$id", "$comment", "default"})


class NotCompiled(Exception):
    """The schema uses something this compiler does not know: leave it to jsonschema."""


def _is_integer(value: Any) -> bool:  # draft 6 and later: 1.0 is an integer
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def compile_schema(schema: Any) -> Check | None:
    """A function telling whether a document is valid under `schema`, or None if the schema is beyond it."""
    try:
        return _compile(schema)
    except NotCompiled:
        return None


def _compile(schema: Any) -> Check:
    if not isinstance(schema, dict):
        raise NotCompiled("a boolean schema")
    unknown = set(schema) - ANNOTATIONS - set(KEYWORDS)
    if unknown:
        raise NotCompiled(f"keywords {sorted(unknown)}")
    string = _string(schema)
    if string is not None:
        return string
    checks = [KEYWORDS[key](value) for key, value in schema.items() if key in KEYWORDS]
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:  # a loop, not all(generator): this runs for every value of every push
            if not one(value):
                return False
        return True

    return check


STRING_KEYWORDS = frozenset({"type", "minLength", "maxLength", "pattern"})


def _string(schema: dict[str, Any]) -> Check | None:
    """The common case in one function: a string (or null) with bounds and a pattern, as the separate keywords
    would judge it. None for any other schema."""
    keywords = set(schema) - ANNOTATIONS
    types = schema.get("type")
    if not keywords <= STRING_KEYWORDS or types not in ("string", ["string", "null"], ["null", "string"]):
        return None
    nullable = types != "string"
    shortest, longest = schema.get("minLength", 0), schema.get("maxLength")
    search = re.compile(schema["pattern"]).search if "pattern" in schema else None

    def check(value: Any) -> bool:
        if not isinstance(value, str):
            return nullable and value is None
        if len(value) < shortest or (longest is not None and len(value) > longest):
            return False
        return search is None or search(value) is not None

    return check


def _type(types: Any) -> Check:
    names = [types] if isinstance(types, str) else list(types)
    if any(name not in TYPES for name in names):
        raise NotCompiled(f"type {types!r}")
    if names == ["string"]:
        return lambda v: isinstance(v, str)
    if names == ["object"]:
        return lambda v: isinstance(v, dict)
    if names == ["array"]:
        return lambda v: isinstance(v, list)
    if sorted(names) == ["null", "string"]:
        return lambda v: v is None or isinstance(v, str)
    tests = [TYPES[name] for name in names]
    return lambda v: any(test(v) for test in tests)


def _required(names: list[str]) -> Check:
    wanted = frozenset(names)
    return lambda v: not isinstance(v, dict) or wanted.issubset(v.keys())


def _properties(properties: dict[str, Any]) -> Check:
    compiled = [(name, _compile(sub)) for name, sub in properties.items()]

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name, sub in compiled:
            if name in v and not sub(v[name]):
                return False
        return True

    return check


def _items(items: Any) -> Check:
    if isinstance(items, list):
        raise NotCompiled("items as a list of schemas")
    sub = _compile(items)

    def check(v: Any) -> bool:
        if isinstance(v, list):
            for item in v:
                if not sub(item):
                    return False
        return True

    return check


def _max_items(limit: int) -> Check:
    return lambda v: not isinstance(v, list) or len(v) <= limit


def _min_length(limit: int) -> Check:
    return lambda v: not isinstance(v, str) or len(v) >= limit


def _max_length(limit: int) -> Check:
    return lambda v: not isinstance(v, str) or len(v) <= limit


def _pattern(pattern: str) -> Check:
    search = re.compile(pattern).search
    return lambda v: not isinstance(v, str) or search(v) is not None


def _minimum(limit: float) -> Check:
    return lambda v: not _is_number(v) or v >= limit


def _maximum(limit: float) -> Check:
    return lambda v: not _is_number(v) or v <= limit


def _one_of(schemas: list[Any]) -> Check:
    subs = [_compile(sub) for sub in schemas]
    return lambda v: sum(1 for sub in subs if sub(v)) == 1


KEYWORDS: dict[str, Callable[[Any], Check]] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "items": _items,
    "maxItems": _max_items,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "minimum": _minimum,
    "maximum": _maximum,
    "oneOf": _one_of,
}
