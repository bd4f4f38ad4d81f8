"""The ``@idempotent(key:)`` field directive: required on 2026-04+, keys replay for 24 hours.

Same key + same arguments returns the first result without writing again; same key + other arguments is a
``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``. Only committed writes are remembered, so a call rejected with user
errors can be retried with its key. Keys are scoped per shop and mutation, and expire on ``store.clock``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo, get_directive_values

from .clock import Clock
from .model import IdempotencyRecord, Shop
from .outcome import UserError, top_level_error

T = TypeVar("T")

KEY_TTL = timedelta(hours=24)
REQUIRED_FROM_VERSION = "2026-04"
MISMATCH_MESSAGE = "The same idempotency key cannot be used with different operation parameters."
MISSING_MESSAGE = "The @idempotent directive is required for this mutation but was not provided."


def directive_key(info: GraphQLResolveInfo) -> str | None:
    """The key of a field-level ``@idempotent`` on the resolved field (operation-level ones don't count)."""
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return None if values is None else str(values["key"])


def require_key(info: GraphQLResolveInfo, version: str) -> str | None:
    """The key, or a top-level ``BAD_REQUEST`` where the version makes it mandatory."""
    key = directive_key(info)
    if key is None:
        if version >= REQUIRED_FROM_VERSION:
            raise top_level_error(MISSING_MESSAGE, "BAD_REQUEST")
        return None
    if not key.strip():
        raise top_level_error("The idempotency key cannot be empty or whitespace only.", "BAD_REQUEST")
    return key


def fingerprint(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))


class KeyMismatch(Exception):
    """The key was used before with different arguments."""


def lookup(shop: Shop, mutation: str, key: str, print_: str, now: datetime) -> IdempotencyRecord | None:
    """The live record for this key (expired ones are dropped); raises ``KeyMismatch`` on other arguments."""
    record = shop.idempotency.get((mutation, key))
    if record is None:
        return None
    if now - record.created_at >= KEY_TTL:
        del shop.idempotency[(mutation, key)]
        return None
    if record.fingerprint != print_:
        raise KeyMismatch(key)
    return record


def remember(shop: Shop, mutation: str, key: str, print_: str, now: datetime, result_id: str) -> None:
    shop.idempotency[(mutation, key)] = IdempotencyRecord(key, mutation, print_, now, result_id)


def run_once(
    info: GraphQLResolveInfo,
    version: str,
    shop: Shop,
    clock: Clock,
    mutation: str,
    arguments: dict[str, Any],
    write: Callable[[], tuple[T | None, list[UserError], str | None]],
    replay: Callable[[str], T | None],
    mismatch_code: str | None = None,
) -> tuple[T | None, list[UserError]]:
    """Run a write under its key: replay a committed one, refuse a reused key, remember a new write.

    ``write`` returns (value, user errors, id of what it committed or None) and counts its own writes;
    ``replay`` rebuilds the value from a remembered id. ``mismatch_code`` differs by mutation (none on refunds).
    """
    key = require_key(info, version)
    print_ = fingerprint(arguments)
    now = clock.now()
    if key is not None:
        try:
            record = lookup(shop, mutation, key, print_, now)
        except KeyMismatch:
            return None, [UserError(None, MISMATCH_MESSAGE, mismatch_code)]
        if record is not None:
            return replay(record.result_id), []
    value, errors, written = write()
    if written is not None and key is not None:
        remember(shop, mutation, key, print_, now, written)
    return value, errors
