"""The order and its Shopify return: validate the order, open the return, put tracking on it, write the return's
state on the order, close or cancel the return."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.activities.messages import (
        CreateReturnInput,
        OrderStatusInput,
        ReturnLineRequest,
        ReturnRefInput,
        ShopifyReturnRef,
        TrackingInput,
        ValidateOrderInput,
        ValidateOrderResult,
    )
    from engine.definitions.flow import StepCall
    from engine.errors import StepFailed
    from engine.events import EventItem
    from engine.outcomes import fees_waived_for_exchanges
    from engine.refunds import fee_at_rate
    from engine.workflow import parcels
    from engine.workflow.messages import ItemStatus
    from engine.workflow.state import ReturnState
    from engine.workflow.steps.base import Outcome, Request, Step, need_order, need_return


def _validate_order(r: ReturnState, call: StepCall) -> list[Request]:
    request = ValidateOrderInput(
        shop=r.shop,
        rebound_return_id=r.start.rebound_return_id,
        order_name=r.order_name,
        items=[EventItem(i.item_id, i.sku, i.quantity, i.reason) for i in r.items.values()],
        return_window_days=r.mapping.return_window_days,
        registered_at=r.registered_at or workflow.now().isoformat(),
        check_refundable=r.mapping.refund.issuer == "engine",
        refused=sorted(set(r.refused.values())),
    )
    return [Request(request, f"validate order {r.order_name}", ValidateOrderResult)]


def _validated(r: ReturnState, call: StepCall, request: Request, result: ValidateOrderResult) -> Outcome:
    r.order = result.order
    if not result.valid:
        r.log("step", "validate_order: invalid: " + "; ".join(result.problems))
        return "invalid"
    r.log("step", f"validate_order: {r.order_name} ok")
    return None


def _create_return(r: ReturnState, call: StepCall) -> list[Request]:
    order = need_order(r, "create_shopify_return")
    quantities: dict[str, int] = {}
    reasons: dict[str, str] = {}
    fee_free: set[str] = set()  # fulfillment lines whose every unit is an exchange the brand charges no fee for
    charged: set[str] = set()
    for item in r.items.values():
        line = order.line_for_sku(item.sku)
        if line is None:
            raise StepFailed("create_shopify_return", f"create_shopify_return: {item.sku} is not on {order.name}")
        quantities[line.fulfillment_line_item_id] = quantities.get(line.fulfillment_line_item_id, 0) + item.quantity
        reasons.setdefault(line.fulfillment_line_item_id, item.reason)
        exchanged = exchange_wished(r, item)
        (fee_free if exchanged and fees_waived_for_exchanges(r.mapping) else charged).add(line.fulfillment_line_item_id)
    lines = [
        ReturnLineRequest(
            fulfillment_line_item_id=fli,
            quantity=qty,
            reason_handle=r.mapping.reason_for(reasons[fli]).shopify,
            note=f"Rebound {r.start.rebound_return_id}: {reasons[fli]}"[:255],
        )
        for fli, qty in quantities.items()
    ]
    requested_at = r.registered_at or workflow.now().isoformat()
    exchanges: dict[str, int] = {}
    for item in r.items.values():
        if exchange_wished(r, item):
            assert item.exchange_sku is not None
            exchanges[item.exchange_sku] = exchanges.get(item.exchange_sku, 0) + item.quantity
    request = CreateReturnInput(r.shop, r.start.rebound_return_id, order.order_id, lines, requested_at,
                                refused=sorted(set(r.refused.values())), exchanges=exchanges)  # fmt: skip
    if call.params.get("fees") == "on_shopify_return":
        request = shopify_fees(r, request, {fli: reason for fli, reason in reasons.items() if fli in charged})
    summary = f"returnCreate {sum(line.quantity for line in lines)} unit(s) on {order.name}"
    return [Request(request, summary, ShopifyReturnRef)]


def exchange_wished(r: ReturnState, item: ItemStatus) -> bool:
    """The customer asked to exchange it and the brand exchanges: an exchange line goes on the Shopify return. An
    exchange the brand does not offer is settled as a refund, as the audit says."""
    if item.exchange_sku is None:
        return False
    if not r.mapping.exchanges.offered:
        if item.exchange is None:
            item.exchange = "refunded_instead"
            r.log("step", f"{item.sku}: exchange for {item.exchange_sku} not offered by {r.start.brand}: a refund")
        return False
    return item.exchange != "refunded_instead"


def shopify_fees(r: ReturnState, request: CreateReturnInput, reasons: dict[str, str]) -> CreateReturnInput:
    """The mapping's fees as Shopify fees on the return: the return shipping fee once (when a line is the
    customer's fault), in the order's currency at its rate, and the restocking percentage on customer-fault lines;
    Rebound's reasons, known at registration, say whose fault each line is."""
    order = need_order(r, "create_shopify_return")
    rules = r.mapping.refund
    customer = {fli for fli, reason in reasons.items() if r.mapping.reason_for(reason).fault == "customer"}
    fee = ""
    if customer and Decimal(rules.return_shipping_fee) > 0:
        rate = Decimal(order.rate) if order.rate else Decimal(1)
        fee = str(fee_at_rate(rules.return_shipping_fee, rate, order.currency, rules.rounding))
    percent = rules.restocking_fee_percent if Decimal(rules.restocking_fee_percent) > 0 else ""
    restocking = {fli: percent for fli in sorted(customer)} if percent else {}
    return dataclasses.replace(request, return_shipping_fee=fee, restocking_fee_percent=restocking,
                               currency=order.currency)  # fmt: skip


