"""Rebound's side: every return of a brand updated in the look-back window, from its pull API
(`GET /api/v2/returns?brand=&updatedSince=`, bearer token), statuses mapped through the brand's mapping."""

from __future__ import annotations

from typing import Any

import httpx

from engine.definitions.mapping import MappingDef
from engine.drift.compare import parse_time
from engine.drift.model import ReboundItem, ReboundReturn
from engine.errors import PayloadError
from engine.rebound.pull_api import return_pages
from engine.rebound.translate import translate


def summarise(record: dict[str, Any], mapping: MappingDef) -> ReboundReturn:
    """One pull-API record (every milestone payload so far) as a ReboundReturn; unreadable payloads are skipped
    (the ingestion pipeline holds those)."""
    ret = ReboundReturn(
        rebound_return_id=str(record["reboundOrderId"]),
        brand=mapping.brand,
        order_name="",
        updated_at=str(record.get("updatedAt") or ""),
    )
    graded: dict[str, list[ReboundItem]] = {}  # per parcel (tracking) for a multi-parcel return; "" otherwise
    for payload in record.get("events") or []:
        try:
            event = translate(payload, mapping, source="pull").event
        except PayloadError:
            continue
        if event is None:
            continue
        ret.order_name = ret.order_name or event.order_name
        known = ret.milestones.get(event.kind)
        at = parse_time(event.occurred_at)
        if known is None or (at is not None and at < (parse_time(known) or at)):
            ret.milestones[event.kind] = event.occurred_at
        if event.kind == "inspected":
            parcel = (event.tracking_number or "") if len(event.parcels) > 1 else ""
            graded[parcel] = [ReboundItem(i.sku, i.quantity, i.grade) for i in event.items]
            ret.graded_items = [item for items in graded.values() for item in items]
        elif event.items and (event.kind == "registered" or not ret.registered_items):
            ret.registered_items = [ReboundItem(i.sku, i.quantity) for i in event.items]
    return ret


async def fetch_rebound(
    http: httpx.AsyncClient, api_url: str, token: str, mapping: MappingDef, *, updated_since: str, page_size: int = 500
) -> list[ReboundReturn]:
    records: list[dict[str, Any]] = []
    async for returns in return_pages(
        http, api_url, token, mapping.brand, updated_since=updated_since, limit=page_size
    ):
        records.extend(returns)
    return [summarise(r, mapping) for r in records]
