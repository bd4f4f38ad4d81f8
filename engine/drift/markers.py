"""Whose a refund is: the Rebound returns its note carries the engine's marker for (a refund beside the return), or
the return whose processing made it; and the parcels of a per-parcel refund."""

from __future__ import annotations

from engine.activities.shopify import PARCEL_MARKER, REFUND_MARKER
from engine.drift.model import ShopifyOrder, ShopifyRefund

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


def ours(refund: ShopifyRefund, order: ShopifyOrder) -> list[str]:
    """The Rebound returns a refund is the engine's for: its note's marker (a refund beside the return), or the
    Shopify return whose processing made it, as the order links it (or the return's own marker) to a Rebound
    return."""
    marked = marker_ids(refund.note)
    if marked or not refund.return_id:
        return marked
    return order.rebound_ids_of_return(refund.return_id)


def part(refund: ShopifyRefund) -> str:
    """What tells a per-parcel refund apart: the parcels its note names, or the refund itself when processing the
    return made it (each round's processing is a refund of its own)."""
    return parcel_part(refund.note) or (refund.id if refund.return_id else "")