def _created(r: ReturnState, call: StepCall, request: Request, ref: ShopifyReturnRef) -> Outcome:
    r.shopify_return = ref
    for item in r.items.values():
        if exchange_wished(r, item):
            if item.exchange_sku in ref.no_variant:
                item.exchange = "refunded_instead"
                r.log("step", f"{item.sku}: no variant {item.exchange_sku} in Shopify, so no exchange: a refund")
            else:
                item.exchange = "requested"
    r.log("step", f"create_shopify_return: {'adopted existing' if ref.adopted else 'created'} {ref.name}")
    r.publish()
    return None


def _attach_tracking(r: ReturnState, call: StepCall) -> list[Request]:
    """One reverse delivery per parcel, with the lines packed in it (all of them when Rebound did not say); or the
    return's one tracking number."""
    ret = need_return(r, "attach_tracking")
    if not r.parcels:
        if not r.tracking_number:
            r.log("step", "attach_tracking: no tracking number yet")
            return []
        request = TrackingInput(r.shop, ret.return_id, ret.rfo_id, r.tracking_number, r.tracking_url)
        return [Request(request, f"tracking {r.tracking_number}")]
    order = need_order(r, "attach_tracking")
    requests = []
    for parcel in r.parcels.values():
        if parcel.attached:
            continue
        lines: dict[str, int] = {}
        for item in r.items.values():
            line = order.line_for_sku(item.sku) if item.item_id in parcel.item_ids else None
            rfo_line = ret.rfo_lines.get(line.fulfillment_line_item_id) if line else None
            if rfo_line:
                lines[rfo_line] = lines.get(rfo_line, 0) + item.quantity
        request = TrackingInput(r.shop, ret.return_id, ret.rfo_id, parcel.tracking_number, parcel.tracking_url, lines)
        requests.append(Request(request, f"tracking {parcel.tracking_number}", part=parcel.tracking_number))
    return requests


def _attached(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    if not request.part:
        r.log("step", f"attach_tracking: {r.tracking_number}")
        return None
    parcel = r.parcels[request.part]
    parcel.attached = True
    units = sum(request.arg.lines.values()) if request.arg.lines else 0
    r.log("step", f"attach_tracking: parcel {parcel.tracking_number} ({units} unit(s))")
    return None


def _sync_order_status(r: ReturnState, call: StepCall) -> list[Request]:
    if r.order is None:
        return []  # nothing to write on before the order is known (a return cancelled at once)
    request = OrderStatusInput(
        shop=r.shop,
        order_id=r.order.order_id,
        rebound_return_id=r.start.rebound_return_id,
        state=r.state,
        return_id=r.shopify_return.return_id if r.shopify_return else None,
        tracking_number=r.tracking_number,
        refund_id=r.refund.refund_id if r.refund else None,
        refused=sorted(set(r.refused.values())),
    )
    return [Request(request, f"order status: {r.state}")]


def _close_return(r: ReturnState, call: StepCall) -> list[Request]:
    if r.shopify_return is None:
        r.log("step", "close_shopify_return: no Shopify return to close")
        return []
    if parcels.awaiting_parcels(r):
        waiting = ", ".join(p.tracking_number for p in parcels.outstanding(r))
        r.log("step", f"close_shopify_return: left open for parcel(s) {waiting}")
        return []
    ret = r.shopify_return
    return [Request(ReturnRefInput(r.shop, ret.return_id), f"returnClose {ret.name}")]


def _ended(r: ReturnState, call: StepCall, request: Request, result: Any) -> Outcome:
    """The Shopify return closed or cancelled, as the step's name says."""
    assert r.shopify_return is not None
    r.log("step", f"{call.step}: {r.shopify_return.name} {'closed' if call.step.startswith('close') else 'cancelled'}")
    return None


def _cancel_return(r: ReturnState, call: StepCall) -> list[Request]:
    if r.shopify_return is None:
        return []
    ret = r.shopify_return
    return [Request(ReturnRefInput(r.shop, ret.return_id), f"returnCancel {ret.name}")]


STEPS = {
    "validate_order": Step(_validate_order, _validated),
    "create_shopify_return": Step(_create_return, _created),
    "attach_tracking": Step(_attach_tracking, _attached),
    "sync_order_status": Step(_sync_order_status),
    "close_shopify_return": Step(_close_return, _ended),
    "cancel_shopify_return": Step(_cancel_return, _ended),
}
