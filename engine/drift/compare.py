"""The comparison: three snapshots in, findings out. Pure (no I/O, no clock but `now`), so every rule is
unit-testable without servers.

Rules, per brand (SLAs and owners from the brand's mapping):

* unknown_to_engine - Rebound has the return (pull API), no workflow does, and its last event is older than
  the grace period (a push may be in flight).
* restock_failed - the workflow is held because a step moving stock (the catalog's `effect: stock`) failed.
* received_not_restocked - Rebound inspected the return more than `restock_after_inspection` ago and the
  workflow has made available fewer units than the mapping sends to stock (from the workflow's dispositions,
  or Rebound's grades when the workflow never saw the inspection).
* refund_overdue - the brand's refund trigger was reached (Rebound's milestone, or the workflow's state) more
  than `refund_after_trigger` ago and neither the workflow nor Shopify shows a refund for the return.
* duplicate_refund - two refunds for one return: our marker twice (for one parcel, when the brand refunds per
  parcel), or ours plus an unmarked refund on an order that carries only this return, made after it was
  registered.
* manual_refund - an unmarked refund on an engine-touched order, made after a return on it was registered,
  that is not Rebound's app refunding (brands whose refunds the app issues) nor counted as a duplicate.
* amount_mismatch - Shopify's amount for our refund differs from the workflow's; for app-refunded brands, the
  app's refund differs from what the mapping's rules give.
* refunded_not_returned - the brand refunds on drop-off or receipt (the engine or Rebound's app), which pays for
  every registered unit, and the inspection then found units missing: money to recover.
* return_left_open - the Shopify return is OPEN/REQUESTED while the workflow reached a terminal state of its flow
  (refunded, cancelled, rejected in the shipped flows) more than `close_after_refund` ago.
* return_unprocessed - the engine refunded units by processing the Shopify return (flows that settle so) and
  Shopify's record shows fewer of them processed.
* exchange_unreleased - an exchange not released once the refund was settled, or unpaid past its SLA (flagged CX).
* needs_attention - the workflow is held (or failed) and no other finding explains it; a parcel that never came
  is one (the reason names its tracking number). A return waiting for its other parcels is not checked for
  restock or refund until they are in, nor one that ended without settling (a terminal state of its flow that
  moves neither stock nor money: cancelled, rejected).

Holds are read by kind (engine.workflow.messages.Hold), never from their prose.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from engine.definitions.catalog import CATALOG
from engine.definitions.durations import show_duration
from engine.definitions.mapping import DEFAULT_SLA_SECONDS, MappingDef
from engine.drift.markers import ours as _ours
from engine.drift.markers import part as _part
from engine.drift.model import Finding, ReboundReturn, ShopifyOrder, ShopifyRefund, WorkflowReturn
from engine.drift.processed import unprocessed_units
from engine.money import show
from engine.outcomes import grades_set_the_refund

REFUNDED = {"issued", "already_issued", "verified", "preempted", "nothing_to_refund"}
PAID = REFUNDED - {"nothing_to_refund"}
STOCK_STEPS = {spec.name for spec in CATALOG.values() if spec.effect == "stock"}
OPEN_RETURN = {"OPEN", "REQUESTED"}


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _money(text: str | None) -> Decimal | None:
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except InvalidOperation:
        return None


class _Context:
    def __init__(self, mapping: MappingDef, now: datetime) -> None:
        self.mapping = mapping
        self.now = now
        self.findings: list[Finding] = []

    def sla(self, name: str) -> int:
        return int(self.mapping.sla_seconds.get(name, DEFAULT_SLA_SECONDS[name]))

    def overdue(self, since: str | None, sla: str) -> datetime | None:
        """The due time when `since` + the SLA has passed, else None."""
        start = parse_time(since)
        if start is None:
            return None
        due = start + timedelta(seconds=self.sla(sla))
        return due if self.now > due else None

    def add(
        self,
        kind: str,
        subject: str,
        rid: str,
        order: str,
        summary: str,
        **evidence: object,
    ) -> None:
        self.findings.append(
            Finding(
                kind=kind,
                owner=self.mapping.owners.get(kind, "ops"),
                brand=self.mapping.brand,
                subject=subject,
                rebound_return_id=rid,
                order_name=order,
                summary=summary,
                evidence={k: str(v) for k, v in evidence.items() if v not in (None, "")},
            )
        )


def compare(
    mapping: MappingDef,
    rebound: Iterable[ReboundReturn],
    shopify: Iterable[ShopifyOrder],
    workflows: Iterable[WorkflowReturn],
    *,
    now: datetime,
    unknown_grace_seconds: int = 600,
) -> list[Finding]:
    """Every drift between Rebound, Shopify and the workflows for one brand, at most one per (kind, subject)."""
    ctx = _Context(mapping, now)
    by_rid = {r.rebound_return_id: r for r in rebound}
    flows = {w.rebound_return_id: w for w in workflows if w.brand == mapping.brand}
    orders = list(shopify)
    order_of: dict[str, ShopifyOrder] = {}
    ours: dict[str, list[tuple[ShopifyOrder, ShopifyRefund]]] = {}
    for each in orders:
        for rid in each.rebound_ids():
            order_of.setdefault(rid, each)
        for refund in each.refunds:
            for rid in dict.fromkeys(_ours(refund, each)):
                ours.setdefault(rid, []).append((each, refund))
                order_of.setdefault(rid, each)
    unmarked = {r.id for each in orders for r in each.refunds if not _ours(r, each)}
    # Unmarked refunds already explained: Rebound's app refund a workflow verified, a counted duplicate.
    consumed = {w.refund_id for w in flows.values() if w.refund_status == "verified" and w.refund_id in unmarked}

    # -- Rebound returns the engine never heard of ------------------------------------------------------
    for rid, unknown in sorted(by_rid.items()):
        if rid in flows:
            continue
        last = parse_time(unknown.last_event_at)
        if last is not None and (now - last).total_seconds() < unknown_grace_seconds:
            continue
        linked = order_of.get(rid)
        ctx.add(
            "unknown_to_engine", rid, rid, unknown.order_name,
            f"Rebound return ({unknown.status}) has no workflow",
            rebound_status=unknown.status, rebound_last_event=unknown.last_event_at,
            shopify_order=linked.id if linked else None,
        )  # fmt: skip

    # -- per workflow --------------------------------------------------------------------------------------
    held: list[tuple[WorkflowReturn, str]] = []
    for rid, w in sorted(flows.items()):
        before = len(ctx.findings)
        ret = by_rid.get(rid)
        order = order_of.get(rid)
        order_name = w.order_name or (ret.order_name if ret else "") or (order.name if order else "")
        restock_failed = w.hold_kind == "step_failed" and w.hold_step in STOCK_STEPS
        if restock_failed:
            ctx.add(
                "restock_failed", rid, rid, order_name, "restock failed; return held",
                workflow_state=w.state, reason=w.attention_reason or "", workflow_id=w.workflow_id,
            )  # fmt: skip

        # A return waiting for its other parcels restocks and refunds nothing yet; a late parcel is the
        # workflow's own SLA exception (it names the tracking number), reported below as needs_attention.
        waiting = bool(w.waiting_for_parcels)
        settles = w.ending != "unsettled"
        if settles and not restock_failed and not waiting:
            _restock(ctx, w, ret, order_name)
        if settles and not waiting:
            _refund(ctx, w, ret, ours.get(rid, []), order, order_name, consumed)
            _refunded_not_returned(ctx, w, ret, order_name)
        _left_open(ctx, w, order, order_name)
        if (unprocessed := unprocessed_units(w, order)) is not None:
            ret_, units = unprocessed
            ctx.add("return_unprocessed", rid, rid, order_name,
                    f"{sum(units.values())} refunded unit(s) not processed on Shopify return {ret_.name}",
                    shopify_return=ret_.id, line_items=", ".join(f"{i} x{q}" for i, q in units.items()))  # fmt: skip

        if unreleased := w.exchanges_unreleased:
            what = "exchange not released: " + ", ".join(f"{s} ({st})" for s, st in sorted(unreleased.items()))
            ctx.add("exchange_unreleased", rid, rid, order_name, what, workflow_id=w.workflow_id)
        if len(ctx.findings) == before and (w.needs_attention or w.run_status not in ("RUNNING", "COMPLETED")):
            held.append((w, order_name))

    # -- refunds in Shopify that belong to no processed return --------------------------------------------
    for each in orders:
        _manual_refunds(ctx, each, by_rid, flows, consumed)

    # -- held workflows that nothing above explains --------------------------------------------------------
    explained = {f.rebound_return_id for f in ctx.findings}
    for w, order_name in held:
        if w.rebound_return_id in explained:
            continue
        failed = w.run_status not in ("RUNNING", "COMPLETED")
        summary = "return held for a person"
        if w.waiting_for_parcels and w.hold_kind == "parcel":
            after = ctx.mapping.sla_seconds.get("parcel_lost_after", DEFAULT_SLA_SECONDS["parcel_lost_after"])
            summary = f"parcel {', '.join(w.waiting_for_parcels)} not arrived {show_duration(after)}"
        ctx.add(
            "needs_attention", w.rebound_return_id, w.rebound_return_id, order_name,
            f"workflow {w.run_status.lower()}" if failed else summary,
            workflow_state=w.state, reason=w.attention_reason, run_status=w.run_status, workflow_id=w.workflow_id,
        )  # fmt: skip
    return ctx.findings


def _restock(ctx: _Context, w: WorkflowReturn, ret: ReboundReturn | None, order_name: str) -> None:
    inspected_at = (ret.reached_at("inspected") if ret else None) or w.entered.get("inspected")
    due = ctx.overdue(inspected_at, "restock_after_inspection")
    if due is None:
        return
    if w.dispositions_known:
        expected = dict(w.sellable)
    else:
        expected = {}
        for item in ret.graded_items if ret else []:
            if ctx.mapping.grade_for(item.grade).disposition == "restock":
                expected[item.sku] = expected.get(item.sku, 0) + item.quantity
    missing = {sku: qty - w.restocked.get(sku, 0) for sku, qty in expected.items() if qty > w.restocked.get(sku, 0)}
    if not missing:
        return
    ctx.add(
        "received_not_restocked", w.rebound_return_id, w.rebound_return_id, order_name,
        f"{sum(missing.values())} sellable unit(s) not back in stock",
        inspected_at=inspected_at, due=iso(due), workflow_state=w.state,
        not_restocked=", ".join(f"{sku} x{q}" for sku, q in sorted(missing.items())),
    )  # fmt: skip


def _refund(
    ctx: _Context,
    w: WorkflowReturn,
    ret: ReboundReturn | None,
    marked: list[tuple[ShopifyOrder, ShopifyRefund]],
    order: ShopifyOrder | None,
    order_name: str,
    consumed: set[str],
) -> None:
    rid = w.rebound_return_id
    refunds = [r for _o, r in marked]
    cur = next((r.currency for r in refunds if r.currency), ctx.mapping.currency)  # the customer's currency
    if len(refunds) > w.refund_parts or len({_part(r) for r in refunds}) < len(refunds):
        ctx.add(
            "duplicate_refund", rid, rid, order_name, f"{len(refunds)} refunds carry this return's marker",
            refunds=", ".join(r.id for r in refunds),
            amounts=", ".join(r.amount for r in refunds),
        )  # fmt: skip
        return
    if len(refunds) == 1 and order is not None and len(order.rebound_ids()) <= 1:
        since = parse_time(_registered_at(w, ret))
        for other in order.refunds:
            created = parse_time(other.created_at)
            if other.id in consumed or _ours(other, order) or (since and created and created < since):
                continue
            consumed.add(other.id)
            ctx.add(
                "duplicate_refund", rid, rid, order_name, "our refund plus another refund of the same return",
                refunds=f"{refunds[0].id}, {other.id}", amounts=f"{refunds[0].amount}, {other.amount}",
                other_note=other.note,
            )  # fmt: skip
            return
    if refunds and w.refund_status in ("issued", "already_issued"):
        shopify_amount = sum((_money(r.amount) or Decimal(0) for r in refunds), Decimal(0))
        engine_amount = _money(w.refund_amount)
        if shopify_amount is not None and engine_amount is not None and shopify_amount != engine_amount:
            ctx.add(
                "amount_mismatch", rid, rid, order_name,
                f"Shopify refunded {show(shopify_amount, cur)}, engine {show(engine_amount, cur)}",
                refund=", ".join(r.id for r in refunds), shopify_amount=shopify_amount, engine_amount=engine_amount,
            )  # fmt: skip
            return
    if w.refund_status == "verified" and order is not None:
        found = next((r for r in order.refunds if r.id == w.refund_id), None)
        app_amount, planned = _money(found.amount if found else None), _money(w.planned_refund)
        if app_amount is not None and planned is not None and app_amount != planned:
            ctx.add(
                "amount_mismatch", rid, rid, order_name,
                f"app refunded {show(app_amount, cur)}, rules {show(planned, cur)}",
                refund=w.refund_id, shopify_amount=app_amount, expected_amount=planned,
            )  # fmt: skip
            return
    if refunds or w.refund_status in REFUNDED:
        return
    trigger = ctx.mapping.refund.trigger
    trigger_at = min(
        (t for t in ((ret.reached_at(trigger) if ret else None), w.entered.get(trigger)) if t),
        default=None,
        key=lambda t: parse_time(t) or ctx.now,
    )
    due = ctx.overdue(trigger_at, "refund_after_trigger")
    if due is None:
        return
    ctx.add(
        "refund_overdue", rid, rid, order_name, f"no refund {ctx.sla('refund_after_trigger') // 3600}h after {trigger}",
        trigger=trigger, trigger_at=trigger_at, due=iso(due), workflow_state=w.state,
        refund_status=w.refund_status or "none", issuer=ctx.mapping.refund.issuer,
    )  # fmt: skip


def _refunded_not_returned(ctx: _Context, w: WorkflowReturn, ret: ReboundReturn | None, order_name: str) -> None:
    if grades_set_the_refund(ctx.mapping) or w.refund_status not in PAID or ret is None:
        return
    if "inspected" not in ret.milestones:
        return
    # Missing: graded as missing, or registered and not in the inspection at all (the hub lists what it found).
    absent: dict[str, int] = {}
    for item in ret.registered_items:
        absent[item.sku] = absent.get(item.sku, 0) + item.quantity
    missing: dict[str, int] = {}
    for item in ret.graded_items:
        absent[item.sku] = absent.get(item.sku, 0) - item.quantity
        if ctx.mapping.grade_for(item.grade).disposition == "missing":
            missing[item.sku] = missing.get(item.sku, 0) + item.quantity
    for sku, qty in absent.items():
        if qty > 0:
            missing[sku] = missing.get(sku, 0) + qty
    if not missing:
        return
    ctx.add(
        "refunded_not_returned", w.rebound_return_id, w.rebound_return_id, order_name,
        f"refunded on {ctx.mapping.refund.trigger}; {sum(missing.values())} unit(s) then found missing",
        missing=", ".join(f"{sku} x{q}" for sku, q in sorted(missing.items())), refund_status=w.refund_status,
        refund=w.refund_id, refunded_by=ctx.mapping.refund.issuer,
    )  # fmt: skip


def _left_open(ctx: _Context, w: WorkflowReturn, order: ShopifyOrder | None, order_name: str) -> None:
    if w.ending is None or order is None:
        return
    return_id = w.shopify_return_id or order.return_of(w.rebound_return_id)
    ret = next((r for r in order.returns if r.id == return_id), None)
    if ret is None or ret.status not in OPEN_RETURN:
        return
    due = ctx.overdue(w.entered.get(w.state), "close_after_refund")
    if due is None:
        return
    ctx.add(
        "return_left_open", w.rebound_return_id, w.rebound_return_id, order_name,
        f"Shopify return {ret.name} still {ret.status} after the workflow {w.state}",
        shopify_return=ret.id, shopify_status=ret.status, workflow_state=w.state,
        finished_at=w.entered.get(w.state), due=iso(due),
    )  # fmt: skip


def _registered_at(w: WorkflowReturn | None, ret: ReboundReturn | None) -> str | None:
    candidates = [
        t for t in ((ret.reached_at("registered") if ret else None), w.entered.get("requested") if w else None) if t
    ]
    return min(candidates, key=lambda t: parse_time(t) or datetime.max) if candidates else None


def _manual_refunds(
    ctx: _Context,
    order: ShopifyOrder,
    by_rid: dict[str, ReboundReturn],
    flows: dict[str, WorkflowReturn],
    consumed: set[str],
) -> None:
    rids = sorted(order.rebound_ids())
    registered = [parse_time(_registered_at(flows.get(rid), by_rid.get(rid))) for rid in rids] + [
        parse_time(r.created_at) for r in order.returns
    ]
    known = [t for t in registered if t is not None]
    since = min(known) if known else None
    app_refunds = ctx.mapping.refund.issuer == "rebound_app"
    # For app-refunded brands, one unmarked refund per return not yet verified is the app's, still to be seen.
    pending_app = sum(1 for rid in rids if (flows.get(rid) and flows[rid].refund_status != "verified"))
    for refund in order.refunds:
        if refund.id in consumed or _ours(refund, order):
            continue
        created = parse_time(refund.created_at)
        if since is not None and created is not None and created < since:
            continue  # before any return on the order: not the returns engine's business
        if app_refunds and pending_app > 0:
            pending_app -= 1
            continue
        preempted = [rid for rid in rids if flows.get(rid) and flows[rid].refund_id == refund.id]
        rid = preempted[0] if preempted else (rids[0] if len(rids) == 1 else "")
        ctx.add(
            "manual_refund", refund.id, rid, order.name,
            f"refund of {show(refund.amount, refund.currency or ctx.mapping.currency)} made outside the engine",
            refund=refund.id, amount=refund.amount, created_at=refund.created_at, note=refund.note,
            shopify_order=order.id, preempted_return=preempted[0] if preempted else None,
        )  # fmt: skip
