"""What a refund's note says about whose it is: the Rebound returns it carries the engine's marker for, and the
parcels of a per-parcel refund."""

from __future__ import annotations

from engine.activities.shopify import PARCEL_MARKER, REFUND_MARKER

MARKER = REFUND_MARKER


def marker_ids(note: str) -> list[str]:
    ids = []
    rest = note or ""
    while MARKER in rest:
        rest = rest[rest.index(MARKER) + len(MARKER) :]
        end = rest.find("]")
        if end < 0:
            break
        ids.append(rest[:end])
        rest = rest[end + 1 :]
    return ids


def parcel_part(note: str) -> str:
    """The parcels a per-parcel refund settles ('' for a return's first or only refund)."""
    if PARCEL_MARKER not in (note or ""):
        return ""
    rest = note[note.index(PARCEL_MARKER) + len(PARCEL_MARKER) :]
    return rest[: rest.find("]")] if "]" in rest else rest
