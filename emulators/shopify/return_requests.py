"""The customer-request side of returns: ``returnRequest``, ``returnApproveRequest``, ``returnDeclineRequest``.

A request is a ``REQUESTED`` return without reverse fulfillment work; approving it opens it and creates the
reverse fulfillment order, declining it frees its units for another return. Messages, codes and field paths are
Shopify's (captures ``return-reason-validation``, ``returnClose-Reopen-Cancel-state-preconditions``,
``order-return-status-lifecycle``; the approve/decline refusals are quoted in the recording project's notes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fees import shipping_fee_errors
from .model import Return, Shop
from .outcome import Outcome, UserError
from .reasons import definition_by_id
from .returns import build_return, find_return, line_errors, open_rfo

if TYPE_CHECKING:
    from .store import ShopifyStore

NOT_APPROVABLE = "Return is not approvable. Only returns with status REQUESTED can be approved."
NOT_DECLINABLE = "Return is not declinable. Only non-refunded returns with status REQUESTED can be declined."
ALREADY_DECLINED = "The return is already declined."


def _reason_errors(index: int, line: dict[str, Any]) -> list[UserError]:
    """Unlike ``returnCreate``, a request needs no note for ``OTHER``; a missing reason is ``BLANK``."""
    base = ["input", "returnLineItems", str(index)]
    definition_id = line.get("returnReasonDefinitionId")
    if line.get("returnReason") is None and definition_id is None:
        return [UserError([*base, "returnReason"], "Return reason can't be blank", "BLANK")]
    if definition_id is not None and definition_by_id(definition_id) is None:
        return [UserError([*base, "returnReasonDefinitionId"], "Return reason definition not found.", "NOT_FOUND")]
    return []


def request_return(store: ShopifyStore, shop: Shop, request: dict[str, Any]) -> Outcome[Return]:
    """``returnRequest``: a REQUESTED return (no reverse fulfillment order until it is approved)."""
    lines_in: list[dict[str, Any]] = list(request.get("returnLineItems") or [])
    errors = [error for index, line in enumerate(lines_in) for error in _reason_errors(index, line)]
    if errors:
        return Outcome(errors=errors)
    order = shop.orders.get(request["orderId"])
    if order is None:
        return Outcome(errors=[UserError(["input", "orderId"], "Order does not exist.", "NOT_FOUND")])
    if not lines_in:
        message = "Return must have at least one line item."
        return Outcome(errors=[UserError(["input", "returnLineItems"], message, "BLANK")])
    errors = line_errors(shop, order, lines_in, ["input"])
    errors += shipping_fee_errors(order, request.get("returnShippingFee"), ["input", "returnShippingFee"])
    if errors:
        return Outcome(errors=errors)
    return Outcome(build_return(store, shop, order, lines_in, "REQUESTED", request.get("returnShippingFee")))


def approve_request(store: ShopifyStore, shop: Shop, approval: dict[str, Any]) -> Outcome[Return]:
    """REQUESTED -> OPEN, with the reverse fulfillment order for the requested quantities."""
    found = find_return(shop, approval["id"], ("input", "id"))
    ret = found.value
    if ret is None:
        return found
    if ret.status != "REQUESTED":
        return Outcome(errors=[UserError(["input", "id"], NOT_APPROVABLE, "INVALID_STATE")])
    ret.status = "OPEN"
    ret.request_approved_at = store.clock.now()
    open_rfo(store, shop, ret)
    return Outcome(ret)


def decline_request(store: ShopifyStore, shop: Shop, decline: dict[str, Any]) -> Outcome[Return]:
    """REQUESTED -> DECLINED with the reason and note; the units become returnable again."""
    found = find_return(shop, decline["id"], ("input", "id"))
    ret = found.value
    if ret is None:
        return found
    if ret.status == "DECLINED":
        return Outcome(errors=[UserError(["input", "id"], ALREADY_DECLINED, "INVALID_STATE")])
    if ret.status != "REQUESTED":
        return Outcome(errors=[UserError(["input", "id"], NOT_DECLINABLE, "INVALID_STATE")])
    ret.status = "DECLINED"
    ret.decline_reason = decline["declineReason"]
    ret.decline_note = decline.get("declineNote")
    return Outcome(ret)
