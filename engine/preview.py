"""What a proposed mapping would do, next to what the active one does, before anything is deployed."""

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from engine.definitions.mapping import MappingDef
from engine.drift.workflow_source import visibility_query
from engine.outcomes import ItemFacts, ItemOutcome, grades_set_the_refund, item_facts, item_outcome, refund_for
from engine.rebound.translate import items_in, translate
from engine.refunds import RefundPlan
from engine.workflow.messages import ReturnStatus


@dataclass
class Sample:
    """A return reduced to what a mapping decides on."""

    label: str
    currency: str
    items: list[ItemFacts]
    cap: str | None = None


@dataclass
class ItemChange:
    sku: str
    quantity: int
    grade: str | None
    reason: str
    before: ItemOutcome | None
    after: ItemOutcome

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass
class Comparison:
    sample: Sample
    items: list[ItemChange] = field(default_factory=list)
    refund_before: RefundPlan | None = None
    refund_after: RefundPlan | None = None

    @property
    def changed(self) -> bool:
        money = (
            self.refund_before is not None
            and self.refund_after is not None
            and (
                (self.refund_before.total, self.refund_before.store_credit_bonus)
                != (self.refund_after.total, self.refund_after.store_credit_bonus)
            )
        )
        return money or any(i.changed for i in self.items)


def compare(active: MappingDef | None, proposed: MappingDef, samples: list[Sample]) -> list[Comparison]:
    out = []
    for sample in samples:
        comparison = Comparison(sample)
        for item in sample.items:
            before = item_outcome(active, item.grade, item.reason, graded=True, sku=item.sku) if active else None
            after = item_outcome(proposed, item.grade, item.reason, graded=True, sku=item.sku)
            comparison.items.append(ItemChange(item.sku, item.quantity, item.grade, item.reason, before, after))
        if active:
            graded = grades_set_the_refund(active)
            comparison.refund_before = refund_for(
                active, sample.items, currency=sample.currency, graded=graded, cap=sample.cap
            )
        graded = grades_set_the_refund(proposed)
        comparison.refund_after = refund_for(
            proposed, sample.items, currency=sample.currency, graded=graded, cap=sample.cap
        )
        out.append(comparison)
    return out


def sample_from_payload(payload: Any, mapping: MappingDef) -> Sample:
    """A Rebound push (with grades) as a sample; prices come from Rebound's commercialValue."""
    event = translate(payload, mapping).event
    if event is None:
        raise ValueError("the sample's status is ignored by this mapping")
    values = {}
    for raw in jmespath_items(payload, mapping):
        values[str(raw.get("sku"))] = str(raw.get("commercialValue") or "0")
    items = [
        ItemFacts(i.sku, i.quantity, i.reason, i.grade, f"line-{i.sku}", values.get(i.sku, "0")) for i in event.items
    ]
    return Sample(f"{event.rebound_return_id} ({event.order_name})", mapping.currency, items)


def jmespath_items(payload: Any, mapping: MappingDef) -> list[dict[str, Any]]:
    return [i for i in items_in(payload, mapping) if isinstance(i, dict)]


def sample_from_status(status: ReturnStatus) -> Sample | None:
    if status.order is None:
        return None
    items = item_facts(status.items, status.order)
    label = f"{status.rebound_return_id} ({status.order_name}, {status.state})"
    return Sample(label, status.order.currency, items, status.order.net_payment)


async def past_samples(client: Client, brand: str, limit: int) -> list[Sample]:
    samples: list[Sample] = []
    async for execution in client.list_workflows(visibility_query(brand), limit=limit):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        status = await handle.query("status", result_type=ReturnStatus)
        sample = sample_from_status(status)
        if sample is not None:
            samples.append(sample)
        if len(samples) >= limit:
            break
    return samples


def structural_diff(active: MappingDef | None, proposed: MappingDef) -> list[str]:
    """Changed settings as `path: old -> new`, ignoring the version and the file it came from."""
    ignore = {"version", "source_file"}

    def flat(value: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if prefix == "" and k in ignore:
                    continue
                out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
            return out
        if isinstance(value, list):
            return {prefix: json.dumps(value)}
        return {prefix: value}

    old = flat(dataclasses.asdict(active)) if active else {}
    new = flat(dataclasses.asdict(proposed))
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {old.get(key, '(absent)')} -> {new.get(key, '(absent)')}")
    return lines


def _outcome_text(outcome: ItemOutcome | None, names: dict[str, str]) -> str:
    if outcome is None:
        return "-"
    if outcome.refused:
        return f"refused (final sale: {outcome.refused})"
    where = f" @ {names.get(outcome.location_id, outcome.location_id)}" if outcome.location_id else ""
    return f"{outcome.disposition}{where}, {outcome.refund_percent}%"


def _money(plan: RefundPlan | None) -> str:
    if plan is None:
        return "-"
    text = f"{plan.total} {plan.currency}"
    if plan.method == "store_credit":
        text += f" store credit + {plan.store_credit_bonus} bonus"
    return text


def render(comparisons: list[Comparison], active: MappingDef | None, proposed: MappingDef) -> str:
    names = {loc.id: loc.name for m in (active, proposed) if m for loc in m.locations.values()}
    rows = [("return", "item", "grade", "reason", "active", "proposed", "")]
    for c in comparisons:
        for item in c.items:
            mark = "CHANGED" if item.changed else ""
            rows.append((c.sample.label, f"{item.quantity}x {item.sku}", item.grade or "missing", item.reason,
                         _outcome_text(item.before, names), _outcome_text(item.after, names), mark))  # fmt: skip
        money_changed = _money(c.refund_before) != _money(c.refund_after) and c.refund_before is not None
        rows.append((c.sample.label, "refund", "", "", _money(c.refund_before), _money(c.refund_after),
                     "CHANGED" if money_changed else ""))  # fmt: skip
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    text = "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
    changed = sum(1 for c in comparisons if c.changed)
    return f"{text}\n{changed} of {len(comparisons)} return(s) would change"
