"""Exchanges: which units the processing of the Shopify return releases as exchanges (units refunded in full whose
exchange line the return carries), what came of each, and the customer's payment awaited when the wanted variant is
dearer (`await_exchange_payment`: Shopify holds the exchange's fulfillment order until it is paid)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import ExchangePaymentInput, ExchangePaymentStatus, ExchangeRequest, RefundOutcome
    from engine.definitions.flow import StepCall
    from engine.definitions.mapping import DEFAULT_SLA_SECONDS
    from engine.money import show
    from engine.outcomes import grades_set_the_refund
    from engine.workflow import parcels
    from engine.workflow.state import ReturnState
    from engine.workflow.steps.base import Again, Outcome, Request, Step, need_order

LOOK_AGAIN_AT_MOST = timedelta(hours=1)


def exchange_requests(r: ReturnState) -> list[ExchangeRequest]:
    """The units in hand still asking for their exchange; one the inspection did not refund in full is refunded
    instead (by its grade), never exchanged."""
    order = need_order(r, "process_shopify_return")
    graded = r.graded and grades_set_the_refund(r.mapping)
    grouped: dict[tuple[str, str, str], int] = {}
    for item in parcels.items_to_refund(r):
        if item.exchange != "requested" or item.exchange_sku is None:
            continue
        if graded and item.refund_percent not in (None, "100"):
            item.exchange = "refunded_instead"
            r.log("step", f"{item.sku}: graded {item.grade or 'missing'} ({item.refund_percent} %), so no exchange")
            continue
        line = order.line_for_sku(item.sku)
        if line is not None:
            key = (line.line_item_id, item.sku, item.exchange_sku)
            grouped[key] = grouped.get(key, 0) + item.quantity
    return [ExchangeRequest(line_item, sku, wanted, qty) for (line_item, sku, wanted), qty in grouped.items()]


def record_exchanges(r: ReturnState, outcome: RefundOutcome) -> None:
    """Each wish as Shopify settled it; a dearer one waits for the customer's payment."""
    owed = Decimal(outcome.owed or "0") > 0
    for result in outcome.exchanges:
        left = result.quantity
        for item in r.items.values():
            if left <= 0:
                break
            if item.sku != result.sku or item.exchange_sku != result.wanted_sku or item.exchange != "requested":
                continue
            if result.state == "released":
                item.exchange = "awaiting_payment" if owed else "released"
            else:
                item.exchange = "refunded_instead"
            left -= item.quantity
        what = {"released": "released", "refunded_instead": "refunded instead"}[result.state]
        r.log("step", f"exchange {result.quantity}x {result.sku} -> {result.wanted_sku}: {what}"
                      + (f" ({result.detail})" if result.detail else ""))  # fmt: skip
    if owed:
        r.log(
            "step", f"exchange: the customer owes {show(outcome.owed, outcome.currency)}; Shopify holds it until paid"
        )


# ---------------------------------------------------------------- await_exchange_payment


def _await_payment(r: ReturnState, call: StepCall) -> list[Request]:
    """Look at Shopify's fulfillment order for a dearer exchange until it is paid, with growing pauses, up to the
    mapping's SLA (then CX is told)."""
    waiting = sorted({item.exchange_sku for item in r.items.values()
                      if item.exchange == "awaiting_payment" and item.exchange_sku})  # fmt: skip
    if not waiting:
        return []
    order = need_order(r, "await_exchange_payment")
    if r.exchange_deadline is None:
        sla = r.mapping.sla_seconds.get("exchange_payment_within", DEFAULT_SLA_SECONDS["exchange_payment_within"])
        r.exchange_deadline = workflow.now() + timedelta(seconds=sla)
        r.exchange_pause = 5.0  # a customer paying at once is seen within seconds; then less and less often
    request = ExchangePaymentInput(r.shop, order.order_id, waiting)
    return [Request(request, f"exchange payment for {', '.join(waiting)}", ExchangePaymentStatus)]


def _payment_seen(r: ReturnState, call: StepCall, request: Request, status: ExchangePaymentStatus) -> Outcome:
    assert r.exchange_deadline is not None
    waiting = [item for item in r.items.values() if item.exchange == "awaiting_payment"]
    if status.awaiting:
        pause = timedelta(seconds=r.exchange_pause)
        if workflow.now() + pause <= r.exchange_deadline:
            r.exchange_pause = min(pause * 2, LOOK_AGAIN_AT_MOST).total_seconds()
            return Again(pause.total_seconds())
        r.exchange_deadline = None
        skus = ", ".join(sorted({item.exchange_sku or "" for item in waiting}))
        r.flag_for("cx", f"cx: exchange for {skus} still awaiting the customer's payment (Shopify holds it)")
        r.log("step", f"await_exchange_payment: not paid within the SLA; {', '.join(status.awaiting)} held")
        return None
    r.exchange_deadline = None
    for item in waiting:
        item.exchange = "released"
    r.log("step", f"await_exchange_payment: paid; {', '.join(status.fulfillment_orders) or 'exchange'} released")
    return None


STEPS = {"await_exchange_payment": Step(_await_payment, _payment_seen)}
