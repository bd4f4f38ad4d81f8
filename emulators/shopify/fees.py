"""Return fees: a return line's restocking fee and the return's shipping fee, and what each processing charges.

* ``restockingFee: {percentage}`` on a ``returnCreate``/``returnRequest`` line is kept on the return line as a
  ``RestockingFee`` (a ``Fee`` GID, like the recorded ``ReturnShippingFee`` ids ``gid://shopify/Fee/<n>``) with
  its percentage; its amount is derived, never stored: the percentage of the line's discounted price as the order
  charged it, times the line's quantity, rounded to the currency's minor units, in the order's presentment
  currency. Tax added on top of the price is not part of it: the one recording (capture
  ``return-query-roots-recorded``, ``returnCalculate`` with 10% on a 20.00 line taxed 5% on top) answered 2.0.
  For prices that include tax (UK/EU VAT) the price as charged is the base too: it is the line's subtotal as
  Shopify reports it (``subtotalSet``), the base of that recording; no recording shows a tax-inclusive order.
* Processing charges fees once: a processing of ``n`` more units of a line charges the part of the line's fee
  that brings what was charged up to ``round(fee * processed / quantity)`` (so partial processings add up to the
  whole fee, the last one taking the rounding remainder); the return shipping fee is charged whole by the first
  processing of at least one unit and never again. ``ReturnProcessing`` records what each processing took.
* The percentage must lie in 0..100 (``GREATER_THAN_OR_EQUAL_TO`` / ``LESS_THAN_OR_EQUAL_TO``, the enum values
  whose descriptions name a minimum and a maximum; no recording shows the check, see ``error_codes.CHOSEN``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import LineItem, Order, RestockingFee, Return, ReturnLine
from .money import minor_units, to_decimal
from .outcome import UserError

if TYPE_CHECKING:
    from .store import ShopifyStore

PERCENTAGE_TOO_LOW = "Restocking fee percentage must be greater than or equal to 0."
PERCENTAGE_TOO_HIGH = "Restocking fee percentage must be less than or equal to 100."
SHIPPING_FEE_CURRENCY = "Return shipping fee currency must be the presentment currency of the order."
ZERO = Decimal("0")


def restocking_fee_errors(line_input: dict[str, Any], path: list[str]) -> list[UserError]:
    """The line's ``restockingFee.percentage`` must lie in 0..100."""
    fee = line_input.get("restockingFee")
    if not fee:
        return []
    percentage = float(fee["percentage"])
    at = [*path, "restockingFee", "percentage"]
    if percentage < 0:
        return [UserError(at, PERCENTAGE_TOO_LOW, "GREATER_THAN_OR_EQUAL_TO")]
    if percentage > 100:
        return [UserError(at, PERCENTAGE_TOO_HIGH, "LESS_THAN_OR_EQUAL_TO")]
    return []


def shipping_fee_errors(order: Order, fee_input: dict[str, Any] | None, path: list[str]) -> list[UserError]:
    """``ReturnShippingFeeInput.amount`` is "in the presentment currency of the order" (its description)."""
    money = (fee_input or {}).get("amount")
    if money and money.get("currencyCode") not in (None, order.presentment):
        return [UserError([*path, "amount", "currencyCode"], SHIPPING_FEE_CURRENCY, "INVALID")]
    return []


def new_restocking_fee(store: ShopifyStore, line_input: dict[str, Any]) -> RestockingFee | None:
    fee = line_input.get("restockingFee")
    return RestockingFee(store.new_id("Fee"), float(fee["percentage"])) if fee else None


def order_line(order: Order, line: ReturnLine) -> LineItem | None:
    fli = order.fulfillment_line(line.fulfillment_line_item_id)
    return order.line(fli.line_item_id) if fli else None


def restocking_fee_amount(order: Order, line: ReturnLine, units: int | None = None) -> Decimal:
    """The fee on ``units`` of the line (all of it by default), in the order's presentment currency."""
    item = order_line(order, line)
    if line.restocking_fee is None or item is None:
        return ZERO
    count = line.quantity if units is None else units
    percentage = to_decimal(repr(line.restocking_fee.percentage))
    return minor_units(item.unit_price * count * percentage / 100, order.presentment)


def restocking_fee_due(order: Order, ret: Return, line: ReturnLine, units: int) -> Decimal:
    """What processing ``units`` more of the line charges: its share of the fee, less what was charged before."""
    if units <= 0 or line.restocking_fee is None or line.quantity <= 0:
        return ZERO
    whole = restocking_fee_amount(order, line)
    processed = min(line.processed_quantity + units, line.quantity)
    up_to = minor_units(whole * processed / line.quantity, order.presentment)
    charged = sum((p.restocking_fees.get(line.id, ZERO) for p in ret.processings), ZERO)
    return max(up_to - charged, ZERO)


def shipping_fee_total(ret: Return) -> Decimal:
    return sum((fee.amount for fee in ret.shipping_fees), ZERO)


def shipping_fee_due(ret: Return, units: int) -> Decimal:
    """The return shipping fee, if this processing handles units and no earlier processing charged it."""
    if units <= 0 or any(p.shipping_fee > 0 for p in ret.processings):
        return ZERO
    return shipping_fee_total(ret)
