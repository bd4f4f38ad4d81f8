"""JSON Schema (draft-07) validation that reports the best-matching error at its YAML position."""

from __future__ import annotations

import difflib
import json
from functools import cache
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

from engine.definitions.yamlfile import LoadedYaml, Problem
from engine.shipped import schemas_dir


@cache
def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return schema


def _hint(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        return f"allowed keys here: {', '.join(allowed)}" if allowed else ""
    if error.validator == "enum":
        options = [str(v) for v in error.validator_value]
        typed = str(error.instance) if isinstance(error.instance, str) else ""
        close = difflib.get_close_matches(typed, options, n=1, cutoff=0.72) if typed else []
        return f"did you mean {close[0]!r}?" if close else "use one of: " + ", ".join(options)
    if error.validator == "required":
        return "add the missing key"
    if error.validator == "type":
        return f"expected {error.validator_value}"
    if error.validator == "pattern":
        return f"must match {error.validator_value}"
    return ""


def schema_problems(doc: LoadedYaml, schema_name: str) -> list[Problem]:
    """One problem per failing location; for oneOf/anyOf the closest branch, not a dump of all of them."""
    validator = Draft7Validator(load_schema(schema_name))
    by_path: dict[tuple[Any, ...], list[ValidationError]] = {}
    for error in validator.iter_errors(doc.data):
        by_path.setdefault(tuple(error.absolute_path), []).append(error)
    problems = []
    for path in sorted(by_path, key=lambda p: doc.where(p)):
        error = best_match(by_path[path])
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set((error.schema.get("properties") or {}).keys())
            extra = [k for k in error.instance if k not in allowed]
            if extra:  # point at the offending key itself, not its parent
                where = where + (extra[0],)
        problems.append(doc.problem(where, error.message, _hint(error)))
    return problems
