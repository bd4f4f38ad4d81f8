"""The checker: what must hold over the end state, whatever faults ran. Reads Shopify's end state (the emulator's
store), each return's workflow status, the held-event store's counts and the drift monitor's findings; each
invariant is checked once per subject (a return, an order, a payment, a stock level) and reports its violations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from emulators.rebound.scenarios import Scenario
from emulators.settlement import exchange_problems, processed_record, settled_by_processing, stock_problems
from emulators.shopify.store import ShopifyStore
from engine.definitions.mapping import MappingDef
from engine.drift.model import Finding
from engine.workflow.messages import ReturnStatus


@dataclass
class Invariant:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        self.checked += 1
        if not ok:
            self.violations.append(problem)


@dataclass
class World:
    """What the checker reads."""

    store: ShopifyStore
    mappings: dict[str, MappingDef]
    scenarios: list[Scenario]
    statuses: dict[str, ReturnStatus]
    staff_refunds: dict[str, str]  # Rebound return id -> the refund staff made by hand first
    findings: list[Finding]
    held_unresolved: int  # held pushes still failed after the operator's replay
    held_total: int


def _ours(store: ShopifyStore, domain: str, order_id: str | None, rid: str) -> list[dict]:
    refunds = store.refunds(domain, order_id) if order_id else []
    return [r for r in refunds if f"[rebound-return:{rid}]" in (r["note"] or "")]


def check(world: World, unexpected_holds: list[str]) -> list[Invariant]:
    """The invariants over the end state; `unexpected_holds` collects the returns held for a person that no
    scenario expected (accounted for, yet worth reading)."""
    refunds = Invariant("refunds per return as the rules say (one per return or parcel; none when pre-empted)")
    amounts = Invariant("refunded amount per return as the rules say")
    paid = Invariant("never refunded above what was paid, per payment")
    restock = Invariant("restocked units per return and location = its sellable units")
    stock = Invariant("Shopify's available stock = seed + sellable units returned, per SKU and location")
    shopify_returns = Invariant("one Shopify return per Rebound return that passed validation (none open if cancelled)")
    accounted = Invariant("every Rebound return accounted for (terminal state right, or held with a reason)")
    held = Invariant("held pushes resolved after the operator's replay")
    staff = Invariant("every staff refund reported by the drift monitor")
    processed = Invariant("every unit refunded by processing the Shopify return shows processed on it")
    fees = Invariant("the fees Shopify recorded on a processed return = the mapping's")
    exchanges = Invariant("no unit both exchanged and refunded; one exchange fulfillment order per exchanged unit")

    orders: dict[tuple[str, str], list[Scenario]] = defaultdict(list)
    for sc in world.scenarios:
        mapping = world.mappings[sc.brand]
        domain = mapping.shop_domain
        order_id = world.store.find_order_id(domain, sc.order_name)
        if order_id:
            orders[(domain, order_id)].append(sc)
        status = world.statuses.get(sc.rebound_return_id)
        rid = sc.rebound_return_id
        if status is None:
            accounted.check(False, f"{rid}: no workflow")
            continue
        ours = _ours(world.store, domain, order_id, rid)
        preempted = status.refund is not None and status.refund.status == "preempted"
        engine_refunds = mapping.refund.issuer == "engine"
        if not engine_refunds or sc.expected_state != "refunded":
            refunds.check(not ours, f"{rid}: {len(ours)} engine refund(s) for a {sc.expected_state} return")
        elif preempted:
            refunds.check(not ours and rid in world.staff_refunds,
                          f"{rid}: pre-empted, yet {len(ours)} engine refund(s)")  # fmt: skip
        else:
            refunds.check(len(ours) == sc.expected_refunds, f"{rid}: {len(ours)} refunds, {sc.expected_refunds} due")
            total = sum((Decimal(str(r["amount"])) for r in ours), Decimal(0))
            amounts.check(total == sc.expected_refund, f"{rid}: refunded {total}, {sc.expected_refund} due")
        record = processed_record(world.store, domain, order_id, status)
        if record is not None and not preempted:
            units, taken = settled_by_processing(status)
            short = {sku: q for sku, q in units.items() if record["processed"].get(sku, 0) < q}
            processed.check(not short, f"{rid}: refunded {units}, Shopify shows processed {record['processed']}")
            charged = record["fees_charged"]
            fees.check(charged == taken, f"{rid}: Shopify charged fees of {charged}, the mapping's are {taken}")
        if sc.expected_exchanges and order_id and not preempted:
            wrong = exchange_problems(world.store, domain, order_id, sc, status)
            exchanges.check(not wrong, f"{rid}: {'; '.join(wrong)}")
        restock.check(dict(status.restocked) == sc.expected_restock,
                      f"{rid}: restocked {dict(status.restocked)}, expected {sc.expected_restock}")  # fmt: skip
        right = status.state == sc.expected_state and (status.finished or status.needs_attention)
        expected_hold = bool(sc.expected_attention) and sc.expected_attention in (status.attention_reason or "")
        held_with_reason = status.needs_attention and bool(status.attention_reason)
        if held_with_reason and not (right and (expected_hold or preempted)):
            unexpected_holds.append(f"{rid}: {status.state}, held: {status.attention_reason}")
        where = status.state + (f" (held: {status.attention_reason})" if status.needs_attention else "")
        accounted.check((right and (not status.needs_attention or expected_hold or preempted)) or held_with_reason,
                        f"{rid}: {where}, expected {sc.expected_state}")  # fmt: skip

    for (domain, order_id), on_order in orders.items():
        for payment in world.store.payments(domain, order_id):
            over = f"{order_id} {payment['gateway']}: refunded {payment['refunded']} of {payment['paid']}"
            paid.check(payment["refunded"] <= payment["paid"], over)
        # A cancelled return has one, cancelled, or none (cancelled before the engine opened it).
        returns = world.store.returns(domain, order_id)
        live = sum(1 for r in returns if r["status"] != "CANCELED")
        wanted = sum(1 for sc in on_order if sc.expected_state not in ("rejected", "cancelled"))
        cancellable = sum(1 for sc in on_order if sc.expected_state == "cancelled")
        shopify_returns.check(live == wanted and len(returns) - live <= cancellable,
                              f"{on_order[0].order_name}: {live} Shopify returns (+{len(returns) - live} cancelled),"
                              f" {wanted} expected")  # fmt: skip

    stock.checked, stock.violations = stock_problems(world.store, world.mappings, world.scenarios, world.statuses)

    held.checked = world.held_total
    held.violations = [f"{world.held_unresolved} held push(es) still failed"] if world.held_unresolved else []
    for rid, refund_id in world.staff_refunds.items():
        reported = any(
            refund_id == f.subject or refund_id in f.evidence.values() or (
                f.rebound_return_id == rid and f.kind in ("manual_refund", "duplicate_refund"))
            for f in world.findings
        )  # fmt: skip
        staff.check(reported, f"{rid}: staff refund {refund_id} not in the drift report")
    return [refunds, amounts, paid, restock, stock, shopify_returns, accounted, held, staff, processed, fees,
            exchanges]  # fmt: skip


def violations(invariants: list[Invariant]) -> int:
    return sum(len(i.violations) for i in invariants)


def table(invariants: list[Invariant]) -> str:
    lines = ["| invariant | checked | violations |", "|---|---|---|"]
    lines += [f"| {i.name} | {i.checked} | {len(i.violations)} |" for i in invariants]
    return "\n".join(lines)
