"""A JSON Schema compiled into Python for the receiver's hot path, by `fastjsonschema` (a well-kept library that
generates the checks as code): the push schema is checked once per push, and `jsonschema`'s generic validator
spent most of the receiver's time there. Only a yes or no: when the answer is no, the caller asks `jsonschema` for
the error and its message, so refusals read exactly as before (tests/test_fast_schema.py checks that both say the
same on the push schema, for valid pushes and for every near miss). A schema it cannot compile is left to
`jsonschema` alone (`compile_schema` says None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastjsonschema

Check = Callable[[Any], bool]


def compile_schema(schema: Any) -> Check | None:
    """A yes-or-no check of draft 7 `schema` (None: it cannot be compiled)."""
    if not isinstance(schema, dict):
        return None
    try:
        validate = fastjsonschema.compile(schema, use_formats=False)
    except (fastjsonschema.JsonSchemaDefinitionException, fastjsonschema.JsonSchemaValueException):
        return None

    def check(value: Any) -> bool:
        try:
            validate(value)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return check
