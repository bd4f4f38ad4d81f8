"""``returnProcess`` (mark returned units processed) and ``removeFromReturn`` (take units off a return).

Observed on Shopify 2026-04 (captures ``returnClose-Reopen-Cancel-state-preconditions``,
``order-return-status-lifecycle``, ``return-reverse-logistics-recorded``): processing every line leaves the
return OPEN (closing is a separate call) and makes it no longer cancelable; removing the last units closes the
return with ``totalQuantity`` 0; removing from a CLOSED return is ``INVALID_STATE`` "Return status is invalid.".
Refunds, exchanges and dispositions inside ``returnProcess`` are not emulated: asking for them is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from .model import Return, ReturnLine, Shop
from .outcome import Outcome, UserError
from .returns import find_return

if TYPE_CHECKING:
    from .store import ShopifyStore

INVALID_STATUS = "Return status is invalid."
LINE_NOT_FOUND = "Return line item was not found."
INVALID_QUANTITY = "Return line item has an invalid quantity."
_UNSUPPORTED = ("exchangeLineItems", "refundDuties", "refundShipping", "financialTransfer", "tipLineId")


def _line(ret: Return, line_id: str) -> ReturnLine | None:
    return next((rl for rl in ret.lines if rl.id == line_id), None)


def process_return(store: ShopifyStore, shop: Shop, process: dict[str, Any]) -> Outcome[Return]:
    """Mark units of OPEN return lines processed; the return stays OPEN."""
    if any(process.get(name) for name in _UNSUPPORTED) or any(
        line.get("dispositions") for line in process.get("returnLineItems") or []
    ):
        raise GraphQLError("The Shopify emulator's returnProcess only marks return line items processed.")
    found = find_return(shop, process["returnId"], ("input", "returnId"))
    ret = found.value
    if ret is None:
        return found
    planned, errors = _unprocessed_units(ret, process.get("returnLineItems") or [], ["input", "returnLineItems"], "id")
    if errors:
        return Outcome(errors=errors)
    if ret.status != "OPEN":
        return Outcome(errors=[UserError(["input", "returnId"], INVALID_STATUS, "INVALID_STATE")])
    for line, quantity in planned:
        line.processed_quantity += quantity
    return Outcome(ret)


def remove_from_return(store: ShopifyStore, shop: Shop, return_id: str, items: list[dict[str, Any]]) -> Outcome[Return]:
    """Take unprocessed units off an OPEN/REQUESTED return; with none left it is CLOSED."""
    found = find_return(shop, return_id, ("returnId",))
    ret = found.value
    if ret is None:
        return found
    if ret.status not in ("OPEN", "REQUESTED"):
        return Outcome(errors=[UserError(["returnId"], INVALID_STATUS, "INVALID_STATE")])
    planned, errors = _unprocessed_units(ret, items, ["returnLineItems"], "returnLineItemId")
    if errors:
        return Outcome(errors=errors)
    for line, quantity in planned:
        line.quantity -= quantity
        for rfo_id in ret.rfo_ids:
            for rfo_line in shop.rfos[rfo_id].lines:
                if rfo_line.return_line_id == line.id:
                    rfo_line.total_quantity -= quantity
    ret.lines = [rl for rl in ret.lines if rl.quantity > 0]
    for rfo_id in ret.rfo_ids:
        rfo = shop.rfos[rfo_id]
        rfo.lines = [ln for ln in rfo.lines if ln.total_quantity > 0]
    if not ret.lines:
        ret.status = "CLOSED"
        ret.closed_at = store.clock.now()
        for rfo_id in ret.rfo_ids:
            shop.rfos[rfo_id].status = "CLOSED"
    return Outcome(ret)


def _unprocessed_units(
    ret: Return, items: list[dict[str, Any]], path: list[str], id_key: str
) -> tuple[list[tuple[ReturnLine, int]], list[UserError]]:
    """Each requested (line, quantity), if the line is on the return and has that many units not yet processed."""
    planned: list[tuple[ReturnLine, int]] = []
    errors: list[UserError] = []
    for index, item in enumerate(items):
        at = [*path, str(index)]
        line = _line(ret, item[id_key])
        if line is None:
            errors.append(UserError([*at, id_key], LINE_NOT_FOUND, "NOT_FOUND"))
            continue
        quantity = int(item["quantity"])
        if quantity <= 0 or quantity > line.quantity - line.processed_quantity:
            errors.append(UserError([*at, "quantity"], INVALID_QUANTITY, "INVALID"))
            continue
        planned.append((line, quantity))
    return planned, errors
