"""Rebound push payload -> canonical event, read through the brand mapping's JMESPath fields.

Rebound sends no event id, so one is derived from what identifies a milestone: return id, status,
timestamp and items. The same push delivered twice gets the same id and is a no-op downstream.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath

from engine.definitions.mapping import MappingDef
from engine.errors import PayloadError
from engine.events import EventItem, ParcelRef, ReturnEvent


@dataclass
class Translation:
    event: ReturnEvent | None  # None: a status the brand maps to "ignore"
    status: str


DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@functools.lru_cache(maxsize=1024)
def path(expression: str) -> Callable[[Any], Any]:
    """A mapping's JMESPath expression, compiled once. A plain dotted path (`order.reboundOrderId`, most of them)
    becomes dictionary look-ups with JMESPath's meaning: a key of an object, None for anything else or missing."""
    if DOTTED.fullmatch(expression):
        keys = expression.split(".")

        def lookup(value: Any) -> Any:
            for key in keys:
                if not isinstance(value, dict):
                    return None
                value = value.get(key)
            return value

        return lookup
    return jmespath.compile(expression).search


def _field(payload: Any, mapping: MappingDef, name: str, *, required: bool = True) -> Any:
    value = path(mapping.fields[name])(payload)
    if required and (value is None or value == ""):
        raise PayloadError(f"{name}: nothing at `{mapping.fields[name]}`")
    return value


def items_in(payload: Any, mapping: MappingDef) -> Any:
    """The payload's raw items at the mapping's `items` path ([] when absent); callers check it is a list."""
    return _field(payload, mapping, "items", required=False) or []


def _item(raw: Any, mapping: MappingDef, index: int) -> EventItem:
    def get(name: str, required: bool = True) -> Any:
        value = path(mapping.fields[name])(raw)
        if required and (value is None or value == ""):
            raise PayloadError(f"items[{index}].{name}: nothing at `{mapping.fields[name]}`")
        return value

    try:
        quantity = int(str(get("item_quantity")))
    except ValueError:
        raise PayloadError(f"items[{index}].quantity: not a whole number") from None
    if quantity <= 0:
        raise PayloadError(f"items[{index}].quantity: must be positive")
    grade = get("item_grade", required=False)
    wish = str(get("item_wish", required=False) or "refund")
    wanted = get("item_exchange_sku", required=False)
    if wish == "exchange" and wanted in (None, ""):
        raise PayloadError(f"items[{index}].exchange_sku: an exchange wish names no variant at "
                           f"`{mapping.fields['item_exchange_sku']}`")  # fmt: skip
    return EventItem(
        item_id=str(get("item_id", required=False) or f"{get('item_sku')}#{index}"),
        sku=str(get("item_sku")),
        quantity=quantity,
        reason=str(get("item_reason", required=False) or ""),
        grade=str(grade) if grade not in (None, "") else None,
        exchange_sku=str(wanted) if wish == "exchange" else None,
    )


def _parcels(payload: Any, mapping: MappingDef) -> list[ParcelRef]:
    raw = _field(payload, mapping, "parcels", required=False) or []
    if not isinstance(raw, list):
        raise PayloadError(f"parcels: not a list at `{mapping.fields['parcels']}`")
    parcels = []
    for index, parcel in enumerate(raw):
        tracking = path(mapping.fields["parcel_tracking"])(parcel)
        if tracking in (None, ""):
            raise PayloadError(f"parcels[{index}].tracking: nothing at `{mapping.fields['parcel_tracking']}`")
        items = path(mapping.fields["parcel_items"])(parcel) or []
        if not isinstance(items, list):
            raise PayloadError(f"parcels[{index}].items: not a list at `{mapping.fields['parcel_items']}`")
        url = path(mapping.fields["parcel_url"])(parcel)
        parcels.append(ParcelRef(str(tracking), [str(i) for i in items], str(url) if url else None))
    return parcels


def event_id(
    brand: str, return_id: str, status: str, occurred_at: str, items: list[EventItem], parcel: str | None = None
) -> str:
    """The brand is part of the id: two brands' pushes that look alike never deduplicate each other. A
    multi-parcel return's milestones are per parcel: the parcel is part of the id."""
    basis: list[Any] = [
        brand,
        return_id,
        status,
        occurred_at,
        sorted((i.item_id, i.sku, i.quantity, i.grade or "") for i in items),
    ]
    if parcel:
        basis.append(parcel)
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:32]


def translate(payload: Any, mapping: MappingDef, *, source: str = "push") -> Translation:
    status = str(_field(payload, mapping, "status"))
    kind = mapping.statuses.get(status)
    if kind is None:
        raise PayloadError(f"status: {status!r} is not mapped for brand {mapping.brand}")
    raw_items = items_in(payload, mapping)
    if not isinstance(raw_items, list):
        raise PayloadError("items: not a list")
    items = [_item(raw, mapping, i) for i, raw in enumerate(raw_items)]
    return_id = str(_field(payload, mapping, "return_id"))
    occurred_at = str(_field(payload, mapping, "occurred_at"))
    if kind == "ignore":
        return Translation(None, status)
    parcels = _parcels(payload, mapping)
    tracking = _field(payload, mapping, "tracking_number", required=False)
    return Translation(
        ReturnEvent(
            event_id=event_id(
                mapping.brand, return_id, status, occurred_at, items, str(tracking) if len(parcels) > 1 else None
            ),
            kind=kind,
            brand=mapping.brand,
            rebound_return_id=return_id,
            order_name=str(_field(payload, mapping, "order_name")),
            occurred_at=occurred_at,
            items=items,
            tracking_number=tracking,
            tracking_url=_field(payload, mapping, "tracking_url", required=False),
            location=_field(payload, mapping, "location", required=False),
            raw_status=status,
            source=source,
            parcels=parcels,
        ),
        status,
    )
