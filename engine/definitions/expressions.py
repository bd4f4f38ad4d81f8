"""The JMESPath a flow's `when:` and `on_reaching:` are written in: what they can see, checked before anything
runs, and the same facts built at run time (so a name the check accepts is a name the workflow has)."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from typing import Any, Union

import jmespath
from jmespath.exceptions import JMESPathError

from engine.definitions.mapping import MappingDef

# The return's own facts an expression may read; the workflow builds exactly these keys.
RETURN_FACTS: dict[str, str] = {
    "state": "the state the return is in",
    "graded": "true once an inspection with grades has arrived",
    "refunded": "true once a refund outcome exists (issued, verified, pre-empted or skipped)",
    "items": "how many units the return has",
    "order_name": "the Shopify order",
}

Shape = dict[str, Any] | None  # a dict of field -> shape; {"*": shape} for a map; None for a value


def _shape_of(hint: Any) -> Shape:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        shapes = [_shape_of(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        return shapes[0] if shapes else None
    if origin in (dict,):
        return {"*": _shape_of(typing.get_args(hint)[1])}
    if origin in (list,):
        return _shape_of(typing.get_args(hint)[0])
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return {f.name: _shape_of(hints[f.name]) for f in dataclasses.fields(hint)}
    return None


def context_shape() -> dict[str, Any]:
    return {"mapping": _shape_of(MappingDef), "return": {name: None for name in RETURN_FACTS}}


def _chains(node: dict[str, Any]) -> list[list[str]]:
    """Field paths read from the root of the context (the right side of a projection reads its elements)."""
    kind, children = node.get("type"), node.get("children") or []
    if kind == "field":
        return [[node["value"]]]
    if kind == "subexpression":
        names: list[str] = []
        for child in children:
            if child.get("type") == "field":
                names.append(child["value"])
            elif child.get("type") == "subexpression":
                names.extend(_chains(child)[0])
            else:
                break
        return [names] if names else []
    if kind in ("projection", "value_projection", "filter_projection", "index_expression", "flatten"):
        return _chains(children[0]) if children else []
    return [chain for child in children for chain in _chains(child)]


def expression_problems(text: str) -> list[tuple[str, str]]:
    """(message, hint) for an expression that does not compile or reads a field the context does not have."""
    try:
        parsed = jmespath.compile(text).parsed
    except JMESPathError as exc:
        return [(f"JMESPath does not compile: {str(exc).splitlines()[0]}", "see https://jmespath.org")]
    problems = []
    shape: Shape = context_shape()
    for chain in _chains(dict(parsed)):
        here: Shape = shape
        seen: list[str] = []
        for name in chain:
            if here is None:
                problems.append((f"{'.'.join(seen)} is a value, it has no field {name!r}", ""))
                break
            if name not in here and "*" not in here:
                known = ", ".join(sorted(here))
                problems.append((f"{'.'.join([*seen, name])} does not exist", f"fields here: {known}"))
                break
            here = here.get(name, here.get("*"))
            seen.append(name)
    return problems


def evaluate(text: str, context: dict[str, Any]) -> Any:
    return jmespath.search(text, context)


def mapping_context(mapping: MappingDef) -> dict[str, Any]:
    return dataclasses.asdict(mapping)


# ---------------------------------------------------------------- what validation can know before a return runs

_BOOLEAN = ("comparator", "not_expression")  # true or false (or null), never a value JMESPath and Python judge apart


def _over_the_mapping(node: dict[str, Any]) -> bool:
    """Reads nothing but literals and fields of the mapping (pinned at start: the same for a return's whole life)."""
    kind, children = node.get("type"), node.get("children") or []
    if kind == "literal":
        return True
    if kind == "field":
        return bool(node.get("value") == "mapping")
    if kind == "subexpression":
        head, *rest = children
        return head == {"type": "field", "children": [], "value": "mapping"} and all(
            c.get("type") == "field" for c in rest
        )
    if kind in (*_BOOLEAN, "and_expression", "or_expression"):
        return all(_over_the_mapping(child) for child in children)
    return False


@functools.cache
def mapping_conditions(text: str | None) -> tuple[frozenset[str], bool]:
    """A `when:` as the conditions it shares with other steps: its `&&` parts that compare the mapping's fields
    (each canonical, so two steps writing the same comparison share it), and whether those parts are all of it.
    A step that runs has every part true; the mapping's parts stay true for the return's whole life, so a step
    whose parts include another's runs only where that one ran too. None or empty: always (no parts, all of it)."""
    if not text:
        return frozenset(), True
    try:
        parsed = jmespath.compile(text).parsed
    except JMESPathError:
        return frozenset(), False
    parts: list[dict[str, Any]] = []

    def split(node: dict[str, Any]) -> None:
        if node.get("type") == "and_expression":
            for child in node.get("children") or []:
                split(child)
        else:
            parts.append(node)

    split(dict(parsed))
    known = [p for p in parts if p.get("type") in _BOOLEAN and _over_the_mapping(p)]
    return frozenset(json.dumps(p, sort_keys=True) for p in known), len(known) == len(parts)


@functools.cache
def literal_name(text: str | None) -> str | None:
    """The name an `on_reaching:` that is a plain string literal (`'received'`) always gives; None otherwise."""
    if not text:
        return None
    try:
        parsed = jmespath.compile(text).parsed
    except JMESPathError:
        return None
    value = parsed.get("value") if parsed.get("type") == "literal" else None
    return value if isinstance(value, str) else None
