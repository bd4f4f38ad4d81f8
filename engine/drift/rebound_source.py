"""Rebound's side: every return of a brand updated in the look-back window, from its pull API
(`GET /api/v2/returns?brand=&updatedSince=`, bearer token), statuses mapped through the brand's mapping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from engine.definitions.mapping import MappingDef
from engine.drift.compare import parse_time
from engine.drift.model import ReboundItem, ReboundReturn
from engine.rebound.translate import PayloadError, translate


def summarise(record: dict[str, Any], mapping: MappingDef) -> ReboundReturn:
    """One pull-API record (every milestone payload so far) as a ReboundReturn; unreadable payloads are skipped
    (the ingestion pipeline holds those)."""
    ret = ReboundReturn(
        rebound_return_id=str(record["reboundOrderId"]),
        brand=mapping.brand,
        order_name="",
        updated_at=str(record.get("updatedAt") or ""),
    )
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
            ret.graded_items = [ReboundItem(i.sku, i.quantity, i.grade) for i in event.items]
        elif event.items and (event.kind == "registered" or not ret.registered_items):
            ret.registered_items = [ReboundItem(i.sku, i.quantity) for i in event.items]
    return ret


async def fetch_rebound(
    http: httpx.AsyncClient, api_url: str, token: str, mapping: MappingDef, *, updated_since: str, page_size: int = 500
) -> list[ReboundReturn]:
    records: list[dict[str, Any]] = []
    cursor: str | None = "0"
    while cursor is not None:
        response = await http.get(
            f"{api_url.rstrip('/')}/api/v2/returns",
            params={"brand": mapping.brand, "updatedSince": updated_since, "limit": str(page_size), "cursor": cursor},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        page = response.json()
        records.extend(page["returns"])
        cursor = page.get("nextCursor")
    return summarise_all(records, mapping)


def summarise_all(records: Iterable[dict[str, Any]], mapping: MappingDef) -> list[ReboundReturn]:
    return [summarise(r, mapping) for r in records]
