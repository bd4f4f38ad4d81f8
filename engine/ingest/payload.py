"""A push body read strictly: UTF-8 JSON, finite numbers, valid Unicode strings and a bounded depth, so whatever
arrives is either a plain JSON document the schema can judge or a PayloadError the receiver holds with a reason
(never an exception that turns into a 500)."""

from __future__ import annotations

import json
import math
from typing import Any

from engine.errors import PayloadError

MAX_DEPTH = 32  # Rebound's pushes are four levels deep


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_push(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"not UTF-8: byte {exc.start}") from None
    try:
        payload = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise PayloadError(f"not JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, 1e999, an integer over Python's digit limit
        raise PayloadError(f"not JSON: {exc}") from None
    if "\\u" in text or text.count("{") + text.count("[") > MAX_DEPTH:
        _check(payload)  # otherwise nothing to find: no container can be that deep, no escape made a surrogate
    return payload


def _check(payload: Any) -> None:
    """Depth and strings, iteratively (no recursion for a hostile document to exhaust)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str):
                _unicode(value)
            continue
        if depth > MAX_DEPTH:
            raise PayloadError(f"not JSON we accept: nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def _unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadError(f"a string holds an unpaired surrogate at {exc.start} (not valid Unicode)") from None
