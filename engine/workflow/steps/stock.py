"""Stock: each item's grade mapped to a disposition and location (decided in the workflow), then disposed in
Shopify, every item in hand each time: Shopify's dispositions make each one once."""

from __future__ import annotations

from typing import cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import Disposal, DisposeInput, DisposeResult, ShopifyDisposition
    from engine.definitions.flow import StepCall
    from engine.errors import StepFailed
    from engine.outcomes import item_outcome
    from engine.workflow import parcels
    from engine.workflow.messages import Disposition
    from engine.workflow.state import ReturnState
    from engine.workflow.steps.base import Outcome, Request, Step, need_order, need_return

SHOPIFY_DISPOSITION: dict[str, ShopifyDisposition] = {
    "restock": "RESTOCKED",
    "not_restocked": "NOT_RESTOCKED",
    "processing_required": "PROCESSING_REQUIRED",
    "missing": "MISSING",
}


def _assign_dispositions(r: ReturnState, call: StepCall) -> list[Request]:
    """Decided in the workflow from the mapping: no activity."""
    scale = r.mapping.grade_scale or list(r.mapping.grades)
    best = scale[0] if scale else None
    in_hand = parcels.items_in_hand(r)
    for item in in_hand:
        if item.sku in r.overridden_skus or item.item_id in r.settled_items:
            continue  # an operator decided this one, or an earlier parcel's round did
        grade = item.grade if item.grade is not None or call.params.get("ungraded") != "best_grade" else best
        outcome = item_outcome(r.mapping, grade, item.reason, graded=True, sku=item.sku)
        item.disposition = outcome.disposition
        item.location_id = outcome.location_id
        item.refund_percent = outcome.refund_percent
    r.log("step", "assign_dispositions: " + ", ".join(f"{i.sku}:{i.grade or '-'}->{i.disposition}" for i in in_hand))
    return []


def set_disposition(r: ReturnState, sku: str, disposition: str, location_id: str | None,
                    refund_percent: str | None) -> None:  # fmt: skip
    """A person's decision for one SKU, kept from the mapping's from then on."""
    for item in r.items.values():
        if item.sku == sku:
            item.disposition = cast(Disposition, disposition)
            item.location_id = location_id
            if refund_percent is not None:
                item.refund_percent = refund_percent
    r.overridden_skus.add(sku)


def _restock_items(r: ReturnState, call: StepCall) -> list[Request]:
    order, ret = need_order(r, "restock_items"), need_return(r, "restock_items")
    grouped: dict[tuple[str, ShopifyDisposition, str | None], int] = {}
    for item in parcels.items_in_hand(r):
        line = order.line_for_sku(item.sku)
        rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
        if rfo_line is None or item.disposition is None:
            raise StepFailed("restock_items",
                             f"restock_items: no reverse fulfillment line or disposition for {item.sku}")  # fmt: skip
        key = (rfo_line, SHOPIFY_DISPOSITION[item.disposition], item.location_id)
        grouped[key] = grouped.get(key, 0) + item.quantity
    disposals = [Disposal(rfo, qty, kind, loc) for (rfo, kind, loc), qty in grouped.items()]
    return [Request(DisposeInput(r.shop, ret.return_id, disposals), _dispose_summary(r, disposals), DisposeResult)]


def _restocked(r: ReturnState, call: StepCall, request: Request, result: DisposeResult) -> Outcome:
    order, ret = need_order(r, "restock_items"), need_return(r, "restock_items")
    by_rfo_line = {
        ret.rfo_lines[line.fulfillment_line_item_id]: line.sku
        for line in order.lines
        if line.fulfillment_line_item_id in ret.rfo_lines
    }
    r.restocked = {}
    for disposal in result.applied + result.already_done:
        if disposal.disposition == "RESTOCKED":
            where = f"{by_rfo_line.get(disposal.rfo_line_id, '?')}@{disposal.location_id}"
            r.restocked[where] = r.restocked.get(where, 0) + disposal.quantity
    applied, already = len(result.applied), len(result.already_done)
    r.log("step", f"restock_items: {applied} disposition(s) applied, {already} already in Shopify")
    return None


def _dispose_summary(r: ReturnState, disposals: list[Disposal]) -> str:
    """`dispose 2 → Castore DC (Manchester), 1 not restocked`."""
    names = {loc.id: loc.name for loc in r.mapping.locations.values()}
    parts: dict[str, int] = {}
    for d in disposals:
        where = f"→ {names.get(d.location_id or '', d.location_id)}" if d.disposition == "RESTOCKED" else (
            d.disposition.lower().replace("_", " "))  # fmt: skip
        parts[where] = parts.get(where, 0) + d.quantity
    return "dispose " + ", ".join(f"{qty} {where}" for where, qty in parts.items())


STEPS = {
    "assign_dispositions": Step(_assign_dispositions),
    "restock_items": Step(_restock_items, _restocked),
}
