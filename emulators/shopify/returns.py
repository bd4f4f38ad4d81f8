"""Return lifecycle rules: ``returnCreate``, ``returnClose``, ``returnReopen``, ``returnCancel``.

Messages, codes and field paths are Shopify's (captures ``return-reason-validation``,
``return-quantity-validation``, ``returnClose-Reopen-Cancel-state-preconditions``). Validation completes
before anything is minted, so a rejected call leaves no trace. ``exchangeLineItems`` are checked and priced by
``exchanges``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exchanges import build_exchange_lines, exchange_line_errors
from .fees import new_restocking_fee, restocking_fee_errors, shipping_fee_errors
from .ids import gid_kind
from .model import (
    Order,
    Return,
    ReturnLine,
    ReturnShippingFee,
    ReturnStatus,
    ReverseFulfillmentOrder,
    RfoLine,
    Shop,
)
from .money import to_decimal
from .outcome import Outcome, UserError, invalid_id
from .reasons import definition_by_id, definition_for_legacy

if TYPE_CHECKING:
    from .store import ShopifyStore

ACTIVE_RETURN_STATUSES = ("REQUESTED", "OPEN", "CLOSED")


def returned_quantity(shop: Shop, fli_id: str) -> int:
    """Units of a fulfillment line already claimed by returns that were not canceled or declined."""
    total = 0
    for ret in shop.returns.values():
        if ret.status in ACTIVE_RETURN_STATUSES:
            total += sum(line.quantity for line in ret.lines if line.fulfillment_line_item_id == fli_id)
    return total


def _reason_errors(index: int, line: dict[str, Any]) -> list[UserError]:
    base = ["returnInput", "returnLineItems", str(index)]
    reason = line.get("returnReason")
    definition_id = line.get("returnReasonDefinitionId")
    note = line.get("returnReasonNote") or ""
    if reason is None and definition_id is None:
        message = "Return line items Either return reason or return reason definition must be provided"
        return [UserError(base, message, "NOT_FOUND")]
    if definition_id is not None and definition_by_id(definition_id) is None:
        return [UserError([*base, "returnReasonDefinitionId"], "Return reason definition not found.", "NOT_FOUND")]
    if definition_id is None and reason == "OTHER" and not note.strip():
        message = 'Return line items return reason note The note is required when the return reason is "Other"'
        return [UserError([*base, "returnReasonNote"], message, "BLANK")]
    return []


def create_return(store: ShopifyStore, shop: Shop, return_input: dict[str, Any]) -> Outcome[Return]:
    """``returnCreate``: an OPEN return (with its exchange lines) plus one reverse fulfillment order mirroring its
    lines."""
    lines_in: list[dict[str, Any]] = list(return_input.get("returnLineItems") or [])
    errors: list[UserError] = []
    for index, line in enumerate(lines_in):
        errors.extend(_reason_errors(index, line))
    if errors:
        return Outcome(errors=errors)

    order = shop.orders.get(return_input["orderId"])
    if order is None:
        return Outcome(errors=[UserError(["returnInput", "orderId"], "Order does not exist.", "NOT_FOUND")])
    if not lines_in:
        return Outcome(
            errors=[UserError(["returnInput", "returnLineItems"], "Return must have at least one line item.", "BLANK")]
        )

    exchange_in: list[dict[str, Any]] = list(return_input.get("exchangeLineItems") or [])
    errors = line_errors(shop, order, lines_in, [])
    errors += shipping_fee_errors(order, return_input.get("returnShippingFee"), ["returnInput", "returnShippingFee"])
    errors += exchange_line_errors(shop, order, exchange_in)
    if errors:
        return Outcome(errors=errors)
    ret = build_return(store, shop, order, lines_in, "OPEN", return_input.get("returnShippingFee"))
    ret.exchange_lines = build_exchange_lines(store, shop, order, exchange_in)
    open_rfo(store, shop, ret)
    return Outcome(ret)


def line_errors(shop: Shop, order: Order, lines_in: list[dict[str, Any]], prefix: list[str]) -> list[UserError]:
    """Each line's fulfillment line must exist and still have ``quantity`` units not claimed by another return;
    its restocking fee percentage must lie in 0..100 (``fees``)."""
    errors: list[UserError] = []
    claimed: dict[str, int] = {}
    for index, line in enumerate(lines_in):
        path = [*prefix, "returnLineItems", str(index)]
        errors.extend(restocking_fee_errors(line, path))
        fli = order.fulfillment_line(line["fulfillmentLineItemId"])
        if fli is None:
            errors.append(
                UserError([*path, "fulfillmentLineItemId"], "Fulfillment line item does not exist.", "INVALID")
            )
            continue
        quantity = int(line["quantity"])
        if quantity <= 0:
            errors.append(UserError([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
            continue
        already = returned_quantity(shop, fli.id) + claimed.get(fli.id, 0)
        if quantity > fli.quantity - already:
            errors.append(UserError([*path, "quantity"], "Quantity is not available for return.", "INVALID"))
            continue
        claimed[fli.id] = claimed.get(fli.id, 0) + quantity
    return errors


def build_return(
    store: ShopifyStore,
    shop: Shop,
    order: Order,
    lines_in: list[dict[str, Any]],
    status: ReturnStatus,
    fee_input: dict[str, Any] | None,
) -> Return:
    """A validated return (``OPEN`` or ``REQUESTED``) on the order, without reverse fulfillment work yet."""
    now = store.clock.now()
    return_lines = []
    for line in lines_in:
        definition = (
            definition_by_id(line["returnReasonDefinitionId"])
            if line.get("returnReasonDefinitionId")
            else definition_for_legacy(line.get("returnReason") or "UNKNOWN")
        )
        return_lines.append(
            ReturnLine(
                id=store.new_id("ReturnLineItem"),
                fulfillment_line_item_id=line["fulfillmentLineItemId"],
                quantity=int(line["quantity"]),
                reason=definition.legacy_reason if definition else "UNKNOWN",
                reason_definition_id=definition.id if definition else None,
                reason_note=line.get("returnReasonNote") or "",
                customer_note=line.get("customerNote"),
                restocking_fee=new_restocking_fee(store, line),
            )
        )
    ret = Return(
        id=store.new_id("Return"),
        order_id=order.id,
        name=f"{order.name}-R{len(order.return_ids) + 1}",
        status=status,
        lines=return_lines,
        created_at=now,
        request_approved_at=now if status == "OPEN" else None,
    )
    if fee_input and fee_input.get("amount"):
        money = fee_input["amount"]
        fee = ReturnShippingFee(
            store.new_id("Fee"), to_decimal(money["amount"]), money.get("currencyCode") or order.presentment
        )
        ret.shipping_fees.append(fee)
    shop.returns[ret.id] = ret
    order.return_ids.append(ret.id)
    order.updated_at = now
    return ret


def open_rfo(store: ShopifyStore, shop: Shop, ret: Return) -> ReverseFulfillmentOrder:
    """The reverse fulfillment order of an approved (OPEN) return: one line per return line."""
    rfo = ReverseFulfillmentOrder(
        id=store.new_id("ReverseFulfillmentOrder"),
        return_id=ret.id,
        order_id=ret.order_id,
        lines=[
            RfoLine(
                store.new_id("ReverseFulfillmentOrderLineItem"),
                rl.id,
                rl.fulfillment_line_item_id,
                rl.quantity,
            )
            for rl in ret.lines
        ],
    )
    ret.rfo_ids.append(rfo.id)
    shop.rfos[rfo.id] = rfo
    return rfo


def find_return(shop: Shop, return_id: str, field: tuple[str, ...] = ("id",)) -> Outcome[Return]:
    """The return, or Shopify's ``NOT_FOUND`` at ``field`` (its path differs by mutation)."""
    kind = gid_kind(return_id)
    if kind is not None and kind != "Return":
        raise invalid_id(return_id)
    ret = shop.returns.get(return_id)
    if ret is None:
        return Outcome(errors=[UserError(list(field), "Return not found.", "NOT_FOUND")])
    return Outcome(ret)


