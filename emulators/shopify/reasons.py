"""The standard return reason definitions (2026-01+) and their legacy ``ReturnReason`` equivalents.

IDs and handles are those of a live 2026-04 store (capture ``return-reason-validation``); a shop's catalogue
continues with a long product taxonomy, which the engine never needs.
"""

from __future__ import annotations

from .ids import make_gid
from .model import ReturnReasonDefinition

_STANDARD = (
    (1, "unknown", "Unknown", "UNKNOWN"),
    (2, "changed-my-mind", "Changed my mind", "UNWANTED"),
    (3, "item-not-as-described", "Item not as described", "NOT_AS_DESCRIBED"),
    (4, "received-the-wrong-item", "Received the wrong item", "WRONG_ITEM"),
    (5, "other-reason", "Other", "OTHER"),
    (6, "damaged-or-defective", "Damaged or defective", "DEFECTIVE"),
    (7, "too-small", "Too small", "SIZE_TOO_SMALL"),
    (8, "too-big", "Too big", "SIZE_TOO_LARGE"),
    (9, "style", "Style", "STYLE"),
    (10, "color", "Color", "COLOR"),
)

REASON_DEFINITIONS: tuple[ReturnReasonDefinition, ...] = tuple(
    ReturnReasonDefinition(make_gid("ReturnReasonDefinition", n), handle, name, legacy)
    for n, handle, name, legacy in _STANDARD
)
_BY_ID = {d.id: d for d in REASON_DEFINITIONS}
_BY_LEGACY = {d.legacy_reason: d for d in REASON_DEFINITIONS}


def definition_by_id(definition_id: str) -> ReturnReasonDefinition | None:
    return _BY_ID.get(definition_id)


def definition_for_legacy(reason: str) -> ReturnReasonDefinition | None:
    return _BY_LEGACY.get(reason)
