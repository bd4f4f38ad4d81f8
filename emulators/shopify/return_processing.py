"""``returnProcess`` (settle returned units: dispositions, refund, fees) and ``removeFromReturn``.

Observed on Shopify 2026-04 (captures ``returnClose-Reopen-Cancel-state-preconditions``,
``order-return-status-lifecycle``, ``return-reverse-logistics-recorded``): processing every line leaves the
return OPEN (closing is a separate call) and makes it no longer cancelable; an unknown line is ``NOT_FOUND``
"Return line item was not found." at ``["input", "returnLineItems", i, "id"]``; removing the last units closes
the return with ``totalQuantity`` 0; removing from a CLOSED return is ``INVALID_STATE`` "Return status is invalid.".

No recording shows a ``returnProcess`` that moves money; the rest follows the schema's descriptions:

* ``returnLineItems[i]`` marks ``quantity`` more units processed (no more than the line has unprocessed: the
  emulator's rule, ``INVALID`` "Return line item has an invalid quantity.", as for ``removeFromReturn``; no
  recording shows it). Its ``dispositions`` are disposed as ``reverseFulfillmentOrderDispose`` would
  (``dispositions``): each must name a reverse fulfillment order line of that return line, and together they
  may not exceed the units processed for it.
* ``financialTransfer.issueRefund`` makes one ``Refund`` on the order, linked to the return (``Refund.return``,
  ``Return.refunds``, ``Order.refunds``): its lines are the processed units (restock type RETURN, not restocked:
  stock moves through dispositions only), one REFUND transaction per ``orderTransactions`` entry against its
  parent, on the parent's gateway, and ``refundMethods`` to store credit through the customer's account, as
  ``refundCreate`` does (``refunds.record_refund``). ``refundShipping`` is recorded on that refund
  (``Order.totalRefundedShippingSet``); like lines it moves no money by itself (money moves only through
  transactions and refund methods, as for ``refundCreate``). A processing with neither creates no refund.
* Each transaction must be in the order's presentment currency ("in the presentment currency of the order"),
  positive, against a successful SALE or CAPTURE of this order ("The transaction must be of kind CAPTURE or a
  SALE"), and within what that payment can still give back, whatever ``allowOverRefunding`` says (a payment cannot
  give back more than it took; the recorded refundCreate refusal stands with ``allowOverRefunding: true`` too).
  Store credit must be in the presentment currency (the currency the customer paid in; refundCreate keeps its
  own rule). The refund in total (transactions and store credit) may exceed what the order can still refund
  only with ``allowOverRefunding`` ("Whether to allow the total refunded amount to surpass the amount paid for
  the order"): only store credit can do that, transactions being held to their payments.
* Fees: the processing charges the return's fees that apply to the processed units (``fees``: restocking fees
  pro rata, the return shipping fee once per return) and records them (``ReturnProcessing``); the refund amount
  is the caller's (the suggestion nets the fees, ``return_outcome``), not checked against the fees.
* ``exchangeLineItems`` confirm units of the return's exchange lines: the checks, the exchange's fulfillment order,
  its stock and the hold while the customer owes are ``exchange_processing``'s; the balance nets them against the
  returned units (``return_outcome``).
* Duties and tip lines do not exist on emulated orders: naming one is ``NOT_FOUND``.
* ``removeFromReturn``'s ``exchangeLineItems`` take unprocessed units off exchange lines (only those: the emulator's
  rule, as for return lines): an unknown line is ``NOT_FOUND`` "Exchange line item was not found.", a quantity of 0
  or less or over what is left to process ``INVALID``. A line keeps its ``quantity`` ("including refunded and
  removed units") and, once nothing of it is left nor was processed, is hidden unless ``includeRemovedItems``. The
  return is CLOSED when neither return lines nor exchange units are left on it.

Refusals are ``ReturnUserError``s (codes chosen in ``error_codes.CHOSEN``); nothing is written unless all pass.
This module checks the lines and the return's status; ``return_settlement`` checks and writes the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import return_settlement
from .exchange_processing import exchange_units
from .model import ExchangeLine, Return, ReturnLine, Shop
from .outcome import Outcome, UserError
from .returns import find_return

if TYPE_CHECKING:
    from .store import ShopifyStore

INVALID_STATUS = "Return status is invalid."
LINE_NOT_FOUND = "Return line item was not found."
# The emulator's rule for a quantity of 0 or less, or over what the line has unprocessed (no capture shows it).
INVALID_QUANTITY = "Return line item has an invalid quantity."
EXCHANGE_NOT_FOUND = "Exchange line item was not found."
INVALID_EXCHANGE_QUANTITY = "Exchange line item has an invalid quantity."


def _line(ret: Return, line_id: str) -> ReturnLine | None:
    return next((rl for rl in ret.lines if rl.id == line_id), None)


def process_return(
    store: ShopifyStore, shop: Shop, process: dict[str, Any], *, staff_member_id: str | None = None
) -> Outcome[Return]:
    """Process units of an OPEN return (dispositions, an optional refund, the fees); the return stays OPEN.
    ``staff_member_id``: a person processed it in the admin (the refund's ``staffMember``); None: an app."""
    found = find_return(shop, process["returnId"], ("input", "returnId"))
    ret = found.value
    if ret is None:
        return found
    items: list[dict[str, Any]] = list(process.get("returnLineItems") or [])
    units, errors = _unprocessed_units(ret, items, ["input", "returnLineItems"], "id")
    exchanges, exchange_errors = exchange_units(
        ret, list(process.get("exchangeLineItems") or []), ["input", "exchangeLineItems"]
    )
    errors += exchange_errors
    if errors:
        return Outcome(errors=errors)
    if ret.status != "OPEN":
        return Outcome(errors=[UserError(["input", "returnId"], INVALID_STATUS, "INVALID_STATE")])
    planned = return_settlement.plan(store, shop, ret, process, units, exchanges)
    if planned.value is None:
        return Outcome(errors=planned.errors)
    return_settlement.apply(store, shop, ret, planned.value, process.get("note"), staff_member_id)
    return Outcome(ret)


def remove_from_return(
    store: ShopifyStore,
    shop: Shop,
    return_id: str,
    items: list[dict[str, Any]],
    exchange_items: list[dict[str, Any]] | None = None,
) -> Outcome[Return]:
    """Take unprocessed units (of return lines and exchange lines) off an OPEN/REQUESTED return; with none left it
    is CLOSED."""
    found = find_return(shop, return_id, ("returnId",))
    ret = found.value
    if ret is None:
        return found
    if ret.status not in ("OPEN", "REQUESTED"):
        return Outcome(errors=[UserError(["returnId"], INVALID_STATUS, "INVALID_STATE")])
    planned, errors = _unprocessed_units(ret, items, ["returnLineItems"], "returnLineItemId")
    exchanges, exchange_errors = _removable_exchange_units(ret, exchange_items or [])
    errors += exchange_errors
    if errors:
        return Outcome(errors=errors)
    for exchange_line, quantity in exchanges:
        exchange_line.removed_quantity += quantity
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
    if not ret.lines and not any(el.unprocessed_quantity for el in ret.exchange_lines):
        ret.status = "CLOSED"
        ret.closed_at = store.clock.now()
        for rfo_id in ret.rfo_ids:
            shop.rfos[rfo_id].status = "CLOSED"
    return Outcome(ret)


def _unprocessed_units(
    ret: Return, items: list[dict[str, Any]], path: list[str], id_key: str
) -> tuple[list[tuple[ReturnLine, int]], list[UserError]]:
    """Each requested (line, quantity), if the line is on the return and has that many units not yet processed
    (counting every entry of the call for the same line)."""
    planned: list[tuple[ReturnLine, int]] = []
    errors: list[UserError] = []
    asked: dict[str, int] = {}
    for index, item in enumerate(items):
        at = [*path, str(index)]
        line = _line(ret, item[id_key])
        if line is None:
            errors.append(UserError([*at, id_key], LINE_NOT_FOUND, "NOT_FOUND"))
            continue
        quantity = int(item["quantity"])
        asked[line.id] = asked.get(line.id, 0) + max(quantity, 0)
        if quantity <= 0 or asked[line.id] > line.quantity - line.processed_quantity:
            errors.append(UserError([*at, "quantity"], INVALID_QUANTITY, "INVALID"))
            continue
        planned.append((line, quantity))
    return planned, errors


def _removable_exchange_units(
    ret: Return, items: list[dict[str, Any]]
) -> tuple[list[tuple[ExchangeLine, int]], list[UserError]]:
    """Each exchange line and quantity to remove, if the line is on the return and has that many units unprocessed
    (counting every entry of the call for the same line)."""
    planned: list[tuple[ExchangeLine, int]] = []
    errors: list[UserError] = []
    asked: dict[str, int] = {}
    for index, item in enumerate(items):
        at = ["exchangeLineItems", str(index)]
        line = next((el for el in ret.exchange_lines if el.id == item["exchangeLineItemId"]), None)
        if line is None:
            errors.append(UserError([*at, "exchangeLineItemId"], EXCHANGE_NOT_FOUND, "NOT_FOUND"))
            continue
        quantity = int(item["quantity"])
        asked[line.id] = asked.get(line.id, 0) + max(quantity, 0)
        if quantity <= 0 or asked[line.id] > line.unprocessed_quantity:
            errors.append(UserError([*at, "quantity"], INVALID_EXCHANGE_QUANTITY, "INVALID"))
            continue
        planned.append((line, quantity))
    return planned, errors