def _set_rfo_status(shop: Shop, ret: Return, status: str) -> None:
    for rfo_id in ret.rfo_ids:
        shop.rfos[rfo_id].status = status  # type: ignore[assignment]


def close_return(store: ShopifyStore, shop: Shop, return_id: str) -> Outcome[Return]:
    """OPEN -> CLOSED; closing a CLOSED return is a no-op; anything else is ``INVALID_STATE``."""
    found = find_return(shop, return_id)
    ret = found.value
    if ret is None:
        return found
    if ret.status == "CLOSED":
        return Outcome(ret)
    if ret.status != "OPEN":
        return Outcome(errors=[UserError(["id"], "Return status is invalid.", "INVALID_STATE")])
    ret.status = "CLOSED"
    ret.closed_at = store.clock.now()
    _set_rfo_status(shop, ret, "CLOSED")
    return Outcome(ret)


def reopen_return(store: ShopifyStore, shop: Shop, return_id: str) -> Outcome[Return]:
    """CLOSED -> OPEN; reopening an OPEN return is a no-op."""
    found = find_return(shop, return_id)
    ret = found.value
    if ret is None:
        return found
    if ret.status == "OPEN":
        return Outcome(ret)
    if ret.status != "CLOSED":
        return Outcome(errors=[UserError(["id"], "Return status is invalid.", "INVALID_STATE")])
    ret.status = "OPEN"
    ret.closed_at = None
    _set_rfo_status(shop, ret, "OPEN")
    return Outcome(ret)


def has_work(shop: Shop, ret: Return) -> bool:
    """Any processed unit, disposition, or refund of a returned line made after the return: then it can't be
    canceled (capture ``returnClose-Reopen-Cancel-state-preconditions``: cancel after ``returnProcess``)."""
    if any(rl.processed_quantity for rl in ret.lines) or any(el.processed_quantity for el in ret.exchange_lines):
        return True
    for rfo_id in ret.rfo_ids:
        if any(line.dispositions for line in shop.rfos[rfo_id].lines):
            return True
    order = shop.orders[ret.order_id]
    returned_lines = set()
    for rl in ret.lines:
        fli = order.fulfillment_line(rl.fulfillment_line_item_id)
        if fli is not None:
            returned_lines.add(fli.line_item_id)
    return any(
        refund.created_at >= ret.created_at and any(line.line_item_id in returned_lines for line in refund.lines)
        for refund in order.refunds
    )


def cancel_return(store: ShopifyStore, shop: Shop, return_id: str) -> Outcome[Return]:
    """OPEN/REQUESTED without any work -> CANCELED; canceling a CANCELED return is a no-op."""
    found = find_return(shop, return_id)
    ret = found.value
    if ret is None:
        return found
    if ret.status == "CANCELED":
        return Outcome(ret)
    if ret.status not in ("OPEN", "REQUESTED") or has_work(shop, ret):
        return Outcome(errors=[UserError(["id"], "Return is not cancelable.", "INVALID_STATE")])
    ret.status = "CANCELED"
    _set_rfo_status(shop, ret, "CANCELED")
    return Outcome(ret)
