"""Money: the refund planned from the mapping and the return's items, issued once per return (or per parcel round),
the store-credit bonus, and a refund Rebound's app makes looked for. Shopify values the lines and splits the refund
in the activity (engine.activities.refunds)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import BonusInput, BonusOutcome, IssueRefundInput, ProcessReturnInput, RefundOutcome
    from engine.definitions.flow import StepCall
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS, RefundRules
    from engine.money import show
    from engine.outcomes import fault_of, grades_set_the_refund, item_facts, refund_for, refund_lines
    from engine.refunds import RefundPlan, fee_at_rate
    from engine.workflow import parcels
    from engine.workflow.state import ReturnState
    from engine.workflow.steps.base import Again, Outcome, Request, Step, need_order, need_return
    from engine.workflow.steps.exchange import exchange_requests, record_exchanges

PAID = ("issued", "already_issued")
LOOK_AGAIN_AT_MOST = timedelta(hours=1)


def plan_refund(r: ReturnState) -> RefundPlan:
    order = need_order(r, "issue_refund")
    facts = item_facts(parcels.items_to_refund(r), order, r.overridden_skus)
    graded = r.graded and grades_set_the_refund(r.mapping)  # ungraded: an operator refunding early
    rules = refund_rules(r)
    rate = Decimal(order.rate) if order.rate else Decimal(1)
    if rate != 1 and Decimal(rules.return_shipping_fee) > 0:  # in the customer's currency, as Shopify converts it
        fee = fee_at_rate(rules.return_shipping_fee, rate, order.currency, rules.rounding)
        rules = dataclasses.replace(rules, return_shipping_fee=str(fee))
    return refund_for(r.mapping, facts, currency=order.currency, graded=graded, cap=order.net_payment,
                      rules=rules)  # fmt: skip


def refund_rules(r: ReturnState) -> RefundRules:
    """The mapping's refund rules; the return-shipping fee is charged once per return, so a later parcel's refund
    has none when an earlier one charged it."""
    rules = r.mapping.refund
    if any(each.plan is not None and Decimal(each.plan.shipping_fee) > 0 for each in r.refunds):
        return dataclasses.replace(rules, return_shipping_fee="0")
    return rules


def _refund_request(r: ReturnState, key: str) -> IssueRefundInput:
    """The plan, and what it is made of (the mapping's lines and rules) for Shopify to value it."""
    order = need_order(r, "issue_refund")
    assert r.refund_plan is not None
    facts = item_facts(parcels.items_to_refund(r), order, r.overridden_skus)
    lines = refund_lines(r.mapping, facts, graded=r.graded and grades_set_the_refund(r.mapping))
    return IssueRefundInput(r.shop, r.start.rebound_return_id, order.order_id, r.refund_plan, key,
                            r.registered_at or "", lines, refund_rules(r), parcels.round_part(r), order)  # fmt: skip


# ---------------------------------------------------------------- issue_refund


def _issue_refund(r: ReturnState, call: StepCall) -> list[Request]:
    """One refund per return, or per round when acting per parcel (keyed by the parcels it settles)."""
    r.refund_plan = plan_refund(r)
    if not r.refund_plan.lines or Decimal(r.refund_plan.total) == 0:
        r.refund = r.refund or RefundOutcome(status="nothing_to_refund", amount=r.refund_plan.total)
        r.refunded_items |= {item.item_id for item in parcels.items_to_refund(r)}
        r.log("step", "issue_refund: nothing refundable under the mapping's rules")
        return []
    part = parcels.round_part(r)
    key = f"rebound-refund-{r.start.brand}-{r.start.rebound_return_id}" + (f"-{part}" if part else "")
    summary = f"refundCreate {show(r.refund_plan.total, r.refund_plan.currency)}" + (
        f" parcel(s) {part}" if part else "")  # fmt: skip
    covered = tuple(item.item_id for item in parcels.items_to_refund(r))
    return [Request(_refund_request(r, key), summary, RefundOutcome, items=covered)]


def _refund_issued(r: ReturnState, call: StepCall, request: Request, outcome: RefundOutcome) -> Outcome:
    assert r.refund_plan is not None
    currency = r.refund_plan.currency
    if outcome.status == "already_issued" and outcome.plan is None:
        # An earlier attempt made it (its answer was lost): from the same plan, fee included, as asked now.
        outcome = dataclasses.replace(outcome, plan=r.refund_plan)
    r.refunds.append(outcome)
    r.refunded_items |= set(request.items)
    if r.refund is None or r.refund.status == "nothing_to_refund":
        r.refund = outcome
    if outcome.plan is not None:  # as Shopify valued it: tax, discounts, the customer's currency
        r.refund_plan = outcome.plan
        currency = outcome.plan.currency
    r.log("step", f"{call.step}: {outcome.status} {show(outcome.amount, currency)} {outcome.detail}".rstrip())
    if outcome.status == "preempted":
        r.flag_for("finance", f"finance: refund pre-empted by a refund already in Shopify ({outcome.detail})")
    return None


# ---------------------------------------------------------------- process_shopify_return


def _process_return(r: ReturnState, call: StepCall) -> list[Request]:
    """The refund as issue_refund plans it, settled by processing the Shopify return: one per return, or per round
    when acting per parcel."""
    requests = _issue_refund(r, call)
    if not requests:
        return []
    ret = need_return(r, "process_shopify_return")
    refund = requests[0]
    assert r.refund_plan is not None
    part = parcels.round_part(r)
    summary = f"returnProcess {show(r.refund_plan.total, r.refund_plan.currency)}" + (
        f" parcel(s) {part}" if part else "")  # fmt: skip
    exchanges = exchange_requests(r)
    request = ProcessReturnInput(refund.arg, ret.return_id, refund_shipping=_shipping_back(r),
                                 return_lines=dict(ret.return_lines), exchanges=exchanges,
                                 exchange_rules=r.mapping.exchanges if exchanges else None)  # fmt: skip
    return [Request(request, summary, RefundOutcome, items=refund.items)]


def _processed(r: ReturnState, call: StepCall, request: Request, outcome: RefundOutcome) -> Outcome:
    """The refund as issue_refund records it, and each exchange as Shopify settled it."""
    record_exchanges(r, outcome)
    return _refund_issued(r, call, request, outcome)


def _shipping_back(r: ReturnState) -> bool:
    """The mapping's rule for the order's shipping: back when every unit of the order is returned, or when a line
    refunded now is the merchant's fault; never by default."""
    rule = r.mapping.refund.refund_shipping
    refunded = parcels.items_to_refund(r)
    if rule == "merchant_fault":
        graded = r.graded and grades_set_the_refund(r.mapping)
        return any(fault_of(r.mapping, item.reason, item.grade, graded=graded) == "merchant" for item in refunded)
    if rule == "full_return" and r.order is not None:
        returned = sum(item.quantity for item in r.items.values())
        return returned >= sum(line.fulfilled_quantity for line in r.order.lines)
    return False


# ---------------------------------------------------------------- credit_store_credit_bonus


def _credit_bonus(r: ReturnState, call: StepCall) -> list[Request]:
    order = need_order(r, "credit_store_credit_bonus")
    plan, refund = r.refund_plan, (r.refunds[-1] if r.refunds else r.refund)
    if plan is None or refund is None or refund.status not in PAID:
        r.log("step", "credit_store_credit_bonus: no refund of ours to add a bonus to")
        return []
    if Decimal(plan.store_credit_bonus) == 0:
        return []
    since = r.registered_at or order.processed_at
    bonus = BonusInput(r.shop, r.start.rebound_return_id, order.order_id, order.customer_id, plan.store_credit_bonus,
                       order.currency, since, parcels.round_part(r))  # fmt: skip
    return [Request(bonus, f"store credit +{show(plan.store_credit_bonus, order.currency)}", BonusOutcome)]


def _credited(r: ReturnState, call: StepCall, request: Request, bonus: BonusOutcome) -> Outcome:
    r.bonus = bonus
    r.log("step", f"credit_store_credit_bonus: {bonus.status} {show(request.arg.amount, request.arg.currency)}")
    return None


# ---------------------------------------------------------------- verify_refund


def _verify_refund(r: ReturnState, call: StepCall) -> list[Request]:
    """Rebound's app refunds on its own clock: look again with growing pauses until the brand's SLA has passed;
    only then is a missing refund a finance exception."""
    r.refund_plan = plan_refund(r)
    if r.verify_deadline is None:
        sla = r.mapping.sla_seconds.get("refund_after_trigger", DEFAULT_SLA_SECONDS["refund_after_trigger"])
        r.verify_deadline = workflow.now() + timedelta(seconds=sla)
        r.verify_pause = 30.0
    return [Request(_refund_request(r, ""), "look for Rebound's app refund", RefundOutcome)]


def _verified(r: ReturnState, call: StepCall, request: Request, outcome: RefundOutcome) -> Outcome:
    assert r.refund_plan is not None and r.verify_deadline is not None
    pause = timedelta(seconds=r.verify_pause)
    if outcome.status == "not_found" and workflow.now() + pause <= r.verify_deadline:
        r.verify_pause = min(pause * 2, LOOK_AGAIN_AT_MOST).total_seconds()
        return Again(pause.total_seconds())
    r.verify_deadline = None
    r.refund = outcome
    if outcome.status == "not_found":
        r.flag_for("finance", "finance: refund by Rebound's app not found in Shopify within the SLA")
    r.log("step", f"verify_refund: {outcome.status} {show(outcome.amount, r.refund_plan.currency)}")
    return None


STEPS = {
    "issue_refund": Step(_issue_refund, _refund_issued),
    "credit_store_credit_bonus": Step(_credit_bonus, _credited),
    "verify_refund": Step(_verify_refund, _verified),
    "process_shopify_return": Step(_process_return, _processed),
}
